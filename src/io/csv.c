/* CSV datasets: optional header, separator , ; tab or blanks, a label
 * column (classification: class indices or names), target columns
 * (regression) or none; categorical inputs one-hot encoded and missing
 * values dropped or imputed through a feature encoding (io/encoding.h).
 * A file of numbers is parsed in one pass over the text already in memory;
 * strings where numbers were expected make a scan of the columns first
 * (mn_csv_scan), then the parse again.  Numbers go through the
 * locale-independent parser.  Errors name file:line: column N (1-based). */
#include "io/io.h"
#include "io/csv_text.h"
#include "io/encoding.h"
#include "core/core.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSV_AUTO_MAX_CLASSES (1 << 16)

static mynn_status err_cell(const csv_ctx *c, long line, const char *ls, const char *le, int col)
{
    const char *cs;
    int n;
    mn_csv_cell_text(c, ls, le, col, &cs, &n);
    if (n == 0)
        return mn_error(MYNN_ERR_FORMAT, "%s:%ld: column %d: empty cell, expected a number",
                        c->path, line, col + 1);
    return mn_error(MYNN_ERR_FORMAT, "%s:%ld: column %d: \"%.*s\" is not a number", c->path, line,
                    col + 1, n, cs);
}

/* The separator: given, or detected from the first line; refuses one that
 * could be part of a number or a quoted cell. */
static mynn_status csv_separator(csv_ctx *c, const csv_cursor *k)
{
    if (c->sep == 0) c->sep = mn_csv_detect_sep(k->ls, k->le);
    unsigned char s = (unsigned char)c->sep;
    if ((s >= '0' && s <= '9') || (s >= 'a' && s <= 'z') || (s >= 'A' && s <= 'Z') || s == '.' ||
        s == '+' || s == '-' || s == '"' || s == '\n' || s == '\r')
        return mn_error(MYNN_ERR_ARG, "%s: unusable CSV separator '%c'", c->path, c->sep);
    c->ws = c->sep == ' ';
    return MYNN_OK;
}

/* header < 0: detect.  The first line is a header when one of its cells is
 * neither a number nor missing and, if more lines follow, the next 32 hold
 * only numbers or missing values in that column, at least one number (so a
 * first row such as "5.1,3.5,setosa" stays data).  A single line of such
 * cells is a header. */
static int csv_is_header(const csv_ctx *c, const csv_cursor *k0, int header)
{
    if (header >= 0) return header;
    csv_cursor k = *k0;
    if (!mn_csv_next_line(c, &k)) {
        const char *p = k0->ls;
        csv_cell a;
        int more;
        do {
            more = mn_csv_take_cell(c, &p, k0->le, &a);
            if (!mn_csv_is_number(a.cs, a.ce)) return 1;
        } while (more);
        return 0;
    }
    const char *p = k0->ls;
    csv_cell a;
    int more, col = 0;
    do {
        more = mn_csv_take_cell(c, &p, k0->le, &a);
        if (!mn_csv_is_number(a.cs, a.ce) && !mn_csv_is_missing(&a)) {
            csv_cursor t = k;
            int numbers = 0, strings = 0;
            for (int n = 0; n < 32 && !strings; n++) {
                const char *q = t.ls;
                csv_cell b;
                int i = 0, mb = 1;
                while (mb && i <= col) mb = mn_csv_take_cell(c, &q, t.le, &b), i++;
                if (i > col) {
                    if (mn_csv_is_number(b.cs, b.ce)) numbers++;
                    else if (!mn_csv_is_missing(&b)) strings++;
                }
                if (!mn_csv_next_line(c, &t)) break;
            }
            if (numbers && !strings) return 1;
        }
        col++;
    } while (more);
    return 0;
}


static void csv_layout_free(csv_layout *L)
{
    free(L->role);
    free(L->in_col);
    free(L->offset);
    mynn_encoding_free(L->own);
}

