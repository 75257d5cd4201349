/* L-BFGS: the ridge-regression optimum (closed form, in double), agreement
 * with PyTorch's LBFGS(line_search_fn="strong_wolfe") from the same
 * weights, divergence mid-line-search, thread-count independence,
 * bit-identical checkpoint/resume, the closure API and argument checks. */
#include "mynn.h"
#include "check.h"

#include <stdint.h>
#include <unistd.h>

static mynn_dataset *ds_new(int n, int d, int k)
{
    mynn_dataset *ds = calloc(1, sizeof *ds);
    ds->n = n;
    ds->n_inputs = d;
    ds->n_outputs = k;
    ds->x = calloc((size_t)n * d, sizeof(float));
    ds->y = calloc((size_t)n * k, sizeof(float));
    return ds;
}

static void ds_free(mynn_dataset *ds)
{
    if (!ds) return;
    free(ds->x);
    free(ds->y);
    free(ds->labels);
    free(ds);
}

static mynn_net *make_net(int n_in, const char *spec, mynn_loss loss, int max_batch, uint64_t seed)
{
    mynn_net *net = NULL;
    if (mynn_create(&net, n_in) || mynn_add_layers(net, spec) || mynn_set_loss(net, loss) ||
        mynn_build(net, max_batch, MYNN_INIT_AUTO, seed)) {
        fprintf(stderr, "  make_net(%s): %s\n", spec, mynn_last_error());
        mynn_free(net);
        return NULL;
    }
    return net;
}

/* y = x·w + b + noise, x uniform in [-1, 1]. */
static mynn_dataset *linear_data(int n, int d, uint64_t seed)
{
    mynn_dataset *ds = ds_new(n, d, 1);
    mynn_rng r;
    mynn_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        double y = 0.3;
        for (int j = 0; j < d; j++) {
            float x = 2.0f * mynn_rng_uniform(&r) - 1.0f;
            ds->x[(size_t)i * d + j] = x;
            y += (j + 1) * 0.5 * (j % 2 ? -1 : 1) * x;
        }
        ds->y[i] = (float)(y + 0.2 * (mynn_rng_uniform(&r) - 0.5));
    }
    return ds;
}

/* Solve A z = b (m × m, partial pivoting) in place; z into b. */
static void solve(double *A, double *b, int m)
{
    for (int c = 0; c < m; c++) {
        int p = c;
        for (int r = c + 1; r < m; r++)
            if (fabs(A[r * m + c]) > fabs(A[p * m + c])) p = r;
        for (int k = 0; k < m; k++) {
            double t = A[c * m + k];
            A[c * m + k] = A[p * m + k];
            A[p * m + k] = t;
        }
        double t = b[c];
        b[c] = b[p];
        b[p] = t;
        for (int r = c + 1; r < m; r++) {
            double f = A[r * m + c] / A[c * m + c];
            for (int k = c; k < m; k++) A[r * m + k] -= f * A[c * m + k];
            b[r] -= f * b[c];
        }
    }
    for (int c = m - 1; c >= 0; c--) {
        for (int k = c + 1; k < m; k++) b[c] -= A[c * m + k] * b[k];
        b[c] /= A[c * m + c];
    }
}

/* The minimiser of mean((x·w + b - y)^2) + wd/2 (|w|^2 + b^2): the normal
 * equations (2/n XᵀX + wd I) θ = 2/n Xᵀy with X = [x, 1], in double. */
static void ridge_optimum(const mynn_dataset *ds, double wd, double *theta)
{
    const int d = ds->n_inputs, m = d + 1, n = ds->n;
    double *A = calloc((size_t)m * m, sizeof *A);
    for (int j = 0; j < m; j++) theta[j] = 0.0;
    for (int i = 0; i < n; i++) {
        double row[64];
        for (int j = 0; j < d; j++) row[j] = ds->x[(size_t)i * d + j];
        row[d] = 1.0;
        for (int a = 0; a < m; a++) {
            for (int b = 0; b < m; b++) A[a * m + b] += 2.0 / n * row[a] * row[b];
            theta[a] += 2.0 / n * row[a] * ds->y[i];
        }
    }
    for (int a = 0; a < m; a++) A[a * m + a] += wd;
    solve(A, theta, m);
    free(A);
}

