/* The tests' double-precision reference network (ref_net.h). */
#include "ref_net.h"

#include <math.h>
#include <stdlib.h>


static double ref_act(mynn_activation a, double z)
{
    switch (a) {
    case MYNN_ACT_SIGMOID: return 1.0 / (1.0 + exp(-z));
    case MYNN_ACT_TANH: return tanh(z);
    case MYNN_ACT_RELU: return z > 0 ? z : 0;
    case MYNN_ACT_LEAKY_RELU: return z > 0 ? z : 0.01 * z;
    case MYNN_ACT_GELU: return 0.5 * z * (1.0 + erf(z / sqrt(2.0)));
    default: return z;
    }
}

static void ref_softmax(double *v, int k)
{
    double m = v[0], s = 0;
    for (int i = 1; i < k; i++) m = v[i] > m ? v[i] : m;
    for (int i = 0; i < k; i++) s += exp(v[i] - m);
    for (int i = 0; i < k; i++) v[i] = exp(v[i] - m) / s;
}

/* Node L on the batch: its inputs in[j] ([n][size of input j]) -> y. */
static void ref_node(const mynn_layer_info *L, const int *sizes, const double *p, const double *const *in, int n_in,
                     int n, double *y)
{
    const int C = L->in_shape[0], H = L->in_shape[1], W = L->in_shape[2];
    const int F = L->out_shape[0], OH = L->out_shape[1], OW = L->out_shape[2];
    const int nin = L->n_inputs, nout = L->n_outputs;
    const int kh = L->kernel[0], kw = L->kernel[1], sh = L->stride[0], sw = L->stride[1];
    const int ph = L->pad[0], pw = L->pad[1];
    for (int s = 0; s < n; s++) {
        const double *xs = in[0] + (size_t)s * nin;
        double *ys = y + (size_t)s * nout;
        switch (L->kind) {
        case MYNN_LAYER_DENSE:
            for (int o = 0; o < nout; o++) {
                double z = p[nout * nin + o];
                for (int j = 0; j < nin; j++) z += p[o * nin + j] * xs[j];
                ys[o] = z;
            }
            if (L->activation == MYNN_ACT_SOFTMAX) ref_softmax(ys, nout);
            else for (int o = 0; o < nout; o++) ys[o] = ref_act(L->activation, ys[o]);
            break;
        case MYNN_LAYER_CONV:
            for (int f = 0; f < F; f++)
                for (int oy = 0; oy < OH; oy++)
                    for (int ox = 0; ox < OW; ox++) {
                        double z = p[F * C * kh * kw + f];
                        for (int c = 0; c < C; c++)
                            for (int i = 0; i < kh; i++)
                                for (int j = 0; j < kw; j++) {
                                    int iy = oy * sh - ph + i, ix = ox * sw - pw + j;
                                    if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                    z += p[((f * C + c) * kh + i) * kw + j] * xs[(c * H + iy) * W + ix];
                                }
                        ys[(f * OH + oy) * OW + ox] = ref_act(L->activation, z);
                    }
            break;
        case MYNN_LAYER_MAXPOOL:
        case MYNN_LAYER_AVGPOOL:   /* padding: -inf for max, zeros counted for the mean */
            for (int c = 0; c < C; c++)
                for (int oy = 0; oy < OH; oy++)
                    for (int ox = 0; ox < OW; ox++) {
                        double m = -INFINITY, sum = 0;
                        for (int i = 0; i < kh; i++)
                            for (int j = 0; j < kw; j++) {
                                int iy = oy * sh - ph + i, ix = ox * sw - pw + j;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                double v = xs[(c * H + iy) * W + ix];
                                m = v > m ? v : m;
                                sum += v;
                            }
                        ys[(c * OH + oy) * OW + ox] = L->kind == MYNN_LAYER_MAXPOOL ? m : sum / (kh * kw);
                    }
            break;
        case MYNN_LAYER_GLOBAL_AVGPOOL:
            for (int c = 0; c < C; c++) {
                double sum = 0;
                for (int i = 0; i < H * W; i++) sum += xs[c * H * W + i];
                ys[c] = sum / (H * W);
            }
            break;
        case MYNN_LAYER_ACTIVATION:
            for (int j = 0; j < nout; j++) ys[j] = xs[j];
            if (L->activation == MYNN_ACT_SOFTMAX) ref_softmax(ys, nout);
            else for (int j = 0; j < nout; j++) ys[j] = ref_act(L->activation, ys[j]);
            break;
        case MYNN_LAYER_ADD:
            for (int j = 0; j < nout; j++) {
                double v = 0;
                for (int k = 0; k < n_in; k++) v += in[k][(size_t)s * nout + j];
                ys[j] = ref_act(L->activation, v);
            }
            break;
        case MYNN_LAYER_CONCAT:
            for (int k = 0, at = 0; k < n_in; k++) {
                for (int j = 0; j < sizes[k]; j++) ys[at + j] = in[k][(size_t)s * sizes[k] + j];
                at += sizes[k];
            }
            break;
        case MYNN_LAYER_BATCHNORM:
            break;   /* needs the whole batch: below */
        default:     /* flatten, dropout at rate 0 */
            for (int j = 0; j < nout; j++) ys[j] = xs[j];
        }
    }
    if (L->kind == MYNN_LAYER_BATCHNORM) {   /* training mode: batch statistics */
        const int S = H * W;
        const double m = (double)n * S;
        for (int c = 0; c < C; c++) {
            double mean = 0, var = 0;
            for (int s = 0; s < n; s++)
                for (int i = 0; i < S; i++) mean += in[0][(size_t)s * nin + c * S + i];
            mean /= m;
            for (int s = 0; s < n; s++)
                for (int i = 0; i < S; i++) {
                    double e = in[0][(size_t)s * nin + c * S + i] - mean;
                    var += e * e;
                }
            var /= m;
            for (int s = 0; s < n; s++)
                for (int i = 0; i < S; i++) {
                    size_t o = (size_t)s * nin + c * S + i;
                    y[o] = p[c] * (in[0][o] - mean) / sqrt(var + 1e-5) + p[C + c];
                }
        }
    }
}

