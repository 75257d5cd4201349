/* Activations.  Sigmoid is evaluated in the form that never overflows exp();
 * softmax subtracts each row's maximum first, so large logits are safe. */
#include "activation.h"
#include "core/core.h"
#include "kernels/kernels.h"

#include <math.h>
#include <string.h>
#include <strings.h>

static const char *const g_names[MYNN_ACT_COUNT] = {
    "identity", "sigmoid", "tanh", "relu", "leaky_relu", "gelu", "softmax"};

const char *mynn_activation_name(mynn_activation a)
{
    return (unsigned)a < MYNN_ACT_COUNT ? g_names[a] : "unknown";
}

mynn_status mynn_activation_from_name(const char *name, mynn_activation *out)
{
    if (!name || !out) return mn_error(MYNN_ERR_NULL, "mynn_activation_from_name: NULL argument");
    for (int i = 0; i < MYNN_ACT_COUNT; i++)
        if (strcasecmp(name, g_names[i]) == 0) { *out = (mynn_activation)i; return MYNN_OK; }
    if (strcasecmp(name, "linear") == 0 || strcasecmp(name, "none") == 0) {
        *out = MYNN_ACT_IDENTITY;
        return MYNN_OK;
    }
    if (strcasecmp(name, "leaky") == 0 || strcasecmp(name, "leakyrelu") == 0) {
        *out = MYNN_ACT_LEAKY_RELU;
        return MYNN_OK;
    }
    return mn_error(MYNN_ERR_ARG,
                    "unknown activation \"%s\" (identity, sigmoid, tanh, relu, leaky_relu, gelu, softmax)", name);
}

static float sigmoid(float z)
{
    if (z >= 0.0f) return 1.0f / (1.0f + expf(-z));
    float e = expf(z);
    return e / (1.0f + e);
}

static float gelu(float z) { return 0.5f * z * (1.0f + erff(z * 0.70710678118654752f)); }

static float gelu_grad(float z)
{
    float cdf = 0.5f * (1.0f + erff(z * 0.70710678118654752f));
    float pdf = 0.39894228040143268f * expf(-0.5f * z * z);
    return cdf + z * pdf;
}

static void softmax_row(const float *z, float *y, int cols)
{
    float m = z[0];
    for (int j = 1; j < cols; j++) m = z[j] > m ? z[j] : m;
    float s = 0.0f;
    for (int j = 0; j < cols; j++) { y[j] = expf(z[j] - m); s += y[j]; }
    float inv = 1.0f / s;
    for (int j = 0; j < cols; j++) y[j] *= inv;
}

void mn_act_forward(mynn_activation a, const float *z, float *y, int rows, int cols)
{
    size_t n = (size_t)rows * cols;
    switch (a) {
    case MYNN_ACT_IDENTITY:
        if (y != z) memcpy(y, z, n * sizeof *y);
        break;
    case MYNN_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) y[i] = sigmoid(z[i]);
        break;
    case MYNN_ACT_TANH:
        for (size_t i = 0; i < n; i++) y[i] = tanhf(z[i]);
        break;
    case MYNN_ACT_RELU:
        for (size_t i = 0; i < n; i++) y[i] = z[i] > 0.0f ? z[i] : 0.0f;
        break;
    case MYNN_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) y[i] = z[i] > 0.0f ? z[i] : MN_LEAKY_SLOPE * z[i];
        break;
    case MYNN_ACT_GELU:
        for (size_t i = 0; i < n; i++) y[i] = gelu(z[i]);
        break;
    case MYNN_ACT_SOFTMAX:
        for (int r = 0; r < rows; r++) softmax_row(z + (size_t)r * cols, y + (size_t)r * cols, cols);
        break;
    default:
        break;
    }
}

void mn_act_backward(mynn_activation a, const float *z, const float *y, const float *dy,
                     float *dz, int rows, int cols)
{
    size_t n = (size_t)rows * cols;
    switch (a) {
    case MYNN_ACT_IDENTITY:
        if (dz != dy) memcpy(dz, dy, n * sizeof *dz);
        break;
    case MYNN_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) dz[i] = y[i] * (1.0f - y[i]) * dy[i];
        break;
    case MYNN_ACT_TANH:
        for (size_t i = 0; i < n; i++) dz[i] = (1.0f - y[i] * y[i]) * dy[i];
        break;
    case MYNN_ACT_RELU:
        /* dy read unconditionally, so the select vectorizes (a branch per
         * element mispredicts on a random mask); the same bits. */
        for (size_t i = 0; i < n; i++) {
            const float g = dy[i];
            dz[i] = z[i] > 0.0f ? g : 0.0f;
        }
        break;
    case MYNN_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) {
            const float g = dy[i];
            dz[i] = z[i] > 0.0f ? g : MN_LEAKY_SLOPE * g;
        }
        break;
    case MYNN_ACT_GELU:
        for (size_t i = 0; i < n; i++) dz[i] = gelu_grad(z[i]) * dy[i];
        break;
    case MYNN_ACT_SOFTMAX:
        for (int r = 0; r < rows; r++) {
            const float *yr = y + (size_t)r * cols, *dyr = dy + (size_t)r * cols;
            float *dzr = dz + (size_t)r * cols;
            float dot = 0.0f;
            for (int j = 0; j < cols; j++) dot += dyr[j] * yr[j];
            for (int j = 0; j < cols; j++) dzr[j] = yr[j] * (dyr[j] - dot);
        }
        break;
    default:
        break;
    }
}

/* Below this many values one thread is faster than waking another. */
#define PAR_MIN 16384

/* Element-wise activations are applied row by row right after the bias,
 * while the row is still in cache; softmax needs the whole biased row.
 * Rows are independent, so threads take contiguous blocks of them. */
void mn_act_forward_bias(mynn_activation a, float *z, const float *b, float *y, int rows, int cols)
{
    int nt = (size_t)rows * cols >= PAR_MIN ? mn_threads() : 1;
    MN_FOR_SHARE(rows, nt, lo_, hi_,
    for (int r = (int)lo_; r < (int)hi_; r++) {
        float *zr = z + (size_t)r * cols, *yr = y + (size_t)r * cols;
        for (int j = 0; j < cols; j++) zr[j] += b[j];
        mn_act_forward(a, zr, yr, 1, cols);
    });
}

/* Threads take blocks of columns, so each db[j] is summed over the rows in
 * the same order whatever the thread count: bit-identical results.  Softmax
 * couples a row's columns: one share holds them all. */
void mn_act_backward_bias(mynn_activation a, const float *z, const float *y, const float *dy,
                          float *dz, float *db, int rows, int cols)
{
    const int soft = a == MYNN_ACT_SOFTMAX;
    int nt = !soft && (size_t)rows * cols >= PAR_MIN && cols >= 32 ? mn_threads() : 1;
    MN_FOR_SHARE(soft ? 1 : (size_t)cols, nt, lo, hi, {
        int c0 = soft ? 0 : (int)lo, c1 = soft ? (hi > lo ? cols : 0) : (int)hi;
        for (int j = c0; j < c1; j++) db[j] = 0.0f;
        for (int r = 0; r < rows && c1 > c0; r++) {
            size_t o = (size_t)r * cols + (size_t)c0;
            mn_act_backward(a, z + o, y + o, dy + o, dz + o, 1, c1 - c0);
            for (int j = 0; j < c1 - c0; j++) db[c0 + j] += dz[o + j];
        }
    });
}