static int g_last_epoch, g_converged;
static int note_epoch(const mynn_epoch_stats *s, void *user)
{
    (void)user;
    g_last_epoch = s->epoch + 1;
    g_converged = s->converged;
    return 0;
}

static void test_ridge_optimum(void)
{
    const int n = 200, d = 5;
    mynn_dataset *ds = linear_data(n, d, 7);
    const float wds[2] = {0.0f, 0.05f};
    for (int v = 0; v < 2; v++) {
        mynn_net *net = make_net(d, "1", MYNN_LOSS_MSE, n, 3);
        double theta[6];
        ridge_optimum(ds, wds[v], theta);
        mynn_fit_options o;
        mynn_fit_options_default(&o);
        mynn_optim_config_default(&o.optim, MYNN_OPT_LBFGS);
        o.optim.weight_decay = wds[v];
        o.optim.tolerance_change = 0.0f;   /* stop on the gradient, or at the epochs */
        o.epochs = 200;
        o.batch_size = n;
        o.on_epoch = note_epoch;
        CHECK_OK(mynn_fit(net, ds, NULL, &o));
        size_t np;
        const float *p = mynn_params(net, &np);
        double err = 0.0;
        for (int j = 0; j <= d; j++) err = fmax(err, fabs(p[j] - theta[j]));
        CHECK(np == 6 && err <= 1e-6, "wd %g: max |p - optimum| = %.3g after %d epochs", (double)wds[v],
              err, g_last_epoch);
        CHECK(g_last_epoch < 200 || !g_converged, "stopped at %d", g_last_epoch);
        printf("  ridge wd=%g: max error %.2g after %d iterations%s\n", (double)wds[v], err, g_last_epoch,
               g_converged ? " (converged)" : "");
        mynn_free(net);
    }
    ds_free(ds);
}

/* A small regression net: 3 inputs, 8 tanh, 1 linear output. */
static mynn_dataset *smooth_data(int n, uint64_t seed)
{
    mynn_dataset *ds = ds_new(n, 3, 1);
    mynn_rng r;
    mynn_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        float *x = ds->x + 3 * i;
        for (int j = 0; j < 3; j++) x[j] = 2.0f * mynn_rng_uniform(&r) - 1.0f;
        ds->y[i] = (float)(sin(2.0 * x[0]) + x[1] * x[2] - 0.5 * x[2]);
    }
    return ds;
}

/* A closure over one whole data set: mean loss and gradient; after
 * nan_at evaluations (0 = never) the loss it reports is NaN. */
typedef struct full_batch {
    mynn_net *net;
    const mynn_dataset *ds;
    int evals, nan_at;
} full_batch;

static mynn_status full_batch_loss(void *user, double *loss)
{
    full_batch *fb = user;
    float l = 0.0f;   /* a float loss, as PyTorch's */
    mynn_status s = mynn_compute_gradients(fb->net, fb->ds->x, fb->ds->y, fb->ds->n, &l);
    *loss = ++fb->evals == fb->nan_at ? NAN : l;
    return s;
}

#define TORCH_STEPS 12

/* on_epoch: the parameters after each epoch, one row per epoch. */
typedef struct snap {
    mynn_net *net;
    float *rows;
    int epochs;
} snap;

static int keep_params(const mynn_epoch_stats *s, void *user)
{
    (void)s;
    snap *sn = user;
    size_t np;
    const float *p = mynn_params(sn->net, &np);
    memcpy(sn->rows + np * (size_t)sn->epochs++, p, np * sizeof *p);
    return 0;
}

/* PyTorch's LBFGS(strong_wolfe, history 10) from the same weights and data
 * (tests/lbfgs_torch.py), max_iter = 1 per step, one step per epoch:
 * the parameters after each of the first steps must agree.  Both work in
 * float32 but sum in different orders (our GEMM and double dot products,
 * PyTorch's MKL/float reductions), so losses and gradients differ in
 * their last bits; the line search's interpolation and the quasi-Newton
 * update carry such differences on, growing step by step on this
 * non-convex problem.  Measured: 3.4e-6 by step 11.  Tolerance:
 * |Δp| <= 3e-5 (1 + |p|) through step 12, ten times that (the weights
 * are O(1) and move by 1e-2 to 1 per step, so a wrong step shows). */
