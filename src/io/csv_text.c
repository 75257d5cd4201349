/* CSV text: lines, cells (quoted or not, blanks trimmed), the missing-value
 * words, and cells compared with sorted names.  Everything reads within
 * [p, le) of a buffer already in memory. */
#include "io/csv_text.h"
#include "core/numparse.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The line starting at p: *le its end without '\r' and trailing blanks,
 * returns the start of the next line (or end). */
const char *mn_csv_line_bounds(const csv_ctx *c, const char *p, const char *end,
                               const char **le)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *e = nl ? nl : end;
    while (e > p && (e[-1] == '\r' || mn_csv_is_blank(c, e[-1]))) e--;
    *le = e;
    return nl ? nl + 1 : end;
}

/* One cell of [p, le): content bounds (unquoted, trimmed) in *cs, *ce;
 * returns where the next cell starts and sets *more when one follows. */
const char *mn_csv_next_cell(const csv_ctx *c, const char *p, const char *le, const char **cs,
                             const char **ce, int *more)
{
    while (p < le && mn_csv_is_blank(c, *p)) p++;
    if (p < le && *p == '"') {
        p++;
        *cs = p;
        while (p < le) {
            if (*p == '"') {
                if (p + 1 < le && p[1] == '"') {
                    p += 2;
                    continue;
                }
                break;
            }
            p++;
        }
        *ce = p;
        if (p < le) p++;
        while (p < le && !(c->ws ? (*p == ' ' || *p == '\t') : *p == c->sep)) p++;
    } else {
        *cs = p;
        while (p < le && !(c->ws ? (*p == ' ' || *p == '\t') : *p == c->sep)) p++;
        const char *e = p;
        while (e > *cs && mn_csv_is_blank(c, e[-1])) e--;
        *ce = e;
    }
    *more = 0;
    if (p < le) {
        *more = 1;
        if (c->ws)
            while (p < le && (*p == ' ' || *p == '\t')) p++;
        else
            p++;
    }
    return p;
}

int mn_csv_count_cells(const csv_ctx *c, const char *p, const char *le)
{
    int n = 0, more;
    const char *cs, *ce;
    do {
        p = mn_csv_next_cell(c, p, le, &cs, &ce, &more);
        n++;
    } while (more && n < INT_MAX);
    return n;
}

/* The cell text of column col (0-based) of the line, for messages. */
void mn_csv_cell_text(const csv_ctx *c, const char *ls, const char *le, int col, const char **cs,
                      int *clen)
{
    const char *s = ls, *e = ls;
    int more = 1;
    for (int i = 0; i <= col && more; i++) s = ls, ls = mn_csv_next_cell(c, ls, le, &s, &e, &more);
    *cs = s;
    *clen = (int)(e - s > 40 ? 40 : e - s);
}

int mn_csv_is_number(const char *cs, const char *ce)
{
    float v;
    const char *e;
    if (cs == ce) return 0;
    return mn_parse_float(cs, &e, &v) >= 0 && e == ce;
}

char mn_csv_detect_sep(const char *ls, const char *le)
{
    int nc = 0, ns = 0, nt = 0, nb = 0, q = 0;
    for (const char *p = ls; p < le; p++) {
        if (*p == '"') q = !q;
        if (q) continue;
        if (*p == ',') nc++;
        else if (*p == ';') ns++;
        else if (*p == '\t') nt++;
        else if (*p == ' ') nb++;
    }
    if (nc == 0 && ns == 0 && nt == 0) return nb ? ' ' : ',';
    if (nc >= ns && nc >= nt) return ',';
    if (ns >= nt) return ';';
    return '\t';
}



/* The cell at *p: fills *cell, moves *p to the next cell; returns 1 when
 * another cell follows. */
int mn_csv_take_cell(const csv_ctx *c, const char **p, const char *le, csv_cell *cell)
{
    const char *q = *p;
    while (q < le && mn_csv_is_blank(c, *q)) q++;
    cell->quoted = q < le && *q == '"';
    int more;
    *p = mn_csv_next_cell(c, q, le, &cell->cs, &cell->ce, &more);
    return more;
}

/* Missing values: an empty cell, NA, ?, or a number that is NaN. */
int mn_csv_is_missing(const csv_cell *cell)
{
    size_t n = (size_t)(cell->ce - cell->cs);
    if (n == 0 || (n == 1 && cell->cs[0] == '?') || (n == 2 && !memcmp(cell->cs, "NA", 2)))
        return 1;
    float v;
    const char *e;
    return mn_parse_float(cell->cs, &e, &v) == 1 && e == cell->ce && isnan(v);
}

/* strcmp of a cell's text (its "" read as ") against name. */
static int cell_cmp(const csv_cell *cell, const char *name)
{
    const unsigned char *p = (const unsigned char *)cell->cs, *e = (const unsigned char *)cell->ce;
    const unsigned char *n = (const unsigned char *)name;
    for (;; n++) {
        if (p == e) return *n ? -1 : 0;
        unsigned ch = *p++;
        if (cell->quoted && ch == '"' && p < e && *p == '"') p++;
        if (!*n || ch != *n) return !*n ? 1 : (int)ch - (int)*n;
    }
}

/* Index of the cell's text among n sorted names, or -1. */
int mn_csv_find_name(char *const *names, int n, const csv_cell *cell)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, r = cell_cmp(cell, names[mid]);
        if (r == 0) return mid;
        if (r < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return -1;
}

/* A new NUL-terminated copy of the cell's text. */
char *mn_csv_cell_dup(const csv_cell *cell)
{
    char *s = malloc((size_t)(cell->ce - cell->cs) + 1), *o = s;
    if (!s) return NULL;
    for (const char *p = cell->cs; p < cell->ce; p++) {
        *o++ = *p;
        if (cell->quoted && *p == '"' && p + 1 < cell->ce && p[1] == '"') p++;
    }
    *o = '\0';
    return s;
}


/* Advance to the next non-blank line; 0 at the end of the text. */
int mn_csv_next_line(const csv_ctx *c, csv_cursor *k)
{
    while (k->next < k->end) {
        k->line++;
        k->start = k->next;
        k->next = mn_csv_line_bounds(c, k->start, k->end, &k->le);
        const char *t = k->start;
        while (t < k->le && mn_csv_is_blank(c, *t)) t++;
        if (t < k->le) {
            k->ls = t;
            return 1;
        }
    }
    k->ls = NULL;
    return 0;
}