/* Cost of the batch through the graph, parameters pd (nodes in order). */
double ref_cost(const mynn_net *net, const double *pd, const double *x, const double *y, int n)
{
    const int N = mynn_n_layers(net), d = mynn_n_inputs(net);
    double **out = calloc((size_t)N, sizeof *out);
    size_t off = 0;
    int k = 0;
    for (int l = 0; l < N; l++) {
        mynn_layer_info L;
        mynn_layer_get_info(net, l, &L);
        int src[8], sizes[8], ns = mynn_layer_inputs(net, l, src, 8);
        const double *in[8];
        for (int j = 0; j < ns; j++) {
            in[j] = src[j] == MYNN_INPUT ? x : out[src[j]];
            mynn_layer_info S;
            if (src[j] == MYNN_INPUT) sizes[j] = d;
            else {
                mynn_layer_get_info(net, src[j], &S);
                sizes[j] = S.n_outputs;
            }
        }
        out[l] = calloc((size_t)n * L.n_outputs, sizeof **out);
        ref_node(&L, sizes, pd + off, in, ns, n, out[l]);
        off += L.n_params;
        k = L.n_outputs;
    }
    const double *a = out[N - 1];
    double total = 0;
    for (int s = 0; s < n; s++)
        for (int i = 0; i < k; i++) {
            double v = a[s * k + i], t = y[s * k + i];
            if (mynn_get_loss(net) == MYNN_LOSS_CE) total -= t * log(v);
            else total += (v - t) * (v - t) / k;
        }
    for (int l = 0; l < N; l++) free(out[l]);
    free(out);
    return total / n;
}

/* Max |lib - ref| over max |ref| (at least floor), per tensor. */
double ref_rel_err(const float *lib, const double *ref, size_t n, double floor)
{
    double diff = 0, scale = floor > 1e-6 ? floor : 1e-6;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(lib[i] - ref[i]);
        diff = e > diff ? e : diff;
        scale = fabs(ref[i]) > scale ? fabs(ref[i]) : scale;
    }
    return diff / scale;
}