static void test_follows_torch(void)
{
    const char *script = "tests/lbfgs_torch.py";
    if (access("/usr/bin/python3", X_OK) != 0) SKIP("/usr/bin/python3 is missing");
    if (access(script, R_OK) != 0) SKIP("%s not found (run from the repository root)", script);
    if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
        SKIP("PyTorch is not installed (apt-get install python3-torch)");
    const int n = 64;
    mynn_dataset *ds = smooth_data(n, 11);
    mynn_net *net = make_net(3, "8:tanh,1", MYNN_LOSS_MSE, n, 5);
    size_t np;
    float *p = mynn_params(net, &np);
    char in[256], cmd[700];
    const char *tmp = getenv("TMPDIR");
    snprintf(in, sizeof in, "%s/mynn_lbfgs_%ld.txt", tmp && *tmp ? tmp : "/tmp", (long)getpid());
    FILE *f = fopen(in, "w");
    CHECK(f != NULL, "cannot write %s", in);
    if (!f) goto out;
    fprintf(f, "%d %d %d %d\n", n, 3, 8, TORCH_STEPS);
    for (int i = 0; i < n * 3; i++) fprintf(f, "%.9g\n", (double)ds->x[i]);
    for (int i = 0; i < n; i++) fprintf(f, "%.9g\n", (double)ds->y[i]);
    for (size_t i = 0; i < np; i++) fprintf(f, "%.9g\n", (double)p[i]);
    fclose(f);

    /* Ours: mynn_fit, one epoch per PyTorch step, parameters copied after each. */
    float *ours = calloc(np * TORCH_STEPS, sizeof *ours);
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    mynn_optim_config_default(&o.optim, MYNN_OPT_LBFGS);
    o.optim.max_evals = 1000;   /* PyTorch's budget is per step there */
    o.epochs = TORCH_STEPS;
    o.batch_size = n;
    o.shuffle = 0;
    snap sn = {net, ours, 0};
    o.on_epoch = keep_params;
    o.user = &sn;
    CHECK_OK(mynn_fit(net, ds, NULL, &o));
    CHECK(sn.epochs == TORCH_STEPS, "%d epochs ran", sn.epochs);

    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s '%s' 2>&1", script, in);
    FILE *py = popen(cmd, "r");
    CHECK(py != NULL, "popen");
    if (!py) goto out_ours;
    char line[1 << 14];
    int steps = 0;
    double worst = 0.0;
    int worst_step = -1;
    while (fgets(line, sizeof line, py)) {
        int k;
        char *s = line;
        if (sscanf(s, "step %d", &k) != 1 || k < 0 || k >= TORCH_STEPS) {
            fprintf(stderr, "  python: %s", line);
            continue;
        }
        s = strchr(s, ':');
        for (size_t i = 0; s && i < np; i++) {
            char *end;
            double v = strtod(s + 1, &end);
            double e = fabs(v - ours[np * k + i]) / (1.0 + fabs(v));
            if (e > worst) {
                worst = e;
                worst_step = k + 1;
            }
            s = end;
        }
        steps++;
    }
    int rc = pclose(py);
    CHECK(rc == 0, "python exited with %d", rc);
    CHECK(steps == TORCH_STEPS, "python printed %d steps", steps);
    CHECK(worst <= 3e-5, "largest relative difference %.3g (step %d)", worst, worst_step);
    printf("  vs PyTorch: largest |dp|/(1+|p|) over %d steps: %.2g (step %d)\n", steps, worst, worst_step);
out_ours:
    free(ours);
    remove(in);
out:
    mynn_free(net);
    ds_free(ds);
}

/* A non-finite loss at the first line-search trial, and later in a step:
 * MYNN_ERR_NUMERIC with the parameters as before the step. */
