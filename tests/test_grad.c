/* Gradient checks: the library's dW, dB and dX against central differences
 * of an independent double-precision forward pass written here, for every
 * activation × cost pair and for random networks of 1-4 layers at batch
 * sizes 1 and 7. */
#include "check.h"
#include "mynn.h"
#include "network/network.h"

#define MAXL 4
#define MAXW 8

typedef struct {
    int n_in, n_layers, width[MAXL];
    mynn_activation act[MAXL];
    mynn_loss loss;
} arch;

/* ---- the independent reference, in double ---------------------------- */

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

/* Cost of the whole batch: params p laid out as the library documents
 * (per dense layer: W [out × in] row-major, then B [out]). */
static double ref_cost(const arch *A, const double *p, const double *x, const double *y, int n)
{
    double total = 0.0;
    for (int s = 0; s < n; s++) {
        double in[MAXW], out[MAXW];
        int d = A->n_in;
        for (int j = 0; j < d; j++) in[j] = x[s * A->n_in + j];
        const double *q = p;
        for (int l = 0; l < A->n_layers; l++) {
            int o = A->width[l];
            for (int i = 0; i < o; i++) {
                double z = q[o * d + i];
                for (int j = 0; j < d; j++) z += q[i * d + j] * in[j];
                out[i] = z;
            }
            q += o * d + o;
            if (A->act[l] == MYNN_ACT_SOFTMAX) {
                double m = out[0], sum = 0;
                for (int i = 1; i < o; i++) m = out[i] > m ? out[i] : m;
                for (int i = 0; i < o; i++) sum += exp(out[i] - m);
                for (int i = 0; i < o; i++) out[i] = exp(out[i] - m) / sum;
            } else {
                for (int i = 0; i < o; i++) out[i] = ref_act(A->act[l], out[i]);
            }
            for (int i = 0; i < o; i++) in[i] = out[i];
            d = o;
        }
        const double *t = y + s * d;
        for (int i = 0; i < d; i++) {
            if (A->loss == MYNN_LOSS_MSE) total += (in[i] - t[i]) * (in[i] - t[i]) / d;
            else if (A->loss == MYNN_LOSS_BCE)
                total -= (t[i] * log(in[i]) + (1 - t[i]) * log(1 - in[i])) / d;
            else total -= t[i] * log(in[i]);
        }
    }
    return total / n;
}

static double uniform(mynn_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * mynn_rng_uniform(r);
}

/* Max |lib - ref| over max |ref| for one tensor: a scale-aware relative
 * error that does not blow up on individual near-zero entries. */
static double rel_err(const float *lib, const double *ref, int n)
{
    double diff = 0, scale = 1e-6;
    for (int i = 0; i < n; i++) {
        double d = fabs(lib[i] - ref[i]);
        diff = d > diff ? d : diff;
        scale = fabs(ref[i]) > scale ? fabs(ref[i]) : scale;
    }
    return diff / scale;
}

static double g_worst = 0.0;

/* Builds A, checks every gradient, returns the worst relative error. */
static double check_arch(const arch *A, int n, uint64_t seed)
{
    mynn_net *net = NULL;
    double worst = 0.0;
    CHECK_OK(mynn_create(&net, A->n_in));
    for (int l = 0; l < A->n_layers; l++) CHECK_OK(mynn_add_dense(net, A->width[l], A->act[l]));
    CHECK_OK(mynn_set_loss(net, A->loss));
    CHECK_OK(mynn_build(net, n, MYNN_INIT_XAVIER, seed));
    if (!mynn_max_batch(net)) { mynn_free(net); return 1.0; }

    mynn_rng r;
    mynn_rng_seed(&r, seed * 7 + 1);
    size_t np;
    float *p = mynn_params(net, &np);
    for (size_t i = 0; i < np; i++) p[i] = (float)uniform(&r, -1.0, 1.0);
    int k = A->width[A->n_layers - 1];
    float x[7 * MAXW], y[7 * MAXW], dx[7 * MAXW];
    double xd[7 * MAXW], yd[7 * MAXW], pd[1024], gref[1024];
    for (int i = 0; i < n * A->n_in; i++) xd[i] = x[i] = (float)uniform(&r, -2.0, 2.0);
    for (int s = 0; s < n; s++) {
        double sum = 0;
        for (int i = 0; i < k; i++) {
            double v = A->loss == MYNN_LOSS_MSE ? uniform(&r, -1, 1) : uniform(&r, 0.05, 0.95);
            y[s * k + i] = (float)v;
            sum += v;
        }
        if (A->loss == MYNN_LOSS_CE) /* soft targets summing to 1 */
            for (int i = 0; i < k; i++) y[s * k + i] = (float)(y[s * k + i] / sum);
        for (int i = 0; i < k; i++) yd[s * k + i] = y[s * k + i];
    }
    for (size_t i = 0; i < np; i++) pd[i] = p[i];

    /* library: forward + backward with dC/dX of the input */
    mn_forward(net, x, n, 1);
    double c = mn_backward_dx(net, y, n, dx);
    double cref = ref_cost(A, pd, xd, yd, n);
    CHECK(fabs(c - cref) <= 1e-5 * (1.0 + fabs(cref)), "cost %.9g vs reference %.9g", c, cref);

    const double h = 1e-5;
    for (size_t i = 0; i < np; i++) {
        double keep = pd[i];
        pd[i] = keep + h;
        double up = ref_cost(A, pd, xd, yd, n);
        pd[i] = keep - h;
        double down = ref_cost(A, pd, xd, yd, n);
        pd[i] = keep;
        gref[i] = (up - down) / (2 * h);
    }
    /* per tensor: W then B of each layer */
    const float *g = mynn_grads(net, NULL);
    size_t off = 0;
    int d = A->n_in;
    for (int l = 0; l < A->n_layers; l++) {
        int nw = A->width[l] * d, nb = A->width[l];
        double ew = rel_err(g + off, gref + off, nw);
        double eb = rel_err(g + off + nw, gref + off + nw, nb);
        CHECK(ew <= 1e-4, "layer %d dW rel err %.3g (%s, loss %s, n=%d)", l, ew,
              mynn_activation_name(A->act[l]), mynn_loss_name(A->loss), n);
        CHECK(eb <= 1e-4, "layer %d dB rel err %.3g (%s, loss %s, n=%d)", l, eb,
              mynn_activation_name(A->act[l]), mynn_loss_name(A->loss), n);
        worst = ew > worst ? ew : worst;
        worst = eb > worst ? eb : worst;
        off += (size_t)nw + nb;
        d = A->width[l];
    }
    for (int i = 0; i < n * A->n_in; i++) {
        double keep = xd[i];
        xd[i] = keep + h;
        double up = ref_cost(A, pd, xd, yd, n);
        xd[i] = keep - h;
        double down = ref_cost(A, pd, xd, yd, n);
        xd[i] = keep;
        gref[i] = (up - down) / (2 * h);
    }
    double ex = rel_err(dx, gref, n * A->n_in);
    CHECK(ex <= 1e-4, "dX rel err %.3g (loss %s, n=%d)", ex, mynn_loss_name(A->loss), n);
    worst = ex > worst ? ex : worst;
    if (worst > g_worst) g_worst = worst;
    mynn_free(net);
    return worst;
}

