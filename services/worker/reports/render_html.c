/* The html format: one printable page in Norwegian bokmål, self-contained (no script, no
 * fetched resource), with an inline SVG chart above each table that is better looked at than
 * read: horizontal bars for counts by category, lines for a month-by-month series. */
#include "reports/report.h"

#include <stdio.h>
#include <string.h>

#define BRO_HTML_BAR_H    14  /* px per bar */
#define BRO_HTML_LABEL_W  230 /* px for the category labels of a bar chart */
#define BRO_HTML_PLOT_W   420 /* px of the bars' or lines' area */
#define BRO_HTML_LINE_H   220 /* px of a line chart's plot */
#define BRO_HTML_ROWS_MAX 40  /* rows a chart shows; a longer table is not charted */

static const char *const bro_html_colours[] = {"#1f5f8b", "#e07b39", "#3c8d5a",
                                               "#8e5ea2", "#c0392b", "#7f8c8d"};

static const char *bro_html_css =
    "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2em;color:#222}"
    "h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.8em}"
    "p.meta{color:#555;margin-top:0}p.note{color:#444;font-size:.9em;max-width:48em}"
    "table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}"
    "th,td{border:1px solid #bbb;padding:.25em .6em;text-align:left;vertical-align:top}"
    "th{background:#eef2f5}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "tr.total td{font-weight:bold}svg{display:block;margin:.5em 0}"
    "section{page-break-inside:avoid}@media print{body{margin:1cm}h2{page-break-after:avoid}}";

static void bro_html_text(bro_buf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *esc = *s == '<'    ? "&lt;"
                          : *s == '>'  ? "&gt;"
                          : *s == '&'  ? "&amp;"
                          : *s == '"'  ? "&quot;"
                          : *s == '\n' ? "<br>"
                                       : NULL;
        if (esc == NULL)
            continue;
        bro_buf_add(b, run, (size_t)(s - run));
        bro_buf_str(b, esc);
        run = s + 1;
    }
    bro_buf_add(b, run, (size_t)(s - run));
}

static const bro_rcell *bro_html_cell(const bro_rtable *t, int row, int col)
{
    return &t->cells[(size_t)row * (size_t)t->ncols + (size_t)col];
}

/* The largest charted value (at least 1, so an empty chart still has a scale). */
static double bro_html_max(const bro_rtable *t, int rows)
{
    double max = 1;
    for (int i = 0; i < rows; i++)
        for (int c = t->chart_from; c < t->chart_to; c++) {
            const bro_rcell *v = bro_html_cell(t, i, c);
            if ((v->type == BRO_RCELL_INT || v->type == BRO_RCELL_NUM) && v->num > max)
                max = v->num;
        }
    return max;
}

static void bro_html_legend(bro_buf *b, const bro_rtable *t, int y)
{
    int x = 0;
    for (int c = t->chart_from; c < t->chart_to; c++) {
        const char *colour = bro_html_colours[(c - t->chart_from) % 6];
        bro_buf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>", x, y,
                       colour);
        bro_buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"11\">", x + 14, y + 9);
        bro_html_text(b, t->cols[c].label);
        bro_buf_str(b, "</text>");
        x += 24 + 7 * (int)strlen(t->cols[c].label);
    }
}

static void bro_html_bars(bro_buf *b, const bro_rtable *t, int rows)
{
    int series = t->chart_to - t->chart_from, group = series * BRO_HTML_BAR_H + 8;
    int h = rows * group + 24, w = BRO_HTML_LABEL_W + BRO_HTML_PLOT_W + 50;
    double max = bro_html_max(t, rows);
    bro_buf_printf(b, "<svg role=\"img\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">", w, h,
                   w, h);
    bro_buf_str(b, "<title>");
    bro_html_text(b, t->title);
    bro_buf_str(b, "</title>");
    for (int i = 0; i < rows; i++) {
        int y = i * group;
        char label[200], value[64];
        bro_rcell_format(bro_html_cell(t, i, 0), 1, label, sizeof(label));
        bro_buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\">",
                       BRO_HTML_LABEL_W - 6, y + group / 2 + 2);
        bro_html_text(b, label);
        bro_buf_str(b, "</text>");
        for (int c = t->chart_from; c < t->chart_to; c++) {
            const bro_rcell *v = bro_html_cell(t, i, c);
            int by = y + (c - t->chart_from) * BRO_HTML_BAR_H;
            double len = v->type == BRO_RCELL_INT || v->type == BRO_RCELL_NUM
                             ? v->num / max * BRO_HTML_PLOT_W
                             : 0;
            bro_rcell_format(v, 1, value, sizeof(value));
            bro_buf_printf(b,
                           "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>"
                           "<text x=\"%.1f\" y=\"%d\" font-size=\"10\">",
                           BRO_HTML_LABEL_W, by, len, BRO_HTML_BAR_H - 2,
                           bro_html_colours[(c - t->chart_from) % 6], BRO_HTML_LABEL_W + len + 4,
                           by + BRO_HTML_BAR_H - 4);
            bro_html_text(b, value);
            bro_buf_str(b, "</text>");
        }
    }
    if (series > 1)
        bro_html_legend(b, t, h - 14);
    bro_buf_str(b, "</svg>\n");
}