static void test_nan_mid_line_search(void)
{
    const int n = 64;
    mynn_dataset *ds = smooth_data(n, 3);
    mynn_net *net = make_net(3, "8:tanh,1", MYNN_LOSS_MSE, n, 5);
    mynn_optim_config c;
    mynn_optim_config_default(&c, MYNN_OPT_LBFGS);
    mynn_optimizer *opt = NULL;
    CHECK_OK(mynn_optimizer_create(&opt, net, &c));
    size_t np;
    float *p = mynn_params(net, &np);
    float *before = malloc(np * sizeof *before);
    full_batch fb = {net, ds, 0, 1};   /* evaluation 1 at the start, 2 the first trial */
    memcpy(before, p, np * sizeof *p);
    float loss;
    mynn_status s = mynn_optimizer_step_closure(opt, 1.0f, full_batch_loss, &fb, &loss);
    CHECK(s == MYNN_ERR_NUMERIC && strstr(mynn_last_error(), "nan at the L-BFGS step's starting weights"),
          "start: %s %s", mynn_status_name(s), mynn_last_error());
    fb.evals = 0;
    fb.nan_at = 2;
    s = mynn_optimizer_step_closure(opt, 1.0f, full_batch_loss, &fb, &loss);
    CHECK(s == MYNN_ERR_NUMERIC && strstr(mynn_last_error(), "nan at line-search evaluation 1 "),
          "first step: %s %s", mynn_status_name(s), mynn_last_error());
    CHECK(memcmp(before, p, np * sizeof *p) == 0, "parameters changed by the failed step");
    fb.nan_at = 0;
    for (int k = 0; k < 3; k++)
        CHECK_OK(mynn_optimizer_step_closure(opt, 1.0f, full_batch_loss, &fb, &loss));
    memcpy(before, p, np * sizeof *p);
    fb.nan_at = fb.evals + 1;   /* later steps start from stored values: the first trial */
    s = mynn_optimizer_step_closure(opt, 1.0f, full_batch_loss, &fb, &loss);
    CHECK(s == MYNN_ERR_NUMERIC, "later step: %s", mynn_status_name(s));
    CHECK(memcmp(before, p, np * sizeof *p) == 0, "parameters changed by the failed later step");
    mynn_optimizer_free(opt);

    /* Through mynn_fit: inputs of 1e15 and a first trial step scaled by
     * 1e30 put the outputs past the float range at the first trial (a
     * huge but finite trial would only be zoomed back). */
    for (int i = 0; i < 3 * n; i++) ds->x[i] *= 1e15f;
    mynn_net *lin = make_net(3, "1", MYNN_LOSS_MSE, n, 5);
    float *p0 = mynn_params(lin, &np), *init = malloc(np * sizeof *init);
    memcpy(init, p0, np * sizeof *p0);
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    mynn_optim_config_default(&o.optim, MYNN_OPT_LBFGS);
    o.optim.lr = 1e30f;
    o.epochs = 5;
    o.batch_size = n;
    s = mynn_fit(lin, ds, NULL, &o);
    CHECK(s == MYNN_ERR_NUMERIC && strstr(mynn_last_error(), "training diverged at epoch 1: ") &&
              strstr(mynn_last_error(), "line-search evaluation 1 "),
          "fit: %s %s", mynn_status_name(s), mynn_last_error());
    printf("  %s\n", mynn_last_error());
    CHECK(memcmp(init, p0, np * sizeof *p0) == 0, "fit did not restore the weights");
    free(init);
    free(before);
    mynn_free(lin);
    mynn_free(net);
    ds_free(ds);
}

/* Three Gaussian blobs in 2-D, one-hot targets. */
static mynn_dataset *blobs(int n, uint64_t seed)
{
    mynn_dataset *ds = ds_new(n, 2, 3);
    ds->n_classes = 3;
    ds->labels = calloc((size_t)n, sizeof(int));
    mynn_rng r;
    mynn_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        int k = i % 3;
        double u1 = mynn_rng_uniform(&r) + 1e-7, u2 = mynn_rng_uniform(&r);
        double rad = sqrt(-2 * log(u1));
        double g1 = rad * cos(6.283185307 * u2), g2 = rad * sin(6.283185307 * u2);
        ds->x[2 * i] = (float)(cos(2.1 * k) * 1.5 + 0.8 * g1);
        ds->x[2 * i + 1] = (float)(sin(2.1 * k) * 1.5 + 0.8 * g2);
        ds->labels[i] = k;
        ds->y[3 * i + k] = 1.0f;
    }
    return ds;
}

/* mynn_fit with L-BFGS on blobs, optionally checkpointed/resumed; returns
 * a copy of the parameters. */
