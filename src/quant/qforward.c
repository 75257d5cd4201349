/* The int8 forward pass.  Per layer, for c samples of a chunk:
 *   dense  q   = mn_q8(x / in_scale) + 128         x: [c × in] -> q: [c × kpad(in)] uint8
 *          acc = sum_k (q - 128) · w               int32 [c × out] (mn_qgemm)
 *          z   = acc · (in_scale · w_scale[o]) + b[o],  y = f(z)   float [c × out]
 *   conv   q   = mn_q8(x / in_scale) + 128         per sample C × H × W bytes
 *          rows = mn_qim2row(q)                    [P × kpad(K)] per sample, K = C·kh·kw
 *          acc = rows · wᵀ                         int32 [c·P × F]
 *          z[s][f][p] = acc[s·P + p][f] · (in_scale · w_scale[f]) + b[f],
 *          y = f(z)                                float NCHW [c × F×OH×OW]
 *   max/avg/global pooling and activation layers: in float, as the float
 *   layers compute them; a batch norm that did not fold into the layer
 *   before it (calibrate.c): y = x·s[c] + t[c] in float (mn_bn_affine);
 *   flatten and dropout: the identity.
 * The first layer's x is the transformed input (x - shift) · scale, applied
 * as it quantises (or into a float buffer when the first layer is float).
 *
 * Threads: one parallel region per call; the batch is cut into chunks of
 * q->chunk samples (sized to stay in cache) and each thread takes whole
 * chunks through every layer in its own scratch slot.  A sample's result
 * depends on nothing but the sample (exact integer sums, per-sample float
 * loops), so every thread count and chunking gives the same bits. */
#include "qnet.h"
#include "activations/activation.h"
#include "core/core.h"
#include "kernels/kernels.h"
#include "kernels/qgemm.h"
#include "network/network.h"

#include <math.h>
#include <string.h>

/* Below this many multiply-adds in a call one thread is faster. */
#define PAR_MIN (1L << 21)

/* A dense layer: x [c × n_in] -> z, y [c × n_out] (z == y allowed). */
static void qdense(const mn_qlayer *l, const mn_qslot *sl, const float *x, const float *shift,
                   const float *scale, int c, float *z, float *y)
{
    int kp = mn_qgemm_kpad(l->n_in);
    mn_quantize_rows_serial(x, shift, scale, c, l->n_in, l->in_inv, sl->qx, kp);
    mn_qgemm_serial(c, l->n_out, l->n_in, sl->qx, kp, l->wp, l->corr, sl->acc, l->n_out);
    for (int r = 0; r < c; r++) {
        const int32_t *ar = sl->acc + (size_t)r * l->n_out;
        float *zr = z + (size_t)r * l->n_out;
        for (int o = 0; o < l->n_out; o++) zr[o] = (float)ar[o] * l->mult[o] + l->bias[o];
    }
    mn_act_forward(l->act, z, y, c, l->n_out);
}

/* One sample's image x [C × H × W] (or its transform) quantised into qp,
 * zero-padded as the conv fl pads: [C × (H + 2ph) × (W + 2pw)], border 128. */
static void quantize_padded(const mn_layer *fl, float inv, const float *x, const float *shift,
                            const float *scale, uint8_t *qp)
{
    const int C = fl->in_shape.c, H = fl->in_shape.h, W = fl->in_shape.w;
    const int ph = fl->ph, pw = fl->pw, Hp = H + 2 * ph, Wp = W + 2 * pw;
    if (!ph && !pw) {
        mn_quantize_rows_serial(x, shift, scale, 1, C * H * W, inv, qp, C * H * W);
        return;
    }
    memset(qp, 128, (size_t)C * Hp * Wp);
    for (int ci = 0; ci < C; ci++)
        for (int y = 0; y < H; y++) {
            size_t o = ((size_t)ci * H + y) * W;
            mn_quantize_rows_serial(x + o, shift ? shift + o : NULL, shift ? scale + o : NULL, 1, W, inv,
                                    qp + ((size_t)ci * Hp + y + ph) * Wp + pw, W);
        }
}

