/* Small-cell suppression as Statistics Norway and NAV practise it. Counts from 1 to 3 are
 * hidden (primary suppression); then more cells are hidden (secondary suppression) until no
 * hidden count can be worked out from the published totals.
 *
 * Why the graph: take the table with its row and column totals as a grid, each row and each
 * column a node, each hidden cell an edge between its row and its column (a total that is not
 * published counts as hidden). The hidden values can be changed together without changing a
 * published total exactly along a cycle of hidden cells (add, subtract, add, ... around it),
 * so a hidden cell is exactly known from the totals precisely when its edge lies on no cycle:
 * when it is a bridge. While a bridge remains, the cheapest unhidden cell that joins the two
 * parts the bridge alone connects is hidden too (positive counts first, totals last), which
 * puts the bridge on a cycle. */
#include "reports/report.h"

#include <stdlib.h>
#include <string.h>

typedef struct bro_sup {
    int rows, cols;         /* grid size, the totals' row and column included */
    double *value;          /* rows * cols; the totals where published */
    unsigned char *hid;     /* rows * cols: 1 hidden, 2 not published (a virtual total) */
    int *disc, *low;        /* per node (rows + cols), for the bridge search */
    int clock;              /* the search's visiting counter */
    int bridge_r, bridge_c; /* the first bridge found, or -1 */
} bro_sup;

/* Depth-first search from node u (came by the edge from parent) marking low-links; records the
 * first bridge met. Nodes: 0..rows-1 rows, rows.. columns. */
static void bro_sup_dfs(bro_sup *s, int u, int parent)
{
    s->disc[u] = s->low[u] = ++s->clock;
    int is_row = u < s->rows;
    int n = is_row ? s->cols : s->rows;
    for (int k = 0; k < n; k++) {
        int r = is_row ? u : k, c = is_row ? k : u - s->rows;
        if (!s->hid[r * s->cols + c])
            continue;
        int v = is_row ? s->rows + k : k;
        if (v == parent)
            continue;
        if (s->disc[v] == 0) {
            bro_sup_dfs(s, v, u);
            if (s->low[v] < s->low[u])
                s->low[u] = s->low[v];
            if (s->low[v] > s->disc[u] && s->bridge_r < 0 && s->hid[r * s->cols + c] == 1) {
                s->bridge_r = r;
                s->bridge_c = c;
            }
        } else if (s->disc[v] < s->low[u]) {
            s->low[u] = s->disc[v];
        }
    }
}

/* Finds a published hidden cell that is a bridge; returns 1 with it in bridge_r/c, else 0. */
static int bro_sup_find_bridge(bro_sup *s)
{
    int nodes = s->rows + s->cols;
    memset(s->disc, 0, sizeof(int) * (size_t)nodes);
    s->clock = 0;
    s->bridge_r = s->bridge_c = -1;
    for (int u = 0; u < nodes && s->bridge_r < 0; u++)
        if (s->disc[u] == 0)
            bro_sup_dfs(s, u, -1);
    return s->bridge_r >= 0;
}

/* Marks with mark every node reachable from node from over hidden cells, not crossing the
 * bridge itself. side: per node, 0 when not reached yet. */
static void bro_sup_reach(const bro_sup *s, int from, unsigned char *side, unsigned char mark,
                          int *queue)
{
    int head = 0, tail = 0;
    side[from] = mark;
    queue[tail++] = from;
    while (head < tail) {
        int u = queue[head++], is_row = u < s->rows;
        int n = is_row ? s->cols : s->rows;
        for (int k = 0; k < n; k++) {
            int r = is_row ? u : k, c = is_row ? k : u - s->rows;
            int v = is_row ? s->rows + k : k;
            if (!s->hid[r * s->cols + c] || side[v] || (r == s->bridge_r && c == s->bridge_c))
                continue;
            side[v] = mark;
            queue[tail++] = v;
        }
    }
}

/* Hides the cheapest unhidden cell that joins the two sides the bridge holds together, so the
 * bridge lies on a cycle: positive counts first, data cells before totals, small before large.
 * Returns 0, or -1 when there is none (every such cell is hidden already). */