static float *fit_blobs(const mynn_dataset *ds, int threads, int batch, int epochs, const char *ckpt,
                        int resume, size_t *np, mynn_status *st)
{
    mynn_set_threads(threads);
    mynn_net *net = make_net(2, "16:tanh,3:softmax", MYNN_LOSS_CE, batch, 9);
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    mynn_optim_config_default(&o.optim, MYNN_OPT_LBFGS);
    o.optim.weight_decay = 1e-3f;
    o.optim.max_evals = 10000;
    o.optim.tolerance_change = 0.0f;   /* run every epoch asked for */
    o.optim.tolerance_grad = 0.0f;
    o.epochs = epochs;
    o.batch_size = batch;
    o.checkpoint_path = ckpt;
    o.resume = resume;
    *st = mynn_fit(net, ds, NULL, &o);
    const float *p = mynn_params(net, np);
    float *copy = malloc(*np * sizeof *copy);
    memcpy(copy, p, *np * sizeof *p);
    mynn_free(net);
    mynn_set_threads(0);
    return copy;
}

/* GCC 12's AArch64 vectorizer stops with an internal compiler error on this
 * function (vect_transform_reduction): compiled there without it. */
#if defined(__aarch64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-vectorize")))
#endif
static void test_threads_and_resume(void)
{
    const int n = 300;
    mynn_dataset *ds = blobs(n, 4);
    char ck[256];
    const char *tmp = getenv("TMPDIR");
    snprintf(ck, sizeof ck, "%s/mynn_lbfgs_ck_%ld.safetensors", tmp && *tmp ? tmp : "/tmp", (long)getpid());
    const int batches[2] = {n, 128};   /* one batch; a gradient summed over three */
    for (int v = 0; v < 2; v++) {
        size_t np;
        mynn_status s1, s2, s3, s4;
        float *one = fit_blobs(ds, 1, batches[v], 40, NULL, 0, &np, &s1);
        float *two = fit_blobs(ds, 2, batches[v], 40, NULL, 0, &np, &s2);
        CHECK(s1 == MYNN_OK && s2 == MYNN_OK, "batch %d: %s %s", batches[v], mynn_status_name(s1),
              mynn_status_name(s2));
        CHECK(memcmp(one, two, np * sizeof *one) == 0, "batch %d: 1 and 2 threads differ", batches[v]);
        remove(ck);
        float *part = fit_blobs(ds, 2, batches[v], 15, ck, 0, &np, &s3);
        float *rest = fit_blobs(ds, 2, batches[v], 40, ck, 1, &np, &s4);
        CHECK(s3 == MYNN_OK && s4 == MYNN_OK, "resume: %s %s", mynn_status_name(s3), mynn_last_error());
        CHECK(memcmp(one, rest, np * sizeof *one) == 0, "batch %d: resumed run differs", batches[v]);
        CHECK(memcmp(one, part, np * sizeof *one) != 0, "batch %d: 15 and 40 epochs agree", batches[v]);
        free(one);
        free(two);
        free(part);
        free(rest);
    }
    remove(ck);
    /* The whole set in batches gives (nearly) the full-batch optimum path:
     * same loss, summed in another order. */
    size_t np;
    mynn_status s1, s2;
    float *a = fit_blobs(ds, 1, n, 5, NULL, 0, &np, &s1), *b = fit_blobs(ds, 1, 128, 5, NULL, 0, &np, &s2);
    double worst = 0.0;
    for (size_t i = 0; i < np; i++) worst = fmax(worst, fabs(a[i] - b[i]));
    CHECK(worst < 1e-4, "batched and full gradients part after 5 iterations by %g", worst);
    free(a);
    free(b);
    ds_free(ds);
}

/* A converged run stops early, and a resume of it stays stopped. */
static void test_convergence_stops(void)
{
    const int n = 200, d = 3;
    mynn_dataset *ds = linear_data(n, d, 2);
    mynn_net *net = make_net(d, "1", MYNN_LOSS_MSE, n, 3);
    mynn_fit_options o;
    mynn_fit_options_default(&o);
    mynn_optim_config_default(&o.optim, MYNN_OPT_LBFGS);
    o.epochs = 500;
    o.batch_size = n;
    o.on_epoch = note_epoch;
    g_last_epoch = 0;
    char ck[256];
    const char *tmp = getenv("TMPDIR");
    snprintf(ck, sizeof ck, "%s/mynn_lbfgs_cv_%ld.safetensors", tmp && *tmp ? tmp : "/tmp", (long)getpid());
    remove(ck);
    o.checkpoint_path = ck;
    CHECK_OK(mynn_fit(net, ds, NULL, &o));
    CHECK(g_converged && g_last_epoch < 50, "ran %d epochs, converged %d", g_last_epoch, g_converged);
    size_t np;
    float *p = mynn_params(net, &np), *done = malloc(np * sizeof *done);
    memcpy(done, p, np * sizeof *p);
    /* Resuming a converged run restores it and trains no more. */
    mynn_free(net);
    net = make_net(d, "1", MYNN_LOSS_MSE, n, 3);
    o.resume = 1;
    g_last_epoch = 0;
    CHECK_OK(mynn_fit(net, ds, NULL, &o));
    p = mynn_params(net, &np);
    CHECK(g_last_epoch == 0 && memcmp(done, p, np * sizeof *p) == 0, "resume of a converged run: %d epochs",
          g_last_epoch);
    free(done);
    remove(ck);
    mynn_free(net);
    ds_free(ds);
}

