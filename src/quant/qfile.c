/* int8 model files (layout in mynn.h, mynn_qnet_save), through the
 * generic safetensors reader and writer (io/safetensors.h). */
#include "qnet.h"
#include "core/core.h"
#include "core/numparse.h"
#include "io/safetensors.h"
#include "network/network.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QFILE_VERSION "1"

/* The float tensors of the nodes that run in float (a batch norm that
 * did not fold): every tensor their kind has. */
static size_t n_float_tensors(const mynn_qnet *q)
{
    size_t n = 0;
    mn_tensor_desc d[MN_MAX_TENSORS];
    for (int i = 0; i < q->net->n_layers; i++)
        if (!q->q[i]) n += (size_t)mn_layer_tensors(&q->net->layers[i], d);
    return n;
}

/* A quantised node's weight shape, PyTorch's (dense [out, in], conv
 * [F, C, kh, kw] or conv1d [F, C, k]), as the float file stores it. */
static int weight_dims(const mn_layer *l, uint64_t dims[4])
{
    mn_tensor_desc d[MN_MAX_TENSORS];
    mn_layer_tensors(l, d);
    for (int j = 0; j < d[0].rank; j++) dims[j] = (uint64_t)d[0].dims[j];
    return d[0].rank;
}

static int n_quantised(const mynn_qnet *q)
{
    int n = 0;
    for (int i = 0; i < q->net->n_layers; i++) n += q->q[i] != NULL;
    return n;
}

/* Keys this file writes itself; the net's own metadata may not override. */
static int reserved(const char *k)
{
    static const char *const r[] = {"format", "format_version", "n_inputs", "input_shape", "layers",
                                    "loss", "normalize", "quantization", "calibration"};
    for (size_t i = 0; i < sizeof r / sizeof *r; i++)
        if (!strcmp(k, r[i])) return 1;
    return 0;
}

/* Non-zero if the n values are all equal, bit for bit. */
static int uniform(const float *v, int n)
{
    for (int i = 1; i < n; i++)
        if (memcmp(&v[i], &v[0], sizeof *v)) return 0;
    return 1;
}

static void tensor_name(char *buf, size_t n, int layer, const char *what)
{
    snprintf(buf, n, "layers.%d.%s", layer, what);
}

