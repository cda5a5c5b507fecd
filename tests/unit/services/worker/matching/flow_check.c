/* A command-line face of the solver for the property test (tests/integration/
 * test_matching_solver.py): reads "nleft nright narcs", the capacities, then "left right gain"
 * per arc from stdin, and prints the total and the chosen arcs' indices. */
#include <stdio.h>
#include <stdlib.h>

#include "matching/flow.h"

int main(void)
{
    int nl, nr;
    size_t na;
    if (scanf("%d %d %zu", &nl, &nr, &na) != 3 || nl < 0 || nr < 0)
        return 2;
    int32_t *cap = malloc(((size_t)nr + 1) * sizeof(*cap));
    bro_flow_arc *arcs = malloc((na + 1) * sizeof(*arcs));
    unsigned char *chosen = malloc(na + 1);
    if (cap == NULL || arcs == NULL || chosen == NULL)
        return 2;
    for (int r = 0; r < nr; r++)
        if (scanf("%d", &cap[r]) != 1)
            return 2;
    for (size_t i = 0; i < na; i++) {
        long long g;
        if (scanf("%d %d %lld", &arcs[i].left, &arcs[i].right, &g) != 3)
            return 2;
        arcs[i].gain = g;
    }
    int64_t total = 0;
    char err[128];
    if (bro_flow_assign(nl, nr, cap, arcs, na, chosen, &total, err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("%lld\n", (long long)total);
    for (size_t i = 0; i < na; i++)
        if (chosen[i])
            printf("%zu\n", i);
    free(cap);
    free(arcs);
    free(chosen);
    return 0;
}