static int bro_sup_widen(bro_sup *s, unsigned char *side, int *queue)
{
    memset(side, 0, (size_t)(s->rows + s->cols));
    bro_sup_reach(s, s->bridge_r, side, 1, queue);
    bro_sup_reach(s, s->rows + s->bridge_c, side, 2, queue);
    int best = -1;
    double best_key = 0;
    for (int pass = 0; pass < 2 && best < 0; pass++)
        for (int r = 0; r < s->rows; r++)
            for (int c = 0; c < s->cols; c++) {
                int at = r * s->cols + c, a = side[r], b = side[s->rows + c];
                /* Pass 0: a cell that joins the sides. Pass 1, when the sides are the bridge's
                 * two ends alone: one beside it, which grows a side for the next round. */
                int joins = (a == 1 && b == 2) || (a == 2 && b == 1);
                int beside = r == s->bridge_r || c == s->bridge_c;
                if (s->hid[at] || !(pass == 0 ? joins : beside))
                    continue;
                int margin = r == s->rows - 1 || c == s->cols - 1;
                double key = (s->value[at] > 0 ? 0 : 1e12) + (margin ? 1e9 : 0) + s->value[at];
                if (best < 0 || key < best_key) {
                    best = at;
                    best_key = key;
                }
            }
    if (best < 0)
        return -1;
    s->hid[best] = 1;
    return 0;
}

/* The grid cell (r, c) of table t: its data rows and count columns, then the totals. */
static bro_rcell *bro_sup_cell(bro_rtable *t, const int *colmap, int r, int c)
{
    return &t->cells[(size_t)r * (size_t)t->ncols + (size_t)colmap[c]];
}

/* Fills the grid from t; colmap gets each grid column's table column (-1: virtual total). */
static void bro_sup_load(bro_sup *s, bro_rtable *t, const int *colmap)
{
    int data_rows = s->rows - 1;
    for (int r = 0; r < s->rows; r++)
        for (int c = 0; c < s->cols; c++) {
            int at = r * s->cols + c;
            int virtual_row = r == data_rows && !t->total_row;
            if (virtual_row || colmap[c] < 0) {
                s->hid[at] = 2;
                s->value[at] = 1e15;
                continue;
            }
            bro_rcell *cell = bro_sup_cell(t, colmap, r, c);
            s->value[at] = cell->num;
            s->hid[at] = (cell->type == BRO_RCELL_INT && cell->num >= 1 && cell->num <= 3) ||
                         cell->type == BRO_RCELL_HIDDEN;
        }
}

static int bro_sup_store(bro_sup *s, bro_rtable *t, const int *colmap)
{
    int hidden = 0;
    for (int r = 0; r < s->rows; r++)
        for (int c = 0; c < s->cols; c++)
            if (s->hid[r * s->cols + c] == 1) {
                bro_sup_cell(t, colmap, r, c)->type = BRO_RCELL_HIDDEN;
                hidden++;
            }
    t->hidden = hidden;
    return hidden;
}

int bro_report_suppress_table(bro_rtable *t)
{
    if (!t->suppressible || t->nrows == 0)
        return 0;
    int colmap[BRO_REPORT_COLS_MAX + 1], ncols = 0;
    for (int c = t->first_count; c < t->ncols; c++)
        if (c != t->total_col && t->cols[c].type == BRO_RCELL_INT)
            colmap[ncols++] = c;
    colmap[ncols++] = t->total_col; /* -1 when the rows' totals are not published */
    bro_sup s = {.rows = t->nrows + (t->total_row ? 0 : 1), .cols = ncols};
    size_t cells = (size_t)s.rows * (size_t)s.cols, nodes = (size_t)(s.rows + s.cols);
    s.value = malloc(sizeof(double) * cells);
    s.hid = malloc(cells);
    s.disc = malloc(sizeof(int) * nodes);
    s.low = malloc(sizeof(int) * nodes);
    unsigned char *side = malloc(nodes);
    int *queue = malloc(sizeof(int) * nodes);
    int rc = -1;
    if (s.value && s.hid && s.disc && s.low && side && queue) {
        bro_sup_load(&s, t, colmap);
        while (bro_sup_find_bridge(&s) && bro_sup_widen(&s, side, queue) == 0)
            ;
        rc = bro_sup_store(&s, t, colmap);
    }
    free(side);
    free(queue);
    free(s.value);
    free(s.hid);
    free(s.disc);
    free(s.low);
    return rc;
}

int bro_report_suppress(bro_report *r)
{
    int total = 0;
    for (int i = 0; i < r->ntables; i++) {
        int n = bro_report_suppress_table(r->tables[i]);
        if (n < 0)
            return -1;
        total += n;
    }
    return total;
}