mynn_status mynn_qnet_save(const mynn_qnet *q, const char *path)
{
    if (!q || !path) return mn_error(MYNN_ERR_NULL, "mynn_qnet_save: NULL argument");
    const mynn_net *net = q->net;
    int with_input = net->shift && net->scale;
    size_t nt = 4 * (size_t)n_quantised(q) + n_float_tensors(q) + 2, nm = 0, k = 0;
    mn_st_tensor *t = calloc(nt, sizeof *t);
    const char **meta = calloc(2 * (9 + (size_t)net->n_meta), sizeof *meta);
    char (*names)[48] = calloc(nt, sizeof *names);
    char *spec = mn_net_spec(net), nin[16];
    if (!t || !meta || !names || !spec) {
        free(t);
        free(meta);
        free(names);
        free(spec);
        return mn_error(MYNN_ERR_NOMEM, "mynn_qnet_save: out of memory");
    }
    snprintf(nin, sizeof nin, "%d", net->n_inputs);
    const char *fixed[] = {"format", MN_QNET_FORMAT, "format_version", QFILE_VERSION,
                           "n_inputs", nin, "layers", spec, "loss", mynn_loss_name(net->loss),
                           "normalize", with_input ? (net->transform_kind[0] ? net->transform_kind : "custom") : "none",
                           "quantization", MN_QNET_QUANTIZATION, "calibration", q->calibration};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) meta[nm++] = fixed[i];
    char shape[48];
    if (net->in_dims) {
        if (net->in_dims == 1) snprintf(shape, sizeof shape, "%dx%d", net->in_shape.c, net->in_shape.w);
        else snprintf(shape, sizeof shape, "%dx%dx%d", net->in_shape.c, net->in_shape.h, net->in_shape.w);
        meta[nm++] = "input_shape";
        meta[nm++] = shape;
    }
    for (int i = 0; i < net->n_meta; i++)
        if (!reserved(net->meta_key[i])) {
            meta[nm++] = net->meta_key[i];
            meta[nm++] = net->meta_val[i];
        }
    for (int i = 0; i < net->n_layers; i++) {
        const mn_qweights *l = q->q[i];
        static const char *const what[] = {"weight", "weight_scale", "bias", "input_scale"};
        for (int w = 0; l && w < 4; w++, k++) {
            tensor_name(names[k], sizeof names[k], i, what[w]);
            t[k].name = names[k];
            t[k].dtype = w == 0 ? MN_ST_I8 : MN_ST_F32;
            t[k].rank = w == 0 ? weight_dims(&net->layers[i], t[k].dims) : 1;
            if (w) t[k].dims[0] = w == 3 ? 1 : (uint64_t)l->n_out;
            t[k].data = w == 0 ? (const void *)l->w : w == 1 ? (const void *)l->w_scale
                        : w == 2 ? (const void *)l->bias : (const void *)&l->in_scale;
        }
    }
    for (int i = 0; i < net->n_layers; i++) {   /* a node in float: its float tensors */
        const mn_layer *l = &net->layers[i];
        mn_tensor_desc d[MN_MAX_TENSORS];
        if (q->q[i]) continue;
        for (int j = 0; j < mn_layer_tensors(l, d); j++, k++) {
            tensor_name(names[k], sizeof names[k], i, d[j].name);
            t[k] = (mn_st_tensor){names[k], MN_ST_F32, 1, {(uint64_t)d[j].count},
                                  (d[j].buffer ? l->buf : l->param) + d[j].offset};
        }
    }
    if (with_input)   /* one value when every input has the same (a "scale" transform) */
        for (int j = 0; j < 2; j++, k++)
            t[k] = (mn_st_tensor){j ? "input.scale" : "input.shift", MN_ST_F32, 1,
                                  {uniform(j ? net->scale : net->shift, net->n_inputs) ? 1
                                                                                    : (uint64_t)net->n_inputs},
                                  j ? net->scale : net->shift};
    mynn_status s = mn_st_write(path, meta, nm / 2, t, k);
    free(t);
    free(meta);
    free(names);
    free(spec);
    return s;
}

int mynn_file_is_int8(const char *path)
{
    mn_st_file *f = NULL;
    if (!path || mn_st_open(&f, path, 0) != MYNN_OK) return 0;
    const char *fmt = mn_st_meta(f, "format");
    int yes = fmt && !strcmp(fmt, MN_QNET_FORMAT);
    mn_st_close(f);
    return yes;
}

#define QFAIL(...) mn_error(MYNN_ERR_FORMAT, __VA_ARGS__)

/* n finite values, each > 0 when positive is set. */
static mynn_status check_values(const char *path, const char *name, const float *v, size_t n,
                                int positive)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]) || (positive && !(v[i] > 0.0f)))
            return QFAIL("%s: tensor \"%s\": value %zu is %s", path, name, i,
                         positive ? "not a finite positive scale" : "not finite");
    return MYNN_OK;
}

static mynn_status read_layer(mn_st_file *f, const char *path, const mn_layer *fl, mn_qweights *l)
{
    char name[48];
    uint64_t dw[4], d1 = (uint64_t)l->n_out, one = 1;
    int rank = weight_dims(fl, dw);
    const int id = fl->id;
    tensor_name(name, sizeof name, id, "weight");
    mynn_status s = mn_st_read(f, name, MN_ST_I8, rank, dw, l->w);
    for (size_t i = 0; !s && i < (size_t)l->n_out * l->n_in; i++)
        if (l->w[i] == -128)
            s = QFAIL("%s: tensor \"%s\": value %zu is -128, outside the symmetric range", path, name, i);
    tensor_name(name, sizeof name, id, "weight_scale");
    if (!s) s = mn_st_read(f, name, MN_ST_F32, 1, &d1, l->w_scale);
    if (!s) s = check_values(path, name, l->w_scale, (size_t)l->n_out, 1);
    tensor_name(name, sizeof name, id, "bias");
    if (!s) s = mn_st_read(f, name, MN_ST_F32, 1, &d1, l->bias);
    if (!s) s = check_values(path, name, l->bias, (size_t)l->n_out, 0);
    tensor_name(name, sizeof name, id, "input_scale");
    if (!s) s = mn_st_read(f, name, MN_ST_F32, 1, &one, &l->in_scale);
    if (!s) s = check_values(path, name, &l->in_scale, 1, 1);
    return s;
}

