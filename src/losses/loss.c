/* Costs.  For one output and one sample, MSE is the seed's (a - y)^2 with
 * derivative 2(a - y).  BCE after sigmoid and CE after softmax use the fused
 * gradient (a - y): the softmax/sigmoid Jacobian cancels the 1/a of the log,
 * so nothing divides by a probability that may round to 0. */
#include "loss.h"
#include "core/core.h"

#include <math.h>
#include <strings.h>

static const char *const g_names[MYNN_LOSS_COUNT] = {"mse", "bce", "ce"};

const char *mynn_loss_name(mynn_loss l)
{
    return (unsigned)l < MYNN_LOSS_COUNT ? g_names[l] : "unknown";
}

mynn_status mynn_loss_from_name(const char *name, mynn_loss *out)
{
    if (!name || !out) return mn_error(MYNN_ERR_NULL, "mynn_loss_from_name: NULL argument");
    for (int i = 0; i < MYNN_LOSS_COUNT; i++)
        if (strcasecmp(name, g_names[i]) == 0) { *out = (mynn_loss)i; return MYNN_OK; }
    if (!strcasecmp(name, "cross_entropy") || !strcasecmp(name, "crossentropy")) {
        *out = MYNN_LOSS_CE;
        return MYNN_OK;
    }
    if (!strcasecmp(name, "binary_cross_entropy")) { *out = MYNN_LOSS_BCE; return MYNN_OK; }
    if (!strcasecmp(name, "squared_error")) { *out = MYNN_LOSS_MSE; return MYNN_OK; }
    return mn_error(MYNN_ERR_ARG, "unknown loss \"%s\" (mse, bce, ce)", name);
}

mynn_status mn_loss_check(mynn_loss l, mynn_activation act)
{
    if (l == MYNN_LOSS_BCE && act != MYNN_ACT_SIGMOID)
        return mn_error(MYNN_ERR_ARG, "loss bce needs a sigmoid output layer, not %s",
                        mynn_activation_name(act));
    if (l == MYNN_LOSS_CE && act != MYNN_ACT_SOFTMAX)
        return mn_error(MYNN_ERR_ARG, "loss ce needs a softmax output layer, not %s",
                        mynn_activation_name(act));
    if ((unsigned)l >= MYNN_LOSS_COUNT) return mn_error(MYNN_ERR_ARG, "unknown loss %d", (int)l);
    return MYNN_OK;
}

int mn_loss_fused(mynn_loss l, mynn_activation act)
{
    return (l == MYNN_LOSS_BCE && act == MYNN_ACT_SIGMOID) ||
           (l == MYNN_LOSS_CE && act == MYNN_ACT_SOFTMAX);
}

/* PyTorch's BCELoss clamps each log at -100 so a saturated output costs a
 * large finite amount instead of infinity. */
static double clamped_log(double p) { return p > 0.0 ? fmax(log(p), -100.0) : -100.0; }

double mn_loss_value(mynn_loss l, mynn_activation out_act, const float *z, const float *a,
                     const float *y, int rows, int cols)
{
    size_t n = (size_t)rows * cols;
    double sum = 0.0;
    switch (l) {
    case MYNN_LOSS_MSE:
        for (size_t i = 0; i < n; i++) {
            double d = (double)a[i] - y[i];
            sum += d * d;
        }
        return sum / (double)n;
    case MYNN_LOSS_BCE:
        for (size_t i = 0; i < n; i++) {
            if (z && out_act == MYNN_ACT_SIGMOID) {
                /* -[y log σ(z) + (1-y) log(1-σ(z))] = max(z,0) - z y + log(1 + e^-|z|) */
                double zi = z[i];
                sum += fmax(zi, 0.0) - zi * y[i] + log1p(exp(-fabs(zi)));
            } else {
                sum -= y[i] * clamped_log(a[i]) + (1.0 - y[i]) * clamped_log(1.0 - a[i]);
            }
        }
        return sum / (double)n;
    case MYNN_LOSS_CE:
        for (int r = 0; r < rows; r++) {
            const float *ar = a + (size_t)r * cols, *yr = y + (size_t)r * cols;
            if (z && out_act == MYNN_ACT_SOFTMAX) {
                /* -Σ y_k log softmax(z)_k = Σ y_k (lse(z) - z_k) */
                const float *zr = z + (size_t)r * cols;
                double m = zr[0], s = 0.0;
                for (int k = 1; k < cols; k++) m = zr[k] > m ? zr[k] : m;
                for (int k = 0; k < cols; k++) s += exp(zr[k] - m);
                double lse = m + log(s);
                for (int k = 0; k < cols; k++) sum += yr[k] * (lse - zr[k]);
            } else {
                for (int k = 0; k < cols; k++) sum -= yr[k] * clamped_log(ar[k]);
            }
        }
        return sum / (double)rows;
    default:
        return NAN;
    }
}

double mn_loss_value_ids(const float *z, const float *a, const float *ids, int rows, int cols)
{
    double sum = 0.0;
    for (int r = 0; r < rows; r++) {
        const int id = (int)ids[r];
        if (z) {
            const float *zr = z + (size_t)r * cols;
            double m = zr[0], s = 0.0;
            for (int k = 1; k < cols; k++) m = zr[k] > m ? zr[k] : m;
            for (int k = 0; k < cols; k++) s += exp(zr[k] - m);
            sum += m + log(s) - zr[id];
        } else {
            sum -= clamped_log(a[(size_t)r * cols + id]);
        }
    }
    return sum / (double)rows;
}

void mn_loss_grad_ids(const float *a, const float *ids, int rows, int cols, float *g)
{
    const float k = 1.0f / (float)rows;
    for (int r = 0; r < rows; r++) {
        const float *ar = a + (size_t)r * cols;
        float *gr = g + (size_t)r * cols;
        for (int c = 0; c < cols; c++) gr[c] = k * ar[c];
        gr[(int)ids[r]] -= k;
    }
}

void mn_loss_grad(mynn_loss l, mynn_activation out_act, const float *a, const float *y,
                  int rows, int cols, float *g)
{
    size_t n = (size_t)rows * cols;
    if (l == MYNN_LOSS_MSE) {
        float k = 2.0f / (float)n;
        for (size_t i = 0; i < n; i++) g[i] = k * (a[i] - y[i]);
    } else if (mn_loss_fused(l, out_act)) {
        /* BCE averages over every output, CE over samples only. */
        float k = 1.0f / (float)(l == MYNN_LOSS_BCE ? n : (size_t)rows);
        for (size_t i = 0; i < n; i++) g[i] = k * (a[i] - y[i]);
    }
}

