/* The reference for the xlsx report's speed: libxlsxwriter alone writing a sheet of N rows
 * (default 100,000) of the pipeline's detail columns (ref, status, measure, role, a date, a
 * count) with constant_memory and formats made once. Prints the seconds it took. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <xlsxwriter.h>

static double bro_xlsx_rows_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE.xlsx [ROWS]\n", argv[0]);
        return 2;
    }
    long rows = argc > 2 ? atol(argv[2]) : 100000;
    static const char *const statuses[] = {"Henvist (inntak)", "Tilnærming", "Kartlagt",
                                           "Arbeidstrening",   "I tiltak",   "Avsluttet"};
    double t0 = bro_xlsx_rows_now();
    lxw_workbook_options opts = {.constant_memory = LXW_TRUE};
    lxw_workbook *wb = workbook_new_opt(argv[1], &opts);
    lxw_worksheet *ws = wb ? workbook_add_worksheet(wb, "Kandidater") : NULL;
    if (ws == NULL)
        return 1;
    lxw_format *head = workbook_add_format(wb), *date = workbook_add_format(wb);
    format_set_bold(head);
    format_set_num_format(date, "dd.mm.yyyy");
    worksheet_freeze_panes(ws, 1, 0);
    static const char *const cols[] = {"Ref.",  "Status",       "Tiltak",
                                       "Rolle", "Status siden", "Dager i status"};
    for (int c = 0; c < 6; c++)
        worksheet_write_string(ws, 0, (lxw_col_t)c, cols[c], head);
    char ref[32];
    for (long i = 1; i <= rows; i++) {
        snprintf(ref, sizeof(ref), "K-B-%ld", i);
        worksheet_write_string(ws, (lxw_row_t)i, 0, ref, NULL);
        worksheet_write_string(ws, (lxw_row_t)i, 1, statuses[i % 6], NULL);
        if (i % 6 == 4)
            worksheet_write_string(ws, (lxw_row_t)i, 2, "VTA", NULL);
        if (i % 12 == 4)
            worksheet_write_string(ws, (lxw_row_t)i, 3, "omsorgsmedhjelper", NULL);
        worksheet_write_number(ws, (lxw_row_t)i, 4, 46000 + (double)(i % 700), date);
        worksheet_write_number(ws, (lxw_row_t)i, 5, (double)(i % 300), NULL);
    }
    if (workbook_close(wb) != LXW_NO_ERROR)
        return 1;
    printf("%ld rows: %.3f s\n", rows, bro_xlsx_rows_now() - t0);
    return 0;
}