/* Label or target columns of a file for a given encoding: the file's column
 * count says whether they are there. */
static mynn_status roles_for_encoding(const csv_ctx *c, const mynn_load_options *opt,
                                      csv_layout *L, int *no_labels, int *skip_labels)
{
    int want = L->enc->n_cols, nlab = opt->n_targets > 0 ? opt->n_targets : 1;
    if (L->n_cols == want) {
        *no_labels = 1;
    } else if (L->n_cols == want + nlab) {
        *skip_labels = opt->no_labels;
    } else {
        return mn_error(MYNN_ERR_FORMAT,
                        "%s: %d columns, but the model's encoding takes %d input column%s (plus, "
                        "optionally, %d label column%s)",
                        c->path, L->n_cols, want, want == 1 ? "" : "s", nlab, nlab == 1 ? "" : "s");
    }
    return MYNN_OK;
}

static mynn_status csv_roles(const csv_ctx *c, const mynn_load_options *opt, csv_layout *L)
{
    int n_cols = L->n_cols, no_labels = opt->no_labels, skip = 0;
    L->n_out = 0;
    L->lab_col = -1;
    L->tgt0 = -1;
    L->nt = opt->n_targets;
    if (L->enc) {
        no_labels = 0;
        mynn_status s = roles_for_encoding(c, opt, L, &no_labels, &skip);
        if (s) return s;
    }
    if (no_labels) {
        L->n_in = n_cols;
        L->nt = 0;
    } else if (L->nt > 0) {
        L->tgt0 = opt->label_column < 0 ? n_cols - L->nt : opt->label_column;
        if (L->tgt0 < 0 || L->nt > n_cols - L->tgt0)
            return mn_error(MYNN_ERR_ARG,
                            "%s: %d target columns from column %d do not fit in %d columns",
                            c->path, L->nt, L->tgt0 + 1, n_cols);
        L->n_in = n_cols - L->nt;
        L->n_out = skip ? 0 : L->nt;
    } else {
        L->lab_col = opt->label_column < 0 ? n_cols - 1 : opt->label_column;
        if (L->lab_col >= n_cols)
            return mn_error(MYNN_ERR_ARG,
                            "%s: label column %d out of range (the file has %d columns)", c->path,
                            L->lab_col + 1, n_cols);
        L->n_in = n_cols - 1;
    }
    if (L->n_in < 1)
        return mn_error(MYNN_ERR_FORMAT,
                        "%s: no input columns: %d column%s with separator '%s', all taken by "
                        "the label/targets",
                        c->path, n_cols, n_cols == 1 ? "" : "s",
                        c->sep == '\t' ? "\\t" : c->ws ? "blanks" : (char[2]){c->sep, 0});
    L->role = malloc((size_t)n_cols);
    L->in_col = malloc((size_t)n_cols * sizeof *L->in_col);
    L->offset = malloc((size_t)L->n_in * sizeof *L->offset);
    if (!L->role || !L->in_col || !L->offset)
        return mn_error(MYNN_ERR_NOMEM, "%s: out of memory", c->path);
    for (int i = 0, j = 0; i < n_cols; i++) {
        int r = i == L->lab_col ? ROLE_LABEL
                : (L->tgt0 >= 0 && i >= L->tgt0 && i < L->tgt0 + L->nt) ? ROLE_TARGET
                                                                       : ROLE_INPUT;
        if (skip && r != ROLE_INPUT) r = ROLE_SKIP;
        if (skip && r == ROLE_SKIP) L->lab_col = -1;
        L->role[i] = (unsigned char)r;
        L->in_col[i] = r == ROLE_INPUT ? j++ : -1;
    }
    if (skip) L->tgt0 = -1;
    return MYNN_OK;
}

/* The categorical option: which input columns (auto: none yet, the parse
 * finds them). */
