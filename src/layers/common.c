/* What the kinds share: sizes of the optional members, spec-item fields,
 * shape messages, tensor descriptors, ONNX initializers. */
#include "layer.h"
#include "core/core.h"
#include "emit/cgen.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- sizes ---------------------------------------------------------------- */

int mn_layer_tensors(const mn_layer *l, mn_tensor_desc d[MN_MAX_TENSORS])
{
    return l->kind->tensors ? l->kind->tensors(l, d) : 0;
}

static size_t tensor_floats(const mn_layer *l, int buffer)
{
    mn_tensor_desc d[MN_MAX_TENSORS];
    size_t n = 0;
    for (int k = 0, nd = mn_layer_tensors(l, d); k < nd; k++)
        if (d[k].buffer == buffer) n += d[k].count;
    return n;
}

size_t mn_layer_params(const mn_layer *l) { return tensor_floats(l, 0); }
size_t mn_layer_buffers(const mn_layer *l) { return tensor_floats(l, 1); }
size_t mn_layer_cache(const mn_layer *l) { return l->kind->cache_per_sample ? l->kind->cache_per_sample(l) : 0; }
size_t mn_layer_work(const mn_layer *l, int max_batch)
{
    return l->kind->work_size ? l->kind->work_size(l, max_batch) : 0;
}
int mn_layer_steps(const mn_layer *l) { return l->out_shape.t > 0 ? l->out_shape.t : 1; }
size_t mn_layer_aux(const mn_layer *l) { return l->kind->aux_size ? l->kind->aux_size(l) : 0; }

mn_tensor_desc mn_vec_desc(const char *name, size_t n, size_t offset, int buffer)
{
    mn_tensor_desc d = {name, 1, {n, 0, 0, 0}, n, offset, buffer};
    return d;
}

int mn_slide(int n, int k, int s, int p) { return n + 2 * p < k ? 0 : (n + 2 * p - k) / s + 1; }

size_t mn_shape_size(mn_shape s)
{
    size_t t, n;
    if (s.c < 0 || s.h < 0 || s.w < 0 || s.t < 0 || mn_mul_size((size_t)s.c, (size_t)s.h, &t) ||
        mn_mul_size(t, (size_t)s.w, &n) || (s.t && mn_mul_size(n, (size_t)s.t, &n)) || n > MN_MAX_UNITS)
        return 0;
    return n;
}

/* ---- spec items --------------------------------------------------------- */

mynn_status mn_item_error(const mn_item *it, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return mn_error(MYNN_ERR_ARG, "layer %d (%s): %s", it->index, it->kind, what);
}