/* Every activation as the output of a 3-4-3 network under every cost it
 * may follow (MSE: all; BCE: sigmoid; CE: softmax), batch 1 and 7, with
 * every activation also tried as the hidden layer. */
static void test_activation_cost_pairs(void)
{
    for (int loss = 0; loss < MYNN_LOSS_COUNT; loss++)
        for (int out = 0; out < MYNN_ACT_COUNT; out++) {
            if (loss == MYNN_LOSS_BCE && out != MYNN_ACT_SIGMOID) continue;
            if (loss == MYNN_LOSS_CE && out != MYNN_ACT_SOFTMAX) continue;
            for (int hid = 0; hid < MYNN_ACT_COUNT; hid++)
                for (int n = 1; n <= 7; n += 6) {
                    arch A = {3, 2, {4, 3}, {(mynn_activation)hid, (mynn_activation)out},
                              (mynn_loss)loss};
                    check_arch(&A, n, (uint64_t)(loss * 100 + out * 10 + hid + n));
                }
        }
}

/* Random architectures: 1-4 layers, widths 1-6, random activations. */
static void test_random_networks(void)
{
    mynn_rng r;
    mynn_rng_seed(&r, 2024);
    for (int trial = 0; trial < 60; trial++) {
        arch A;
        A.n_in = 1 + (int)mynn_rng_below(&r, 5);
        A.n_layers = 1 + (int)mynn_rng_below(&r, 4);
        for (int l = 0; l < A.n_layers; l++) {
            A.width[l] = 1 + (int)mynn_rng_below(&r, 6);
            A.act[l] = (mynn_activation)mynn_rng_below(&r, MYNN_ACT_COUNT);
        }
        A.loss = (mynn_loss)mynn_rng_below(&r, MYNN_LOSS_COUNT);
        mynn_activation *last = &A.act[A.n_layers - 1];
        if (A.loss == MYNN_LOSS_BCE) *last = MYNN_ACT_SIGMOID;
        if (A.loss == MYNN_LOSS_CE) {
            *last = MYNN_ACT_SOFTMAX;
            if (A.width[A.n_layers - 1] < 2) A.width[A.n_layers - 1] = 2;
        }
        check_arch(&A, trial % 2 ? 7 : 1, 1000 + trial);
    }
}

/* The seed's own network: 2-3-5-2-1, tanh, sigmoid, tanh, sigmoid, MSE. */
static void test_seed_network(void)
{
    arch A = {2, 4, {3, 5, 2, 1},
              {MYNN_ACT_TANH, MYNN_ACT_SIGMOID, MYNN_ACT_TANH, MYNN_ACT_SIGMOID}, MYNN_LOSS_MSE};
    check_arch(&A, 1, 5);
    check_arch(&A, 7, 6);
}

int main(void)
{
    CK_BEGIN("test_grad");
    RUN(test_activation_cost_pairs);
    RUN(test_random_networks);
    RUN(test_seed_network);
    printf("worst gradient relative error: %.3g (bound 1e-4)\n", g_worst);
    return CK_END();
}