/* A conv layer (geometry fl): x [c × C×H×W] -> y [c × F×OH×OW]. */
static void qconv(const mn_qlayer *l, const mn_layer *fl, const mn_qslot *sl, const float *x,
                  const float *shift, const float *scale, int c, float *y)
{
    const int kp = mn_qgemm_kpad(l->n_in), P = l->positions, F = l->n_out;
    const int Hp = fl->in_shape.h + 2 * fl->ph, Wp = fl->in_shape.w + 2 * fl->pw;
    const size_t per = (size_t)P * kp;
    for (int s = 0; s < c; s++) {
        quantize_padded(fl, l->in_inv, x + (size_t)s * fl->n_in, shift, scale, sl->qin);
        mn_qim2row(sl->qin, fl->in_shape.c, Hp, Wp, fl->kh, fl->kw, fl->sh, fl->sw, fl->out_shape.h,
                   fl->out_shape.w, sl->qx + s * per, kp);
    }
    mn_qgemm_serial(c * P, F, l->n_in, sl->qx, kp, l->wp, l->corr, sl->acc, F);
    for (int s = 0; s < c; s++) {
        const int32_t *as = sl->acc + (size_t)s * P * F;
        for (int f = 0; f < F; f++) {
            float *yf = y + ((size_t)s * F + f) * P, m = l->mult[f], b = l->bias[f];
            if (l->act == MYNN_ACT_RELU)
                for (int p = 0; p < P; p++) {
                    float v = (float)as[(size_t)p * F + f] * m + b;
                    yf[p] = v > 0.0f ? v : 0.0f;
                }
            else {
                for (int p = 0; p < P; p++) yf[p] = (float)as[(size_t)p * F + f] * m + b;
                mn_act_forward(l->act, yf, yf, 1, P);   /* per plane, as the float conv */
            }
        }
    }
}

/* Max or average pooling, or the global average: x [c × C×H×W] -> y.
 * The same sums, in the same order, as the float layers (layers/pool.c). */
static void qpool(const mn_layer *l, const float *x, int c, float *y)
{
    const int planes = c * l->in_shape.c, H = l->in_shape.h, W = l->in_shape.w;
    const int OH = l->out_shape.h, OW = l->out_shape.w, kind = l->ops->kind;
    const float inv = 1.0f / (float)(kind == MYNN_LAYER_GLOBAL_AVGPOOL ? H * W : l->kh * l->kw);
    const int max2 = kind == MYNN_LAYER_MAXPOOL && l->kh == 2 && l->kw == 2 && l->sh == 2 && l->sw == 2;
    for (int q = 0; q < planes; q++) {
        const float *xp = x + (size_t)q * H * W;
        float *yp = y + (size_t)q * OH * OW;
        if (kind == MYNN_LAYER_GLOBAL_AVGPOOL) {
            float s = 0.0f;
            for (int i = 0; i < H * W; i++) s += xp[i];
            yp[0] = s * inv;
        } else if (max2) {   /* the common 2×2 window, stride 2 */
            for (int oy = 0; oy < OH; oy++) {
                const float *r0 = xp + (size_t)2 * oy * W, *r1 = r0 + W;
                for (int ox = 0; ox < OW; ox++) {
                    float a = r0[2 * ox] > r0[2 * ox + 1] ? r0[2 * ox] : r0[2 * ox + 1];
                    float b = r1[2 * ox] > r1[2 * ox + 1] ? r1[2 * ox] : r1[2 * ox + 1];
                    yp[oy * OW + ox] = a > b ? a : b;
                }
            }
        } else if (kind == MYNN_LAYER_MAXPOOL) {
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    const float *w0 = xp + (size_t)oy * l->sh * W + (size_t)ox * l->sw;
                    float m = w0[0];
                    for (int i = 0; i < l->kh; i++)
                        for (int j = 0; j < l->kw; j++) m = w0[(size_t)i * W + j] > m ? w0[(size_t)i * W + j] : m;
                    yp[oy * OW + ox] = m;
                }
        } else {
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    const float *w0 = xp + (size_t)oy * l->sh * W + (size_t)ox * l->sw;
                    float s = 0.0f;
                    for (int i = 0; i < l->kh; i++)
                        for (int j = 0; j < l->kw; j++) s += w0[(size_t)i * W + j];
                    yp[oy * OW + ox] = s * inv;
                }
        }
    }
}

/* A batch norm that did not fold, as its affine map st (s then t [C]):
 * x [c × C×S] -> y. */
