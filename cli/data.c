/* Loading data and models with one clear error line each. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Print the library's message, naming path when the message does not. */
static void file_error(const char *path)
{
    const char *m = mynn_last_error();
    /* The library's advice names its option; the tool's is a flag. */
    const char *opt = m ? strstr(m, "use skip_nonfinite") : NULL;
    if (opt && strstr(m, path)) {
        cli_error("%.*suse --skip-nonfinite%s", (int)(opt - m), m, opt + strlen("use skip_nonfinite"));
        return;
    }
    const char *mis = m ? strstr(m, "set missing to drop, mean or median") : NULL;
    if (mis && strstr(m, path)) {
        cli_error("%.*suse --missing drop, mean or median%s", (int)(mis - m), m,
                  mis + strlen("set missing to drop, mean or median"));
        return;
    }
    if (!m || !*m) cli_error("%s: cannot be read", path);
    else if (strstr(m, path)) cli_error("%s", m);
    else cli_error("%s: %s", path, m);
}

/* A missing or unreadable path gets the system's word for it. */
static int check_readable(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || access(path, R_OK) != 0) {
        cli_error("%s: %s", path, strerror(errno));
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cli_load_data(mynn_dataset **out, const char *path, const mynn_load_options *o, int which)
{
    *out = NULL;
    if (check_readable(path)) return CLI_FAIL;
    mynn_status s = mynn_dataset_load(out, path, o, which);
    if (s != MYNN_OK) {
        *out = NULL;
        file_error(path);
        /* a --shape that does not fit the data is a usage error */
        return s == MYNN_ERR_SHAPE && o && o->shape_dims ? CLI_USAGE : CLI_FAIL;
    }
    if ((*out)->n < 1) {
        mynn_dataset_free(*out);
        *out = NULL;
        cli_error("%s: no samples", path);
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cli_load_model(mynn_net **out, const char *path, int max_batch)
{
    *out = NULL;
    if (check_readable(path)) return CLI_FAIL;
    if (cli_is_dir(path)) {
        cli_error("%s: is a folder, not a model file", path);
        return CLI_FAIL;
    }
    if (mynn_load(out, path, max_batch) != MYNN_OK) {
        *out = NULL;
        file_error(path);
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cli_load_any_model(cli_model *m, const char *path, int max_batch)
{
    memset(m, 0, sizeof *m);
    if (check_readable(path)) return CLI_FAIL;
    if (cli_is_dir(path)) {
        cli_error("%s: is a folder, not a model file", path);
        return CLI_FAIL;
    }
    if (!mynn_file_is_int8(path)) {
        if (cli_load_model(&m->net, path, max_batch)) return CLI_FAIL;
        m->shape = m->net;
        return CLI_OK;
    }
    if (mynn_qnet_load(&m->q, path, max_batch) != MYNN_OK) {
        m->q = NULL;
        file_error(path);
        return CLI_FAIL;
    }
    m->shape = mynn_qnet_float(m->q);
    return CLI_OK;
}

mynn_status cli_model_predict(cli_model *m, const float *x, int n, float *y)
{
    return m->q ? mynn_qnet_predict(m->q, x, n, y) : mynn_predict(m->net, x, n, y);
}

mynn_status cli_model_evaluate(cli_model *m, const mynn_dataset *ds, mynn_metrics *mt, int *confusion)
{
    return m->q ? mynn_qnet_evaluate(m->q, ds, mt, confusion) : mynn_evaluate(m->net, ds, mt, confusion);
}

void cli_model_free(cli_model *m)
{
    mynn_free(m->net);
    mynn_qnet_free(m->q);
    memset(m, 0, sizeof *m);
}

int cli_check_writable(const char *opt, const char *path)
{
    if (cli_is_dir(path)) {
        cli_error("%s: \"%s\" is a folder", opt, path);
        return CLI_FAIL;
    }
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) strcpy(dir, ".");
    else if (slash == path) strcpy(dir, "/");
    else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir) {
            cli_error("%s: path too long", opt);
            return CLI_FAIL;
        }
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    if (!cli_is_dir(dir)) {
        cli_error("%s: \"%s\": folder %s does not exist", opt, path, dir);
        return CLI_FAIL;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        cli_error("%s: \"%s\": folder %s is not writable", opt, path, dir);
        return CLI_FAIL;
    }
    return CLI_OK;
}

void cli_shape_text(char *buf, size_t n, const int shape[3], int flat, int dims)
{
    if (flat) snprintf(buf, n, "(None, %d)", shape[0] * shape[1] * shape[2]);
    else if (dims == 1) snprintf(buf, n, "(None, %d, %d)", shape[0], shape[2]);
    else snprintf(buf, n, "(None, %d, %d, %d)", shape[0], shape[1], shape[2]);
}

static const char *cli_value_shape(const mynn_load_options *o)
{
    static char buf[48];
    if (o->shape_dims == 1) snprintf(buf, sizeof buf, "%dx%d", o->shape[0], o->shape[2]);
    else snprintf(buf, sizeof buf, "%dx%dx%d", o->shape[0], o->shape[1], o->shape[2]);
    return buf;
}

/* --shape given for a model's data must be the model's own input shape. */
static int check_model_shape(const char *path, const mynn_load_options *o, const mynn_net *net)
{
    int ms[3], md = mynn_input_shape(net, ms);
    if (!o->shape_dims) return CLI_OK;
    if (md == o->shape_dims && ms[0] == o->shape[0] && ms[1] == o->shape[1] && ms[2] == o->shape[2])
        return CLI_OK;
    char have[48];
    if (md == 0) snprintf(have, sizeof have, "%d (flat)", mynn_n_inputs(net));
    else if (md == 1) snprintf(have, sizeof have, "%dx%d", ms[0], ms[2]);
    else snprintf(have, sizeof have, "%dx%dx%d", ms[0], ms[1], ms[2]);
    cli_error("%s: --shape %s does not match the model's input shape %s", path,
              cli_value_shape(o), have);
    return CLI_USAGE;
}

mynn_activation cli_output_activation(const mynn_net *net)
{
    for (int i = mynn_n_layers(net) - 1; i >= 0; i--) {
        mynn_layer_info li;
        if (mynn_layer_get_info(net, i, &li) == MYNN_OK && li.kind == MYNN_LAYER_DENSE)
            return li.activation;
    }
    return MYNN_ACT_IDENTITY;
}

/* Drop columns [first, first + count) of ds->x in place. */
static void drop_columns(mynn_dataset *ds, int first, int count)
{
    int d = ds->n_inputs, nd = d - count;
    for (size_t r = 0; r < (size_t)ds->n; r++) {
        const float *src = ds->x + r * d;
        float *dst = ds->x + r * nd;
        int c = 0;
        for (int j = 0; j < d; j++)
            if (j < first || j >= first + count) dst[c++] = src[j];
    }
    ds->n_inputs = nd;
}

void cli_warn_unseen(const mynn_dataset *ds)
{
    if (ds->n_unseen > 0)
        cli_fprintf(stderr, "mynn: warning: %s encoded as all zeros (%d such cell%s; --strict "
                    "makes this an error)\n", ds->unseen_first, ds->n_unseen,
                    ds->n_unseen == 1 ? "" : "s");
}

int cli_model_encoding(const mynn_net *net, const char *path, mynn_encoding **enc)
{
    if (mynn_get_encoding(net, enc) == MYNN_OK) return CLI_OK;
    cli_lib_error("%s", path);
    return CLI_FAIL;
}

int cli_load_like(mynn_dataset **out, const char *path, const mynn_load_options *o,
                  const mynn_encoding *enc, int which)
{
    mynn_load_options opt = *o;
    opt.encoding = enc;
    if (!enc) opt.categorical = "none";
    if (cli_load_data(out, path, &opt, which)) return CLI_FAIL;
    cli_warn_unseen(*out);
    if ((*out)->encoding) {
        /* Learned here: class names where the model has class indices. */
        cli_error("%s: its label column holds class names, but the %s has class indices", path,
                  enc ? "model's encoding" : "model");
        mynn_dataset_free(*out);
        *out = NULL;
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cli_load_for_model(mynn_dataset **out, const char *path, const mynn_load_options *o,
                       const mynn_net *net, int need_labels)
{
    int d = mynn_n_inputs(net), k = mynn_n_outputs(net);
    mynn_load_options opt = *o;
    int which = cli_is_dir(path) ? 1 : 0;   /* a folder: its test (t10k) pair */
    int bad_shape = check_model_shape(path, o, net);
    if (bad_shape) return bad_shape;
    opt.shape_dims = 0;   /* checked against the model; label columns may still be in the data */
    mynn_encoding *enc = NULL;
    if (cli_model_encoding(net, "model", &enc)) return CLI_FAIL;
    if (enc) {
        if (need_labels && opt.n_targets == 0 && k >= 2 && opt.n_classes == 0) opt.n_classes = k;
        opt.no_labels = !need_labels;
        int rc = cli_load_like(out, path, &opt, enc, which);
        mynn_encoding_free(enc);
        if (rc) return rc;
        if ((*out)->n_inputs != d) {   /* not CSV: the encoding did not apply */
            cli_error("%s: %d inputs, but the model takes %d", path, (*out)->n_inputs, d);
            goto fail;
        }
        if (need_labels && (*out)->n_outputs != k) {
            cli_error("%s: %d label/target values per row, but the model has %d outputs", path,
                      (*out)->n_outputs, k);
            goto fail;
        }
        return CLI_OK;
    }
    if (need_labels) {
        if (opt.n_targets == 0 && k >= 2 && opt.n_classes == 0) opt.n_classes = k;
        if (cli_load_like(out, path, &opt, NULL, which)) return CLI_FAIL;
        mynn_dataset *ds = *out;
        if (ds->n_inputs != d) {
            cli_error("%s: %d input columns, but the model takes %d", path, ds->n_inputs, d);
            goto fail;
        }
        if (ds->n_outputs != k) {
            if (ds->n_classes > 0)
                cli_error("%s: %d classes, but the model has %d outputs", path, ds->n_classes, k);
            else
                cli_error("%s: %d target columns, but the model has %d outputs (see --targets)",
                          path, ds->n_outputs, k);
            goto fail;
        }
        return CLI_OK;
    }
    opt.no_labels = 1;
    if (cli_load_like(out, path, &opt, NULL, which)) return CLI_FAIL;
    mynn_dataset *ds = *out;
    int nlab = opt.n_targets > 0 ? opt.n_targets : 1;
    if (ds->n_inputs == d) return CLI_OK;
    if (ds->n_inputs == d + nlab) {
        int first = opt.label_column < 0 ? ds->n_inputs - nlab : opt.label_column;
        if (first + nlab > ds->n_inputs) {
            cli_error("%s: --label %d is outside its %d columns", path, opt.label_column,
                      ds->n_inputs);
            goto fail;
        }
        drop_columns(ds, first, nlab);
        return CLI_OK;
    }
    cli_error("%s: %d columns, but the model takes %d inputs (plus, optionally, %d label "
              "column%s)", path, ds->n_inputs, d, nlab, nlab > 1 ? "s" : "");
fail:
    mynn_dataset_free(*out);
    *out = NULL;
    return CLI_FAIL;
}