int mn_item_int(const char *s, int lo, int hi, int *out)
{
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (e == s || *e || errno || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

int mn_item_pair(const char *s, int *a, int *b)
{
    const char *x = strchr(s, 'x');
    if (!x) {
        if (mn_item_int(s, 1, 4096, a)) return -1;
        *b = *a;
        return 0;
    }
    char first[16];
    size_t n = (size_t)(x - s);
    if (n == 0 || n >= sizeof first) return -1;
    memcpy(first, s, n);
    first[n] = '\0';
    return mn_item_int(first, 1, 4096, a) || mn_item_int(x + 1, 1, 4096, b) ? -1 : 0;
}

mynn_status mn_item_act(const mn_item *it, const char *s, mynn_activation *act)
{
    if (mynn_activation_from_name(s, act) == MYNN_OK) return MYNN_OK;
    return mn_item_error(it, "unknown activation \"%.40s\" (identity, sigmoid, tanh, relu, leaky_relu, "
                         "gelu, softmax)", s);
}

mynn_status mn_item_keys(const mn_item *it, const char *const *allowed)
{
    for (int k = 0; k < it->n_keys; k++) {
        int ok = 0;
        for (int a = 0; allowed && allowed[a]; a++) ok |= strcmp(it->key[k], allowed[a]) == 0;
        if (!ok) return mn_item_error(it, "unknown key \"%.32s\"", it->key[k]);
    }
    return MYNN_OK;
}

const char *mn_item_key(const mn_item *it, const char *key)
{
    for (int k = 0; k < it->n_keys; k++)
        if (strcmp(it->key[k], key) == 0) return it->val[k];
    return NULL;
}

mynn_status mn_item_bare(const mn_item *it)
{
    if (it->n_pos || it->n_keys) return mn_item_error(it, "takes no settings");
    return MYNN_OK;
}

/* ---- messages about shapes ------------------------------------------------- */

mynn_status mn_layer_error(const mn_layer *l, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return mn_error(MYNN_ERR_ARG, "layer %d (%s): %s", l->id + 1, l->kind->name, what);
}

mynn_status mn_shape_error(const mn_layer *l, mn_shape in, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const char *name = l->kind->name;
    char kind[24];
    if (l->dims == 1) {   /* the 1-D forms say so */
        snprintf(kind, sizeof kind, "%s1d", name);
        name = kind;
    }
    return mn_error(MYNN_ERR_SHAPE, "layer %d (%s): input %d×%d×%d %s", l->id + 1, name, in.c, in.h, in.w,
                    what);
}

/* ---- ONNX ------------------------------------------------------------------ */

mynn_status mn_onnx_spatial(const mn_layer *l, const char *prefix, const mn_ovalue *in)
{
    if (in->rank == l->dims + 2) return MYNN_OK;
    return mn_error(MYNN_ERR_ARG, "%s (%s) cannot be expressed in ONNX: its input is not %d-D here "
                    "(it follows a softmax over a spatial tensor, or an add or concat that flattened inputs "
                    "of different ranks)", prefix, l->kind->name, l->dims);
}

mynn_status mn_onnx_steps(mn_onnx *g, const mn_layer *l, const char *prefix, mn_ovalue *v)
{
    if (v->rank == 3) return MYNN_OK;
    const int64_t d[2] = {l->in_shape.t, (int64_t)l->in_shape.c * l->in_shape.h * l->in_shape.w};
    return mn_onnx_reshape(g, prefix, "steps", v, d, 2);
}

mynn_status mn_onnx_tensors(mn_onnx *g, const mn_layer *l, const char *prefix, char names[MN_MAX_TENSORS][MN_ONNX_NAME])
{
    mn_tensor_desc d[MN_MAX_TENSORS];
    int nd = mn_layer_tensors(l, d);
    for (int k = 0; k < nd; k++) {
        snprintf(names[k], MN_ONNX_NAME, "%s.%s", prefix, d[k].name);
        const float *data = (d[k].buffer ? l->buf : l->param) + d[k].offset;
        int64_t dims[4];
        for (int j = 0; j < 4; j++) dims[j] = (int64_t)d[k].dims[j];
        if (mn_onnx_init(g, names[k], data, d[k].count, d[k].rank, dims)) return MYNN_ERR_NOMEM;
    }
    return MYNN_OK;
}

/* ---- standalone C ---------------------------------------------------------- */

mynn_status mn_c_weights(mn_atomic *a, int id, const mn_layer *l, const mn_layer *bn)
{
    const size_t np = mn_layer_params(l), C = (size_t)l->out_shape.c, nw = np - C;
    const float *w = l->param;
    float *fw = NULL;
    if (bn) {
        fw = malloc(sizeof(float) * np);
        if (!fw) return mn_error(MYNN_ERR_NOMEM, "mynn_export_c: no memory to fold layer %d", id + 1);
        mn_bn_fold(l, bn, fw, fw + nw);
        w = fw;
        for (size_t i = 0; i < np; i++)
            if (!isfinite(fw[i])) {
                free(fw);
                return mn_error(MYNN_ERR_NUMERIC, "mynn_export_c: layer %d (%s) folded into layer "
                                "%d (%s) gives a weight or bias that is not a finite float", bn->id,
                                bn->kind->name, id, l->kind->name);
            }
    }
    char name[48];
    snprintf(name, sizeof name, "l%d_w", id);
    mynn_status s = mn_cgen_floats(a, name, w, nw);
    snprintf(name, sizeof name, "l%d_b", id);
    if (!s) s = mn_cgen_floats(a, name, w + nw, C);
    free(fw);
    return s;
}

mynn_status mn_c_qweights(mn_atomic *a, int id, const mn_qweights *q)
{
    char name[48];
    snprintf(name, sizeof name, "l%d_w", id);
    mynn_status s = mn_cgen_int8s(a, name, (const signed char *)q->w, (size_t)q->n_out * q->n_in);
    snprintf(name, sizeof name, "l%d_mult", id);
    if (!s) s = mn_cgen_floats(a, name, q->mult, (size_t)q->n_out);
    snprintf(name, sizeof name, "l%d_b", id);
    if (!s) s = mn_cgen_floats(a, name, q->bias, (size_t)q->n_out);
    return s;
}