static mynn_status csv_plan(const csv_ctx *c, const mynn_load_options *opt, csv_layout *L,
                            unsigned char *listed)
{
    const char *cat = opt->categorical;
    L->learn_auto = !cat || !*cat || strcmp(cat, "auto") == 0;
    if (L->learn_auto || strcmp(cat, "none") == 0) return MYNN_OK;
    for (const char *p = cat;;) {
        long long v;
        const char *e;
        if (mn_parse_ll(p, &e, &v) != 0 || v < 0 || (*e && *e != ','))
            return mn_error(MYNN_ERR_ARG,
                            "%s: categorical \"%.40s\": expected auto, none or 0-based column "
                            "numbers such as 0,3",
                            c->path, cat);
        if (v >= L->n_cols || L->role[v] != ROLE_INPUT)
            return mn_error(MYNN_ERR_ARG, "%s: categorical column %lld is %s", c->path, v,
                            v >= L->n_cols ? "outside the file" : "not an input column");
        listed[v] = 1;
        if (!*e) break;
        p = e + 1;
    }
    return MYNN_OK;
}

/* ---- parsing -------------------------------------------------------------- */

/* The parsed values: room for cap rows (an upper bound: the lines left). */
typedef struct csv_rows {
    size_t cap, n;
    float *x, *yt;
    int *labels;
    int max_label;
    int retry;        /* a string where a number was assumed: scan, parse again */
    int n_unseen;
    char unseen_first[160];
} csv_rows;

static void csv_rows_free(csv_rows *R)
{
    free(R->x);
    free(R->yt);
    free(R->labels);
}

static mynn_status csv_rows_alloc(const csv_ctx *c, const csv_layout *L, const char *ls,
                                  const char *end, csv_rows *R)
{
    memset(R, 0, sizeof *R);
    R->max_label = -1;
    R->cap = 1;
    for (const char *q = ls; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++) R->cap++;
    if (R->cap > INT_MAX) return mn_error(MYNN_ERR_NOMEM, "%s: more than %d rows", c->path, INT_MAX);
    size_t bytes;
    if (mn_mul_size(R->cap, (size_t)L->n_in, &bytes) != 0)
        return mn_error(MYNN_ERR_NOMEM, "%s: too many values", c->path);
    if (!(R->x = mn_calloc(bytes, sizeof(float), "CSV inputs"))) return MYNN_ERR_NOMEM;
    if (L->n_out > 0 && (mn_mul_size(R->cap, (size_t)L->n_out, &bytes) != 0 ||
                         !(R->yt = mn_calloc(bytes, sizeof(float), "CSV targets"))))
        return MYNN_ERR_NOMEM;
    if (L->lab_col >= 0 && !(R->labels = mn_calloc(R->cap, sizeof(int), "CSV labels")))
        return MYNN_ERR_NOMEM;
    return MYNN_OK;
}

/* One number cell at *q (quoted or not), followed by a separator or the end
 * of the line.  Returns mn_parse_*'s 0 / 1 (non-finite) / -1 (not a number,
 * or junk before the next separator); on success *q moves to the next cell
 * and *last says this was the line's last cell. */
static int csv_number_cell(const csv_ctx *c, const char **q, const char *le, int as_double,
                           float *v, double *dv, int *last)
{
    const char *p = *q, *e;
    while (p < le && mn_csv_is_blank(c, *p)) p++;
    int quoted = 0;
    if (p < le && *p == '"') {
        quoted = 1;
        p++;
    }
    int r;
    if (as_double) {
        r = mn_parse_double(p, &e, dv);
        *v = (float)*dv;
    } else {
        r = mn_parse_float(p, &e, v);
    }
    if (r >= 0 && e > le) r = -1;
    if (r >= 0 && quoted) {
        if (e < le && *e == '"') e++;
        else r = -1;
    }
    *last = 0;
    if (r < 0) return r;
    p = e;
    if (c->ws) {
        if (p < le && *p != ' ' && *p != '\t') r = -1;
        while (p < le && (*p == ' ' || *p == '\t')) p++;
        *last = p == le;
    } else {
        while (p < le && mn_csv_is_blank(c, *p)) p++;
        if (p == le) *last = 1;
        else if (*p == c->sep) p++;
        else r = -1;
    }
    *q = p;
    return r;
}