/* A float node's tensors (finite, and as its kind accepts them: a batch
 * norm's variance >= 0, as training leaves it). */
static mynn_status read_float_layer(mn_st_file *f, const char *path, mn_layer *l)
{
    mn_tensor_desc d[MN_MAX_TENSORS];
    mynn_status s = MYNN_OK;
    for (int j = 0; j < mn_layer_tensors(l, d) && !s; j++) {
        char name[48];
        uint64_t n = (uint64_t)d[j].count;
        float *v = (d[j].buffer ? l->buf : l->param) + d[j].offset;
        tensor_name(name, sizeof name, l->id, d[j].name);
        s = mn_st_read(f, name, MN_ST_F32, 1, &n, v);
        if (!s) s = check_values(path, name, v, d[j].count, 0);
    }
    if (!s && l->kind->check_values) {
        char why[160];
        if (l->kind->check_values(l, why, sizeof why)) s = QFAIL("%s: layer %d (%s): %s", path, l->id, l->kind->name, why);
    }
    return s;
}

/* n_inputs, input_shape, layers and loss from the metadata: the float view. */
static mynn_status read_shape(mn_st_file *f, const char *path, mynn_net **net)
{
    const char *ver = mn_st_meta(f, "format_version"), *ni = mn_st_meta(f, "n_inputs");
    const char *spec = mn_st_meta(f, "layers"), *ln = mn_st_meta(f, "loss");
    if (!ver || strcmp(ver, QFILE_VERSION))
        return QFAIL("%s: int8 format_version \"%.16s\" (this build reads %s)", path,
                     ver ? ver : "", QFILE_VERSION);
    if (!ni || !spec || !ln) return QFAIL("%s: metadata lacks n_inputs, layers or loss", path);
    long n = 0;
    size_t len = strlen(ni);
    int ok = len >= 1 && len <= 8 && ni[0] != '0';
    for (size_t i = 0; ok && i < len; i++) {
        ok = ni[i] >= '0' && ni[i] <= '9';
        n = n * 10 + (ni[i] - '0');
    }
    if (!ok || n > (1L << 24)) return QFAIL("%s: metadata n_inputs \"%.32s\" is not a count", path, ni);
    mynn_loss loss;
    if (mynn_loss_from_name(ln, &loss)) return QFAIL("%s: metadata loss \"%.32s\" is unknown", path, ln);
    const char *is = mn_st_meta(f, "input_shape");
    int shape[3] = {0, 0, 0}, dims = 0;
    if (is && mn_parse_shape(is, shape, &dims) != 0)
        return QFAIL("%s: metadata input_shape \"%.32s\" is not CxHxW or CxL", path, is);
    if (is && (long)shape[0] * shape[1] * shape[2] != n)
        return QFAIL("%s: metadata input_shape \"%.32s\" is not %ld inputs", path, is, n);
    mynn_status s = mn_qnet_shape(net, (int)n, is ? dims : 0, shape, spec, loss);
    if (s) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s", mynn_last_error());
        return mn_error(s == MYNN_ERR_NOMEM ? s : MYNN_ERR_FORMAT, "%s: metadata layers \"%.80s\": %s",
                        path, spec, msg);
    }
    const mn_layer *last = &(*net)->layers[(*net)->n_layers - 1];
    if (last->kind->id != MYNN_LAYER_DENSE) s = QFAIL("%s: the last layer must be dense", path);
    if (!s && mn_qnet_check_layers(*net, path)) s = MYNN_ERR_FORMAT;
    if (!s) return MYNN_OK;
    mynn_free(*net);
    *net = NULL;
    return s;
}

