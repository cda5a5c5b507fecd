/* The exact solver of the matching runs: a maximum-gain assignment of left nodes (candidates,
 * one opening each) to right nodes (openings, up to their capacity) over a sparse set of
 * allowed pairs, solved as a minimum-cost flow by LEMON's network simplex (flow.cc, the one C++
 * file of the worker). Plain C types in and out; no C++ exception leaves it. */
#ifndef BRO_WORKER_MATCHING_FLOW_H
#define BRO_WORKER_MATCHING_FLOW_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One allowed pair and what assigning it gains (a scaled integer score: the solver is exact on
 * integers, so callers round once, and every total they compare is of the same integers). */
typedef struct bro_flow_arc {
    int32_t left;  /* 0 .. nleft-1 */
    int32_t right; /* 0 .. nright-1 */
    int64_t gain;  /* added to the total when the pair is chosen; may be <= 0 (never chosen
                      then, as leaving both unassigned is as good) */
} bro_flow_arc;

/* Chooses arcs so that each left node has at most one, each right node r at most cap[r]
 * (cap[r] <= 0: none), and the sum of the chosen gains is the largest possible. chosen[i] is
 * set to 1 for a chosen arc i and 0 otherwise (caller's array of narcs bytes); *total is the sum.
 * Returns 0, or -1 with a reason in err (bad input, out of memory). */
int bro_flow_assign(int32_t nleft, int32_t nright, const int32_t *cap, const bro_flow_arc *arcs,
                    size_t narcs, unsigned char *chosen, int64_t *total, char err[128]);

#ifdef __cplusplus
}
#endif

#endif