static mynn_status err_columns(const csv_ctx *c, long line, int have, int n_cols)
{
    return mn_error(MYNN_ERR_FORMAT, "%s:%ld: %d columns, expected %d", c->path, line, have,
                    n_cols);
}

/* A label cell's value dv as a class index, checked against n_classes. */
static mynn_status csv_class_index(const csv_ctx *c, const csv_cursor *k, int col, double dv,
                                   int nc_given, int *lab)
{
    if (dv < 0 || dv != floor(dv) || dv > (double)INT_MAX) {
        const char *cs;
        int n;
        mn_csv_cell_text(c, k->ls, k->le, col, &cs, &n);
        return mn_error(MYNN_ERR_FORMAT,
                        "%s:%ld: column %d: label \"%.*s\" is not a non-negative integer class "
                        "index",
                        c->path, k->line, col + 1, n, cs);
    }
    *lab = (int)dv;
    if (nc_given > 0 && *lab >= nc_given)
        return mn_error(MYNN_ERR_FORMAT, "%s:%ld: column %d: label %d out of range (n_classes %d)",
                        c->path, k->line, col + 1, *lab, nc_given);
    if (nc_given <= 0 && *lab >= CSV_AUTO_MAX_CLASSES)
        return mn_error(MYNN_ERR_FORMAT,
                        "%s:%ld: column %d: label %d out of range (more than %d classes; set "
                        "n_classes)",
                        c->path, k->line, col + 1, *lab, CSV_AUTO_MAX_CLASSES);
    return MYNN_OK;
}

/* State of one row being parsed. */
typedef struct csv_row {
    float *xr, *yr;
    int lab, skip;
} csv_row;

static mynn_status err_missing(const csv_ctx *c, const csv_cursor *k, int col, const char *why)
{
    const char *cs;
    int n;
    mn_csv_cell_text(c, k->ls, k->le, col, &cs, &n);
    return mn_error(MYNN_ERR_FORMAT, "%s:%ld: column %d: missing value \"%.*s\" (%s)", c->path,
                    k->line, col + 1, n, cs, why);
}

/* A missing cell in column col: drop the row, impute, or fail. */
static mynn_status on_missing(const csv_ctx *c, const csv_cursor *k, const csv_layout *L, int col,
                              csv_row *w)
{
    int role = L->role[col];
    if (L->missing == MYNN_MISSING_DROP) {
        w->skip = 1;
        return MYNN_OK;
    }
    if (L->missing == MYNN_MISSING_ERROR)
        return err_missing(c, k, col, "set missing to drop, mean or median");
    if (role != ROLE_INPUT)
        return err_missing(c, k, col, "labels and targets are never imputed; drop such rows");
    const mn_enc_col *ec = &L->enc->cols[L->in_col[col]];
    float *at = w->xr + L->offset[L->in_col[col]];
    if (ec->n_cats) memset(at, 0, (size_t)ec->n_cats * sizeof(float));
    else if (ec->has_fill) *at = ec->fill;
    else if (L->own) *at = NAN;   /* the fill, once known (csv_impute) */
    else return err_missing(c, k, col, "the model has no imputation value for it");
    return MYNN_OK;
}

