// The exact solver behind flow.h: LEMON's network simplex on the flow network source -> left
// (capacity 1) -> right (the allowed pairs, cost -gain) -> sink (capacity cap), with a source ->
// sink arc of cost 0 so that no unit is forced through a pair that loses. Integer costs make
// the optimum exact. Exceptions (bad_alloc) are caught here and become -1.
#include "matching/flow.h"

#include <lemon/network_simplex.h>
#include <lemon/smart_graph.h>

#include <cstdio>
#include <new>
#include <vector>

namespace
{

using Graph = lemon::SmartDigraph;
using Simplex = lemon::NetworkSimplex<Graph, int64_t, int64_t>;

int bro_flow_check(int32_t nleft, int32_t nright, const bro_flow_arc *arcs, size_t narcs,
                   char err[128])
{
    if (nleft < 0 || nright < 0 || (narcs > 0 && arcs == nullptr)) {
        std::snprintf(err, 128, "bad sizes");
        return -1;
    }
    for (size_t i = 0; i < narcs; i++)
        if (arcs[i].left < 0 || arcs[i].left >= nleft || arcs[i].right < 0 ||
            arcs[i].right >= nright) {
            std::snprintf(err, 128, "arc %zu names a node out of range", i);
            return -1;
        }
    return 0;
}

int bro_flow_solve(int32_t nleft, int32_t nright, const int32_t *cap, const bro_flow_arc *arcs,
                   size_t narcs, unsigned char *chosen, int64_t *total, char err[128])
{
    Graph g;
    g.reserveNode(nleft + nright + 2);
    g.reserveArc(static_cast<int>(narcs) + nleft + nright + 1);
    Graph::Node source = g.addNode(), sink = g.addNode();
    std::vector<Graph::Node> left(nleft), right(nright);
    for (auto &n : left)
        n = g.addNode();
    for (auto &n : right)
        n = g.addNode();
    Graph::ArcMap<int64_t> upper(g), cost(g);
    std::vector<Graph::Arc> pair(narcs);
    for (int32_t i = 0; i < nleft; i++) {
        Graph::Arc a = g.addArc(source, left[i]);
        upper[a] = 1;
        cost[a] = 0;
    }
    for (int32_t r = 0; r < nright; r++) {
        Graph::Arc a = g.addArc(right[r], sink);
        upper[a] = cap[r] > 0 ? cap[r] : 0;
        cost[a] = 0;
    }
    for (size_t i = 0; i < narcs; i++) {
        pair[i] = g.addArc(left[arcs[i].left], right[arcs[i].right]);
        upper[pair[i]] = 1;
        cost[pair[i]] = -arcs[i].gain;
    }
    Graph::Arc bypass = g.addArc(source, sink);
    upper[bypass] = nleft;
    cost[bypass] = 0;
    Simplex ns(g);
    ns.upperMap(upper).costMap(cost).stSupply(source, sink, nleft);
    if (ns.run() != Simplex::OPTIMAL) {
        std::snprintf(err, 128, "the flow problem has no optimal solution");
        return -1;
    }
    int64_t sum = 0;
    for (size_t i = 0; i < narcs; i++) {
        chosen[i] = ns.flow(pair[i]) > 0;
        if (chosen[i])
            sum += arcs[i].gain;
    }
    *total = sum;
    return 0;
}

} // namespace

extern "C" int bro_flow_assign(int32_t nleft, int32_t nright, const int32_t *cap,
                               const bro_flow_arc *arcs, size_t narcs, unsigned char *chosen,
                               int64_t *total, char err[128])
{
    err[0] = '\0';
    *total = 0;
    if (bro_flow_check(nleft, nright, arcs, narcs, err) < 0)
        return -1;
    try {
        return bro_flow_solve(nleft, nright, cap, arcs, narcs, chosen, total, err);
    } catch (const std::bad_alloc &) {
        std::snprintf(err, 128, "out of memory");
    } catch (...) {
        std::snprintf(err, 128, "the solver failed");
    }
    return -1;
}