static void bro_html_lines(bro_buf *b, const bro_rtable *t, int rows)
{
    int left = 40, w = left + BRO_HTML_PLOT_W + 200, h = BRO_HTML_LINE_H + 60;
    double max = bro_html_max(t, rows);
    double step = rows > 1 ? (double)BRO_HTML_PLOT_W / (rows - 1) : 0;
    bro_buf_printf(b, "<svg role=\"img\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">", w, h,
                   w, h);
    bro_buf_str(b, "<title>");
    bro_html_text(b, t->title);
    bro_buf_str(b, "</title>");
    bro_buf_printf(b,
                   "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>"
                   "<text x=\"%d\" y=\"14\" font-size=\"10\" text-anchor=\"end\">%.0f</text>"
                   "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\">0</text>",
                   left, BRO_HTML_LINE_H + 10, left + BRO_HTML_PLOT_W, BRO_HTML_LINE_H + 10,
                   left - 4, max, left - 4, BRO_HTML_LINE_H + 10);
    for (int i = 0; i < rows; i++) {
        char label[64];
        bro_rcell_format(bro_html_cell(t, i, 0), 1, label, sizeof(label));
        bro_buf_printf(b, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">",
                       left + i * step, BRO_HTML_LINE_H + 26);
        bro_html_text(b, label);
        bro_buf_str(b, "</text>");
    }
    for (int c = t->chart_from; c < t->chart_to; c++) {
        bro_buf_printf(b, "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"%s\" points=\"",
                       bro_html_colours[(c - t->chart_from) % 6]);
        for (int i = 0; i < rows; i++) {
            const bro_rcell *v = bro_html_cell(t, i, c);
            if (v->type == BRO_RCELL_INT || v->type == BRO_RCELL_NUM)
                bro_buf_printf(b, "%.1f,%.1f ", left + i * step,
                               10 + BRO_HTML_LINE_H - v->num / max * BRO_HTML_LINE_H);
        }
        bro_buf_str(b, "\"/>");
    }
    bro_html_legend(b, t, h - 14);
    bro_buf_str(b, "</svg>\n");
}

static void bro_html_table(bro_buf *b, const bro_rtable *t)
{
    bro_buf_str(b, "<section>\n<h2>");
    bro_html_text(b, t->title);
    bro_buf_str(b, "</h2>\n");
    if (t->note) {
        bro_buf_str(b, "<p class=\"note\">");
        bro_html_text(b, t->note);
        bro_buf_str(b, "</p>\n");
    }
    int rows = t->nrows - (t->total_row ? 1 : 0);
    if (t->chart == BRO_RCHART_BAR && rows > 0 && rows <= BRO_HTML_ROWS_MAX)
        bro_html_bars(b, t, rows);
    else if (t->chart == BRO_RCHART_LINE && rows > 1 && rows <= BRO_HTML_ROWS_MAX * 3)
        bro_html_lines(b, t, rows);
    bro_buf_str(b, "<table>\n<thead><tr>");
    for (int c = 0; c < t->ncols; c++) {
        bro_buf_str(b, "<th scope=\"col\">");
        bro_html_text(b, t->cols[c].label);
        bro_buf_str(b, "</th>");
    }
    bro_buf_str(b, "</tr></thead>\n<tbody>\n");
    char text[256];
    for (int i = 0; i < t->nrows; i++) {
        bro_buf_str(b, t->total_row && i == t->nrows - 1 ? "<tr class=\"total\">" : "<tr>");
        for (int c = 0; c < t->ncols; c++) {
            const bro_rcell *v = bro_html_cell(t, i, c);
            bro_buf_str(b, v->type == BRO_RCELL_TEXT || v->type == BRO_RCELL_EMPTY
                               ? "<td>"
                               : "<td class=\"n\">");
            if (v->type == BRO_RCELL_TEXT) {
                bro_html_text(b, v->text);
            } else {
                bro_rcell_format(v, 1, text, sizeof(text));
                bro_html_text(b, text);
            }
            bro_buf_str(b, "</td>");
        }
        bro_buf_str(b, "</tr>\n");
    }
    bro_buf_str(b, "</tbody>\n</table>\n</section>\n");
}

int bro_render_html(const bro_report *r, bro_buf *out)
{
    bro_buf_str(out, "<!DOCTYPE html>\n<html lang=\"nb\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     "<title>");
    bro_html_text(out, r->title);
    bro_buf_printf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", bro_html_css);
    bro_html_text(out, r->title);
    bro_buf_str(out, "</h1>\n<p class=\"meta\">");
    if (r->subject[0]) {
        bro_html_text(out, r->subject);
        bro_buf_str(out, " &middot; ");
    }
    bro_buf_printf(out, "Periode %s til %s &middot; laget %.10s", r->from, r->to, r->made_at);
    bro_buf_str(out, "</p>\n");
    if (r->suppress)
        bro_buf_str(out, "<p class=\"note\">Tall fra 1 til 3, og tall de kan regnes ut fra, er "
                         "skjult og vist som «:».</p>\n");
    for (int i = 0; i < r->ntables; i++)
        bro_html_table(out, r->tables[i]);
    bro_buf_str(out, "</body>\n</html>\n");
    return out->failed ? -1 : 0;
}