/* A categorical input cell: its one-hot block. */
static mynn_status on_category(const csv_ctx *c, const csv_cursor *k, const csv_layout *L,
                               const mynn_load_options *opt, int col, const csv_cell *cell,
                               csv_rows *R, csv_row *w)
{
    const mn_enc_col *ec = &L->enc->cols[L->in_col[col]];
    float *blk = w->xr + L->offset[L->in_col[col]];
    memset(blk, 0, (size_t)ec->n_cats * sizeof(float));
    int j = mn_csv_find_name(ec->cats, ec->n_cats, cell);
    if (j >= 0) {
        blk[j] = 1.0f;
        return MYNN_OK;
    }
    int n = (int)(cell->ce - cell->cs > 40 ? 40 : cell->ce - cell->cs);
    if (opt->strict)
        return mn_error(MYNN_ERR_FORMAT, "%s:%ld: column %d: category \"%.*s\" was not seen in "
                        "training", c->path, k->line, col + 1, n, cell->cs);
    if (R->n_unseen++ == 0)
        snprintf(R->unseen_first, sizeof R->unseen_first,
                 "%s:%ld: column %d: unseen category \"%.*s\"", c->path, k->line, col + 1, n,
                 cell->cs);
    return MYNN_OK;
}

/* A named label cell: its class index. */
static mynn_status on_class_name(const csv_ctx *c, const csv_cursor *k, const csv_layout *L,
                                 int col, const csv_cell *cell, csv_row *w)
{
    w->lab = mn_csv_find_name(L->enc->classes, L->enc->n_classes, cell);
    if (w->lab >= 0) return MYNN_OK;
    int n = (int)(cell->ce - cell->cs > 40 ? 40 : cell->ce - cell->cs);
    return mn_error(MYNN_ERR_FORMAT, "%s:%ld: column %d: class \"%.*s\" is not one of the model's "
                    "%d classes", c->path, k->line, col + 1, n, cell->cs, L->enc->n_classes);
}

/* A cell read as text: skipped, a category, a class name, or missing. */
static mynn_status text_cell(const csv_ctx *c, const csv_cursor *k, const csv_layout *L,
                             const mynn_load_options *opt, int col, const char **q, int *last,
                             csv_rows *R, csv_row *w)
{
    csv_cell cell;
    *last = !mn_csv_take_cell(c, q, k->le, &cell);
    if (L->role[col] == ROLE_SKIP) return MYNN_OK;
    if (mn_csv_is_missing(&cell)) return on_missing(c, k, L, col, w);
    if (L->role[col] == ROLE_LABEL) return on_class_name(c, k, L, col, &cell, w);
    return on_category(c, k, L, opt, col, &cell, R, w);
}

/* A number cell that did not parse (r < 0): missing, a string where the
 * scan will find one (retry), or an error. */
static mynn_status bad_number(const csv_ctx *c, const csv_cursor *k, const csv_layout *L,
                              int col, const char **q, int *last, csv_rows *R, csv_row *w)
{
    const char *p = *q;
    csv_cell cell;
    int more = mn_csv_take_cell(c, &p, k->le, &cell);
    int have = mn_csv_count_cells(c, k->ls, k->le);
    if (have != L->n_cols) return err_columns(c, k->line, have, L->n_cols);
    int missing = mn_csv_is_missing(&cell);
    if (missing && L->missing != MYNN_MISSING_ERROR) {
        *q = p;
        *last = !more;
        return on_missing(c, k, L, col, w);
    }
    if (L->own && ((L->learn_auto && L->role[col] == ROLE_INPUT) || L->role[col] == ROLE_LABEL) &&
        !missing && !mn_csv_is_number(cell.cs, cell.ce)) {
        R->retry = 1;
        return MYNN_OK;
    }
    if (missing && cell.ce > cell.cs)
        return err_missing(c, k, col, "set missing to drop, mean or median");
    return err_cell(c, k->line, k->ls, k->le, col);
}

static int is_text_col(const csv_layout *L, int col)
{
    int r = L->role[col];
    return r == ROLE_SKIP || (r == ROLE_LABEL && L->enc->n_classes) ||
           (r == ROLE_INPUT && L->enc->cols[L->in_col[col]].n_cats);
}

