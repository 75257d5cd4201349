/* Input transforms computed from training inputs (what mynn train's
 * --normalize does), and reading the transform back. */
#include "network.h"
#include "core/core.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* scale: one global min/max over every value, mapped to [0, 1]. */
static void scale_from(const float *x, size_t count, int d, float *shift, float *scale)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < count; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
    }
    double sc = hi > lo ? 1.0 / (hi - lo) : 1.0;
    for (int j = 0; j < d; j++) {
        shift[j] = (float)lo;
        scale[j] = (float)sc;
    }
}

/* standard: per-feature mean and population standard deviation (in double,
 * summed in sample order so every caller gets the same bits). */
static mynn_status standard_from(const float *x, size_t n, int d, float *shift, float *scale)
{
    double *mean = calloc((size_t)d, sizeof *mean), *var = calloc((size_t)d, sizeof *var);
    if (!mean || !var) {
        free(mean);
        free(var);
        return mn_error(MYNN_ERR_NOMEM, "out of memory computing the input transform");
    }
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mean[j] += x[i * d + j];
    for (int j = 0; j < d; j++) mean[j] /= (double)n;
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            double e = x[i * d + j] - mean[j];
            var[j] += e * e;
        }
    for (int j = 0; j < d; j++) {
        double sd = sqrt(var[j] / (double)n);
        shift[j] = (float)mean[j];
        scale[j] = sd > 1e-12 ? (float)(1.0 / sd) : 1.0f;
    }
    free(mean);
    free(var);
    return MYNN_OK;
}

mynn_status mynn_fit_input_transform(mynn_net *net, const char *kind, const float *x, int n)
{
    if (!net || !kind) return mn_error(MYNN_ERR_NULL, "mynn_fit_input_transform: NULL argument");
    if (!strcmp(kind, "none")) return mynn_set_input_transform(net, NULL, NULL, NULL);
    int is_scale = !strcmp(kind, "scale");
    if (!is_scale && strcmp(kind, "standard"))
        return mn_error(MYNN_ERR_ARG, "unknown input transform \"%s\" (scale, standard, none)", kind);
    if (!x) return mn_error(MYNN_ERR_NULL, "mynn_fit_input_transform: x is NULL");
    if (n < 1) return mn_error(MYNN_ERR_ARG, "mynn_fit_input_transform: n must be >= 1, got %d", n);
    int d = net->n_inputs;
    size_t count, at;
    if (mn_mul_size((size_t)n, (size_t)d, &count))
        return mn_error(MYNN_ERR_ARG, "mynn_fit_input_transform: %d samples are too many", n);
    if (mn_find_nonfinite(x, count, &at))
        return mn_error(MYNN_ERR_NUMERIC, "input transform: sample %zu, feature %zu is not finite",
                        at / (size_t)d, at % (size_t)d);
    float *shift = mn_calloc((size_t)d, sizeof *shift, "input transform");
    float *scale = mn_calloc((size_t)d, sizeof *scale, "input transform");
    mynn_status s = shift && scale ? MYNN_OK : MYNN_ERR_NOMEM;
    if (!s && is_scale) scale_from(x, count, d, shift, scale);
    else if (!s) s = standard_from(x, (size_t)n, d, shift, scale);
    if (!s) s = mynn_set_input_transform(net, kind, shift, scale);
    free(shift);
    free(scale);
    return s;
}

const char *mynn_get_input_transform(const mynn_net *net, const float **shift, const float **scale)
{
    int have = net && net->shift && net->scale;
    if (shift) *shift = have ? net->shift : NULL;
    if (scale) *scale = have ? net->scale : NULL;
    return have ? net->transform_kind : NULL;
}