static void qbatchnorm(const mn_layer *l, const float *st, const float *x, int c, float *y)
{
    const int C = l->in_shape.c, S = l->in_shape.h * l->in_shape.w;
    for (int s = 0; s < c; s++)
        for (int ch = 0; ch < C; ch++) {
            size_t o = ((size_t)s * C + ch) * S;
            for (int i = 0; i < S; i++) y[o + i] = x[o + i] * st[ch] + st[C + ch];
        }
}

/* c samples x [c × n_inputs] through every layer; the last layer writes
 * z and y [c × n_outputs]. */
static void chunk_forward(const mynn_qnet *q, const mn_qslot *sl, const float *x, int c, float *z,
                          float *y)
{
    const mynn_net *net = q->net;
    const float *shift = net->shift && net->scale ? net->shift : NULL, *scale = shift ? net->scale : NULL;
    const float *cur = x;
    int nb = 0;   /* the f buffer the next float output goes to */
    for (int i = 0; i < net->n_layers; i++) {
        const mn_layer *l = &net->layers[i];
        mynn_layer_kind k = l->ops->kind;
        if (k == MYNN_LAYER_FLATTEN || k == MYNN_LAYER_DROPOUT) continue;
        if (shift && q->qidx[i] < 0) {   /* a float first layer: transform first */
            mn_shift_scale_rows(sl->f[nb], cur, shift, scale, c, net->n_inputs);
            cur = sl->f[nb];
            nb ^= 1;
            shift = scale = NULL;
        }
        float *out = sl->f[nb];
        if (k == MYNN_LAYER_DENSE) {
            int last = i == net->n_layers - 1;
            qdense(&q->layers[q->qidx[i]], sl, cur, shift, scale, c, last ? z : out, last ? y : out);
        } else if (k == MYNN_LAYER_CONV) {
            qconv(&q->layers[q->qidx[i]], l, sl, cur, shift, scale, c, out);
        } else if (k == MYNN_LAYER_BATCHNORM) {
            qbatchnorm(l, q->affine[i], cur, c, out);
        } else if (k == MYNN_LAYER_ACTIVATION) {
            mn_act_forward(l->act, cur, out, c, l->n_out);
        } else {
            qpool(l, cur, c, out);
        }
        shift = scale = NULL;
        cur = out;
        nb ^= 1;
    }
}

mynn_status mn_qforward(mynn_qnet *q, const float *x, int n, size_t *bad_at)
{
    const int d = q->net->n_inputs, k = mynn_n_outputs(q->net);
    int chunks = (n + q->chunk - 1) / q->chunk;
    long macs = 0;
    for (int i = 0; i < q->n_layers; i++)
        macs += (long)q->layers[i].positions * q->layers[i].n_in * q->layers[i].n_out;
    int nt = (double)macs * n >= (double)PAR_MIN ? mn_threads() : 1;
    if (nt > n) nt = n;
    /* as many chunks for every thread, each at most q->chunk samples */
    chunks = (chunks + nt - 1) / nt * nt;
    const int ch = (n + chunks - 1) / chunks;
    chunks = (n + ch - 1) / ch;
    mynn_status s = mn_qnet_slots(q, nt);
    if (s) return s;
    size_t bad = (size_t)-1;   /* the first non-finite input value, if any */
#pragma omp parallel for num_threads(nt) if(nt > 1) schedule(static)
    for (int b = 0; b < chunks; b++) {
        int t, team;
        mn_thread_id(&t, &team);
        int r0 = b * ch, c = n - r0 < ch ? n - r0 : ch;
        size_t at;
        /* checked here, chunk by chunk, so the quantiser finds the rows in cache */
        if (mn_find_nonfinite(x + (size_t)r0 * d, (size_t)c * d, &at)) {
#pragma omp critical(mn_qforward_bad)
            if ((size_t)r0 * d + at < bad) bad = (size_t)r0 * d + at;
            continue;
        }
        chunk_forward(q, &q->slots[t], x + (size_t)r0 * d, c, q->z + (size_t)r0 * k,
                      q->out + (size_t)r0 * k);
    }
    if (bad != (size_t)-1) {
        *bad_at = bad;
        return MYNN_ERR_NUMERIC;
    }
    return MYNN_OK;
}