/* Parse the current line into row R->n (kept unless dropped). */
static mynn_status csv_parse_row(const csv_ctx *c, const csv_cursor *k, const csv_layout *L,
                                 const mynn_load_options *opt, csv_rows *R)
{
    csv_row w = {R->x + R->n * (size_t)L->n_in, R->yt ? R->yt + R->n * (size_t)L->n_out : NULL,
                 0, 0};
    int col = 0, last = 0;
    const char *q = k->ls;
    mynn_status s;
    for (; !last; col++) {
        if (col >= L->n_cols) return err_columns(c, k->line, mn_csv_count_cells(c, k->ls, k->le), L->n_cols);
        if (is_text_col(L, col)) {
            if ((s = text_cell(c, k, L, opt, col, &q, &last, R, &w))) return s;
            continue;
        }
        float v = 0.0f;
        double dv = 0.0;
        int r = csv_number_cell(c, &q, k->le, L->role[col] == ROLE_LABEL, &v, &dv, &last);
        if (r < 0) {
            if ((s = bad_number(c, k, L, col, &q, &last, R, &w)) || R->retry) return s;
        } else if (r == 1 && isnan(v) && L->missing != MYNN_MISSING_ERROR) {
            if ((s = on_missing(c, k, L, col, &w))) return s;
        } else if (r == 1) {
            if (!opt->skip_nonfinite) {
                const char *cs;
                int n;
                mn_csv_cell_text(c, k->ls, k->le, col, &cs, &n);
                return mn_error(MYNN_ERR_NUMERIC,
                                "%s:%ld: column %d: non-finite value \"%.*s\" (use "
                                "skip_nonfinite to drop such rows)",
                                c->path, k->line, col + 1, n, cs);
            }
            w.skip = 1;
        } else if (L->role[col] == ROLE_INPUT) {
            w.xr[L->offset[L->in_col[col]]] = v;
        } else if (L->role[col] == ROLE_TARGET) {
            w.yr[col - L->tgt0] = v;
        } else if ((s = csv_class_index(c, k, col, dv, opt->n_classes, &w.lab))) {
            return s;
        }
    }
    if (col != L->n_cols) return err_columns(c, k->line, col, L->n_cols);
    if (w.skip) return MYNN_OK;
    if (R->labels) {
        R->labels[R->n] = w.lab;
        if (w.lab > R->max_label) R->max_label = w.lab;
    }
    R->n++;
    return MYNN_OK;
}

/* Every row from the cursor's line on. */
static mynn_status csv_parse_rows(const csv_ctx *c, csv_cursor k, const csv_layout *L,
                                  const mynn_load_options *opt, csv_rows *R)
{
    mynn_status s = csv_rows_alloc(c, L, k.ls, k.end, R);
    do {
        if (!s) s = csv_parse_row(c, &k, L, opt, R);
    } while (!s && !R->retry && mn_csv_next_line(c, &k));
    return s;
}

/* ---- imputation and the dataset ------------------------------------------ */