/* An input transform vector: [n] values, or [1] for all n alike. */
static mynn_status read_input_vec(mn_st_file *f, const char *path, const char *name, uint64_t n,
                                  float *v)
{
    uint64_t one = 1;
    if (mn_st_read(f, name, MN_ST_F32, 1, &n, v) != MYNN_OK) {
        if (!mn_st_has(f, name)) return QFAIL("%s: no tensor \"%s\"", path, name);
        if (mn_st_read(f, name, MN_ST_F32, 1, &one, v) != MYNN_OK)
            return QFAIL("%s: tensor \"%s\" must be F32 of shape [%llu] or [1]", path, name,
                         (unsigned long long)n);
        for (uint64_t i = 1; i < n; i++) v[i] = v[0];
    }
    return check_values(path, name, v, (size_t)n, 0);
}

static mynn_status read_transform(mn_st_file *f, const char *path, mynn_net *net)
{
    const char *norm = mn_st_meta(f, "normalize");
    if (!norm || !strcmp(norm, "none")) return MYNN_OK;
    uint64_t d = (uint64_t)net->n_inputs;
    float *shift = mn_calloc((size_t)d, sizeof(float), "input transform");
    float *scale = mn_calloc((size_t)d, sizeof(float), "input transform");
    mynn_status s = shift && scale ? MYNN_OK : MYNN_ERR_NOMEM;
    if (!s) s = read_input_vec(f, path, "input.shift", d, shift);
    if (!s) s = read_input_vec(f, path, "input.scale", d, scale);
    if (!s) s = mynn_set_input_transform(net, norm, shift, scale);
    free(shift);
    free(scale);
    return s;
}

mynn_status mynn_qnet_load(mynn_qnet **out, const char *path, int max_batch)
{
    if (!out || !path) return mn_error(MYNN_ERR_NULL, "mynn_qnet_load: NULL argument");
    *out = NULL;
    if (max_batch < 1 || max_batch > (1 << 24))
        return mn_error(MYNN_ERR_ARG, "mynn_qnet_load: max_batch must be in 1..%d", 1 << 24);
    mn_st_file *f = NULL;
    mynn_status s = mn_st_open(&f, path, 0);
    if (s) return s;
    const char *fmt = mn_st_meta(f, "format");
    mynn_net *net = NULL;
    mynn_qnet *q = NULL;
    if (!fmt || strcmp(fmt, MN_QNET_FORMAT)) s = QFAIL("%s: not an int8 model (format=%s metadata)", path, MN_QNET_FORMAT);
    if (!s) s = read_shape(f, path, &net);
    if (!s) s = read_transform(f, path, net);
    if (!s) s = mn_qnet_alloc(&q, net);
    if (s) mynn_free(net);   /* q owns it once allocated */
    net = NULL;
    for (int i = 0; !s && i < q->net->n_layers; i++)
        s = q->q[i] ? read_layer(f, path, &q->net->layers[i], q->q[i]) : read_float_layer(f, path, &q->net->layers[i]);
    const char *extra = s ? NULL : mn_st_unread(f);
    if (extra) s = QFAIL("%s: unexpected tensor \"%.64s\"", path, extra);
    const char *cal = mn_st_meta(f, "calibration");
    if (!s && cal) snprintf(q->calibration, sizeof q->calibration, "%s", cal);
    /* the metadata, for mynn_metadata on the float view */
    const char *keys[] = {"format", "format_version", "layers", "quantization", "calibration",
                          "description", "created_by", "dataset", "normalize"};
    for (size_t i = 0; !s && i < sizeof keys / sizeof *keys; i++)
        if (mn_st_meta(f, keys[i])) s = mn_net_set_meta(q->net, keys[i], mn_st_meta(f, keys[i]));
    if (!s) s = mn_qnet_finish(q, max_batch);
    mn_st_close(f);
    if (s) {
        mynn_qnet_free(q);
        return s;
    }
    *out = q;
    return MYNN_OK;
}