static void test_api_and_args(void)
{
    const int n = 32;
    mynn_dataset *ds = smooth_data(n, 8);
    mynn_net *net = make_net(3, "8:tanh,1", MYNN_LOSS_MSE, n, 5);
    size_t np;
    float *p = mynn_params(net, &np);
    mynn_optim_config c;
    mynn_optim_config_default(&c, MYNN_OPT_LBFGS);
    CHECK(c.lr == 1.0f && c.history == 10 && c.tolerance_grad == 1e-7f && c.tolerance_change == 1e-9f &&
              c.max_evals == 0,
          "defaults");
    mynn_optimizer *opt = NULL;
    CHECK_OK(mynn_optimizer_create(&opt, net, &c));
    size_t ns = 0;
    mynn_optimizer_state(opt, &ns);
    CHECK(ns == (3 + 2 * 10) * np + 10 + 10, "state %zu floats for %zu parameters", ns, np);
    CHECK(mynn_optimizer_step(opt, 1.0f) == MYNN_ERR_STATE && strstr(mynn_last_error(), "closure"),
          "plain step: %s", mynn_last_error());
    CHECK(mynn_optimizer_step_closure(opt, 1.0f, NULL, NULL, NULL) == MYNN_ERR_NULL, "NULL closure");
    full_batch fb = {net, ds, 0, 0};
    CHECK(mynn_optimizer_step_closure(opt, 0.0f, full_batch_loss, &fb, NULL) == MYNN_ERR_ARG, "lr 0");
    CHECK(!mynn_optimizer_converged(opt), "converged before a step");
    mynn_optimizer_free(opt);

    const struct { const char *what; int field; double v; } bad[] = {
        {"history 0", 0, 0}, {"history 1001", 0, 1001}, {"clip", 1, 1.0}, {"tolerance", 2, -1.0},
        {"max_evals", 3, -1}, {"lr 0", 4, 0.0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mynn_optim_config b;
        mynn_optim_config_default(&b, MYNN_OPT_LBFGS);
        if (bad[i].field == 0) b.history = (int)bad[i].v;
        if (bad[i].field == 1) b.clip_norm = (float)bad[i].v;
        if (bad[i].field == 2) b.tolerance_grad = (float)bad[i].v;
        if (bad[i].field == 3) b.max_evals = (long)bad[i].v;
        if (bad[i].field == 4) b.lr = (float)bad[i].v;
        opt = NULL;
        CHECK(mynn_optimizer_create(&opt, net, &b) == MYNN_ERR_ARG && opt == NULL, "%s accepted",
              bad[i].what);
    }

    /* The closure step of a per-gradient kind: one evaluation, one update. */
    mynn_optim_config a;
    mynn_optim_config_default(&a, MYNN_OPT_ADAM);
    CHECK_OK(mynn_optimizer_create(&opt, net, &a));
    float before = p[0], loss = -1.0f;
    fb.evals = 0;
    CHECK_OK(mynn_optimizer_step_closure(opt, 0.01f, full_batch_loss, &fb, &loss));
    CHECK(fb.evals == 1 && loss > 0.0f && p[0] != before && mynn_optimizer_steps(opt) == 1 &&
              !mynn_optimizer_converged(opt),
          "adam via closure: evals %d loss %g", fb.evals, (double)loss);
    mynn_optimizer_free(opt);
    mynn_free(net);
    ds_free(ds);
}

int main(void)
{
    CK_BEGIN("test_lbfgs");
    RUN(test_ridge_optimum);
    RUN(test_follows_torch);
    RUN(test_nan_mid_line_search);
    RUN(test_threads_and_resume);
    RUN(test_convergence_stops);
    RUN(test_api_and_args);
    return CK_END();
}