static int float_cmp(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Learning mean/median: every numeric input column's fill, written over
 * the NaN left for its missing cells.  tmp holds R->n floats. */
static mynn_status csv_impute(const csv_ctx *c, csv_layout *L, const mynn_load_options *opt,
                              csv_rows *R)
{
    float *tmp = mn_calloc(R->n, sizeof(float), "CSV median");
    if (!tmp) return MYNN_ERR_NOMEM;
    mynn_status s = MYNN_OK;
    for (int j = 0; !s && j < L->own->n_cols; j++) {
        mn_enc_col *ec = &L->own->cols[j];
        if (ec->n_cats) continue;
        const size_t w = (size_t)L->n_in;
        float *x = R->x + L->offset[j];
        size_t m = 0;
        double sum = 0;
        for (size_t i = 0; i < R->n; i++)
            if (!isnan(x[i * w])) sum += tmp[m++] = x[i * w];
        if (m == 0) {
            int col = 0;
            while (L->in_col[col] != j) col++;
            s = mn_error(MYNN_ERR_FORMAT, "%s: column %d: every value is missing", c->path, col + 1);
            break;
        }
        if (opt->missing == MYNN_MISSING_MEAN) {
            ec->fill = (float)(sum / (double)m);
        } else {
            qsort(tmp, m, sizeof *tmp, float_cmp);
            ec->fill = m % 2 ? tmp[m / 2] : (float)(((double)tmp[m / 2 - 1] + tmp[m / 2]) / 2);
        }
        ec->has_fill = 1;
        for (size_t i = 0; i < R->n; i++)
            if (isnan(x[i * w])) x[i * w] = ec->fill;
    }
    free(tmp);
    return s;
}

/* Move the parsed rows into ds: inputs, then one-hot targets from the
 * labels or the regression targets; the encoding learned, if it does
 * anything. */
static mynn_status csv_build(const csv_ctx *c, csv_layout *L, const mynn_load_options *opt,
                             csv_rows *R, mynn_dataset *ds)
{
    ds->n = (int)R->n;
    ds->n_inputs = L->n_in;
    ds->x = R->x;
    R->x = NULL;
    if (R->labels) {
        int named = L->enc->n_classes;
        int nc = opt->n_classes > 0 ? opt->n_classes : named ? named : R->max_label + 1;
        if (named > nc)
            return mn_error(MYNN_ERR_FORMAT, "%s: %d class names, more than n_classes %d", c->path,
                            named, nc);
        float *y = mn_calloc(R->n * (size_t)nc, sizeof(float), "CSV one-hot targets");
        if (!y) return MYNN_ERR_NOMEM;
        for (size_t i = 0; i < R->n; i++) y[i * (size_t)nc + (size_t)R->labels[i]] = 1.0f;
        ds->y = y;
        ds->labels = R->labels;
        R->labels = NULL;
        ds->n_classes = nc;
        ds->n_outputs = nc;
    } else if (R->yt) {
        ds->y = R->yt;
        R->yt = NULL;
        ds->n_outputs = L->n_out;
    }
    ds->n_unseen = R->n_unseen;
    memcpy(ds->unseen_first, R->unseen_first, sizeof ds->unseen_first);
    if (L->own && !mn_encoding_trivial(L->own)) {
        L->own->missing = opt->missing;
        ds->encoding = L->own;
        L->own = NULL;
    }
    return MYNN_OK;
}

/* Encoded input offsets of the input columns, and their total. */
static mynn_status csv_offsets(const csv_ctx *c, csv_layout *L)
{
    long w = 0;
    for (int j = 0; j < L->enc->n_cols; j++) {
        L->offset[j] = (int)w;
        w += L->enc->cols[j].n_cats ? L->enc->cols[j].n_cats : 1;
        if (w > (1L << 24))
            return mn_error(MYNN_ERR_NOMEM, "%s: more than %d encoded inputs", c->path, 1 << 24);
    }
    L->n_in = (int)w;
    return MYNN_OK;
}

/* Parse with the encoding as planned; learning in auto mode, strings found
 * where numbers were assumed make a scan and a second parse. */
static mynn_status csv_parse_all(const csv_ctx *c, const csv_cursor *k, csv_layout *L,
                                 const mynn_load_options *opt, unsigned char *listed, csv_rows *R)
{
    mynn_status s = MYNN_OK;
    int scanned = 0;
    if (L->own) {
        for (int i = 0; i < L->n_cols && !scanned; i++) scanned = listed[i];
        size_t rows = 1;
        for (const char *q = k->ls; (q = memchr(q, '\n', (size_t)(k->end - q))) != NULL; q++) rows++;
        if (scanned) s = mn_csv_scan(c, k, L, listed, rows);
        for (;;) {
            if (!s) s = csv_offsets(c, L);
            if (!s) s = csv_parse_rows(c, *k, L, opt, R);
            if (s || !R->retry) break;
            if (scanned) return mn_error(MYNN_ERR_STATE, "%s: the CSV scan missed a string", c->path);
            csv_rows_free(R);
            memset(R, 0, sizeof *R);
            s = mn_csv_scan(c, k, L, listed, rows);
            scanned = 1;
        }
    } else {
        s = csv_offsets(c, L);
        if (!s) s = csv_parse_rows(c, *k, L, opt, R);
    }
    return s;
}

mynn_status mn_load_csv(mynn_dataset **out, const char *path, const char *buf, size_t len,
                        const mynn_load_options *opt)
{
    *out = NULL;
    csv_ctx c = {path, opt->separator, 0};
    const char *p = buf, *end = buf + len;
    if (len >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
        (unsigned char)p[2] == 0xBF)
        p += 3;

    /* The first non-blank line (blanks: spaces and tabs, whatever the
     * separator), then again with the separator's idea of blanks. */
    csv_cursor k = {p, end, NULL, NULL, NULL, 0};
    const csv_ctx blank = {path, ',', 0};
    if (!mn_csv_next_line(&blank, &k)) return mn_error(MYNN_ERR_FORMAT, "%s: empty file", path);
    mynn_status s = csv_separator(&c, &k);
    if (s) return s;
    k.next = mn_csv_line_bounds(&c, k.start, end, &k.le);
    k.ls = k.start;
    while (k.ls < k.le && mn_csv_is_blank(&c, *k.ls)) k.ls++;

    csv_layout L = {mn_csv_count_cells(&c, k.ls, k.le), 0, 0, -1, -1, 0, NULL, NULL, NULL, NULL,
                    opt->encoding, 0, opt->missing};
    /* A model that imputes keeps imputing; dropping rows must be asked for. */
    if (L.enc && L.missing == MYNN_MISSING_ERROR &&
        (L.enc->missing == MYNN_MISSING_MEAN || L.enc->missing == MYNN_MISSING_MEDIAN))
        L.missing = L.enc->missing;
    if (csv_is_header(&c, &k, opt->header) && !mn_csv_next_line(&c, &k))
        return mn_error(MYNN_ERR_FORMAT, "%s: no data rows after the header line", path);
    unsigned char *listed = NULL;
    csv_rows R;
    memset(&R, 0, sizeof R);
    mynn_dataset *ds = NULL;
    s = csv_roles(&c, opt, &L);
    if (!s && !L.enc) {
        if (!(L.own = mn_encoding_new(L.n_in))) s = MYNN_ERR_NOMEM;
        L.enc = L.own;
    }
    if (!s && !(listed = calloc((size_t)L.n_cols, 1))) s = mn_error(MYNN_ERR_NOMEM, "%s: out of memory", path);
    if (!s && L.own) s = csv_plan(&c, opt, &L, listed);
    if (!s) s = csv_parse_all(&c, &k, &L, opt, listed, &R);
    if (!s && R.n == 0)
        s = mn_error(MYNN_ERR_FORMAT, "%s: no data rows left after dropping %s rows", path,
                     L.missing == MYNN_MISSING_DROP ? "non-finite or missing-value"
                                                       : "non-finite");
    if (!s && L.own && (opt->missing == MYNN_MISSING_MEAN || opt->missing == MYNN_MISSING_MEDIAN))
        s = csv_impute(&c, &L, opt, &R);
    if (!s && !(ds = mn_dataset_new())) s = mn_error(MYNN_ERR_NOMEM, "%s: out of memory", path);
    if (!s) s = csv_build(&c, &L, opt, &R, ds);
    csv_rows_free(&R);
    free(listed);
    csv_layout_free(&L);
    if (s) {
        mynn_dataset_free(ds);
        return s;
    }
    *out = ds;
    return MYNN_OK;
}
