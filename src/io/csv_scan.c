/* CSV column scan: which columns hold strings (so are categorical, or hold
 * class names), and the sorted distinct names of those columns. */
#include "io/csv_text.h"
#include "io/encoding.h"
#include "io/json.h"
#include "core/core.h"

#include <stdlib.h>
#include <string.h>

typedef struct csv_span {
    csv_cell cell;
    int col;
    long line;
} csv_span;

static int span_cmp(const void *a, const void *b)
{
    const csv_span *x = a, *y = b;
    if (x->col != y->col) return x->col < y->col ? -1 : 1;
    /* Compare the texts as read: walk both with "" folded. */
    const char *p = x->cell.cs, *q = y->cell.cs;
    for (;;) {
        if (p == x->cell.ce || q == y->cell.ce) return (p != x->cell.ce) - (q != y->cell.ce);
        unsigned char u = (unsigned char)*p++, v = (unsigned char)*q++;
        if (x->cell.quoted && u == '"' && p < x->cell.ce && *p == '"') p++;
        if (y->cell.quoted && v == '"' && q < y->cell.ce && *q == '"') q++;
        if (u != v) return u < v ? -1 : 1;
    }
}

/* Mark in str[] the columns (kinds[col] non-zero) holding a cell that is
 * neither a number nor missing. */
static void scan_strings(const csv_ctx *c, csv_cursor k, const csv_layout *L,
                         const unsigned char *kinds, unsigned char *str)
{
    do {
        const char *p = k.ls;
        csv_cell cell;
        int more = 1;
        for (int col = 0; more && col < L->n_cols; col++) {
            more = mn_csv_take_cell(c, &p, k.le, &cell);
            if (kinds[col] && !str[col] && !mn_csv_is_missing(&cell) &&
                !mn_csv_is_number(cell.cs, cell.ce))
                str[col] = 1;
        }
    } while (mn_csv_next_line(c, &k));
}

/* The distinct texts of column col among the sorted spans [a, b) as sorted
 * names (valid UTF-8, at most MN_ENC_MAX_NAMES). */
static mynn_status names_of(const csv_ctx *c, const csv_span *a, const csv_span *b,
                            char ***names, int *n)
{
    size_t distinct = 0;
    for (const csv_span *s = a; s < b; s++) distinct += s == a || span_cmp(s - 1, s) != 0;
    if (distinct > MN_ENC_MAX_NAMES)
        return mn_error(MYNN_ERR_FORMAT, "%s: column %d: more than %d distinct values", c->path,
                        a->col + 1, MN_ENC_MAX_NAMES);
    *names = mn_calloc(distinct ? distinct : 1, sizeof **names, "CSV names");
    if (!*names) return MYNN_ERR_NOMEM;
    *n = 0;
    for (const csv_span *s = a; s < b; s++) {
        if (s != a && span_cmp(s - 1, s) == 0) continue;
        char *t = mn_csv_cell_dup(&s->cell);
        if (!t) return mn_error(MYNN_ERR_NOMEM, "%s: out of memory", c->path);
        (*names)[(*n)++] = t;
        if (!mn_json_utf8_valid(t, strlen(t)))
            return mn_error(MYNN_ERR_FORMAT, "%s:%ld: column %d: \"%.40s\" is not valid UTF-8",
                            c->path, s->line, s->col + 1, t);
    }
    return MYNN_OK;
}

/* Collect the names of the columns marked in want[] (categorical inputs
 * into the encoding's columns, the label column into its classes). */
static mynn_status scan_names(const csv_ctx *c, csv_cursor k, const csv_layout *L,
                              const unsigned char *want, size_t rows)
{
    int nw = 0;
    for (int i = 0; i < L->n_cols; i++) nw += want[i] != 0;
    if (!nw) return MYNN_OK;
    size_t cap;
    if (mn_mul_size(rows, (size_t)nw, &cap) != 0)
        return mn_error(MYNN_ERR_NOMEM, "%s: too many cells", c->path);
    csv_span *sp = mn_calloc(cap, sizeof *sp, "CSV category cells");
    if (!sp) return MYNN_ERR_NOMEM;
    size_t n = 0;
    do {
        const char *p = k.ls;
        csv_cell cell;
        int more = 1;
        for (int col = 0; more && col < L->n_cols; col++) {
            more = mn_csv_take_cell(c, &p, k.le, &cell);
            if (want[col] && !mn_csv_is_missing(&cell) && n < cap)
                sp[n++] = (csv_span){cell, col, k.line};
        }
    } while (mn_csv_next_line(c, &k));
    qsort(sp, n, sizeof *sp, span_cmp);
    mynn_status s = MYNN_OK;
    for (size_t a = 0, b; !s && a < n; a = b) {
        for (b = a; b < n && sp[b].col == sp[a].col; b++) {}
        int col = sp[a].col;
        if (col == L->lab_col) {
            s = names_of(c, sp + a, sp + b, &L->own->classes, &L->own->n_classes);
        } else {
            mn_enc_col *ec = &L->own->cols[L->in_col[col]];
            s = names_of(c, sp + a, sp + b, &ec->cats, &ec->n_cats);
        }
    }
    free(sp);
    return s;
}

/* Learn the kinds of the columns: listed[] (or, auto, the input columns
 * holding strings) become categorical, a label column holding strings
 * holds class names; then their names.  Leaves categories of the columns
 * only missing values fill as one category-less numeric column. */
mynn_status mn_csv_scan(const csv_ctx *c, const csv_cursor *k, csv_layout *L,
                            const unsigned char *listed, size_t rows)
{
    int n = L->n_cols;
    unsigned char *kinds = calloc((size_t)n * 2, 1), *str = kinds + n;
    if (!kinds) return mn_error(MYNN_ERR_NOMEM, "%s: out of memory", c->path);
    for (int i = 0; i < n; i++)
        kinds[i] = (L->learn_auto && L->role[i] == ROLE_INPUT) || i == L->lab_col;
    scan_strings(c, *k, L, kinds, str);
    for (int i = 0; i < n; i++) str[i] = str[i] || listed[i];
    mynn_status s = scan_names(c, *k, L, str, rows);
    free(kinds);
    return s;
}
