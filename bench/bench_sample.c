/* Per-sample training speed (batch 1, the seed's training): the MLP of
 * bench_mlp.c (784-256-128-10 ReLU, softmax + cross-entropy, Fashion-MNIST
 * scaled to [0, 1]) trained one sample per step, with SGD (lr 0.01) and
 * Adam (lr 1e-3), two ways in the same run:
 *   fit    mynn_fit, batch 1 (the library's own loop)
 *   steps  mynn_compute_gradients then mynn_optimizer_step per sample (the
 *          step unfused: dW formed, then a separate pass over all weights)
 * Usage: bench_sample DATA_DIR SAMPLES THREADS RUNS
 * Prints one line per optimizer and way: the median samples/s of RUNS by
 * the wall clock (and epoch_s: 60,000 samples) and by the process's CPU time. */
#include "mynn.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Wall and CPU seconds: on a shared machine the CPU time of one thread
 * shows the code's own speed, the wall time what a user waits. */
typedef struct { double wall, cpu; } stamp;
static stamp now(void) { return (stamp){clock_s(CLOCK_MONOTONIC), clock_s(CLOCK_PROCESS_CPUTIME_ID)}; }
static stamp since(stamp a)
{
    stamp b = now();
    return (stamp){b.wall - a.wall, b.cpu - a.cpu};
}

static int die(const char *what)
{
    fprintf(stderr, "bench_sample: %s: %s\n", what, mynn_last_error());
    return 1;
}

static mynn_net *make_net(void)
{
    static float shift[784], scale[784];
    for (int j = 0; j < 784; j++) scale[j] = 1.0f / 255.0f;
    mynn_net *net = NULL;
    mynn_status s = mynn_create(&net, 784);
    if (!s) s = mynn_add_layers(net, "256:relu,128:relu,10:softmax");
    if (!s) s = mynn_set_loss(net, MYNN_LOSS_CE);
    if (!s) s = mynn_build(net, 1, MYNN_INIT_AUTO, 1);
    if (!s) s = mynn_set_input_transform(net, "scale", shift, scale);
    if (s) {
        mynn_free(net);
        return NULL;
    }
    return net;
}

/* Seconds for one pass over the first n samples; way 0: fit, 1: steps. */
static stamp one_run(const mynn_dataset *d, int n, mynn_optimizer_kind kind, int way)
{
    stamp t = {-1, -1};
    mynn_net *net = make_net();
    if (!net) return t;
    mynn_optim_config c;
    mynn_optim_config_default(&c, kind);
    if (way == 0) {
        mynn_dataset sub = *d;
        sub.n = n;
        mynn_fit_options o;
        mynn_fit_options_default(&o);
        o.optim = c;
        o.epochs = 1;
        o.batch_size = 1;
        o.seed = 1;
        stamp t0 = now();
        if (!mynn_fit(net, &sub, NULL, &o)) t = since(t0);
    } else {
        mynn_optimizer *opt = NULL;
        if (!mynn_optimizer_create(&opt, net, &c)) {
            int ok = 1;
            stamp t0 = now();
            for (int i = 0; i < n && ok; i++) {
                float loss;
                ok = !mynn_compute_gradients(net, d->x + (size_t)i * d->n_inputs,
                                             d->y + (size_t)i * d->n_outputs, 1, &loss) &&
                     !mynn_optimizer_step(opt, c.lr);
            }
            if (ok) t = since(t0);
        }
        mynn_optimizer_free(opt);
    }
    mynn_free(net);
    return t;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_sample DATA_DIR SAMPLES THREADS RUNS\n");
        return 2;
    }
    int n = atoi(argv[2]), threads = atoi(argv[3]), runs = atoi(argv[4]);
    if (n < 1 || runs < 1 || runs > 99) {
        fprintf(stderr, "bench_sample: SAMPLES >= 1 and RUNS in 1..99\n");
        return 2;
    }
    mynn_set_threads(threads);
    mynn_dataset *train;
    if (mynn_dataset_load(&train, argv[1], NULL, 0)) return die("train data");
    if (n > train->n) n = train->n;
    static const mynn_optimizer_kind kinds[] = {MYNN_OPT_SGD, MYNN_OPT_ADAM};
    static const char *const ways[] = {"fit", "steps"};
    for (int k = 0; k < 2; k++) {
        double wall[2][99], cpu[2][99];
        for (int r = 0; r < runs; r++)  /* interleaved: both ways see the same load */
            for (int w = 0; w < 2; w++) {
                stamp t = one_run(train, n, kinds[k], w);
                if (t.wall < 0) return die("training");
                wall[w][r] = t.wall;
                cpu[w][r] = t.cpu;
            }
        for (int w = 0; w < 2; w++) {
            qsort(wall[w], (size_t)runs, sizeof wall[w][0], cmp);
            qsort(cpu[w], (size_t)runs, sizeof cpu[w][0], cmp);
            double med = wall[w][runs / 2], mc = cpu[w][runs / 2];
            printf("optimizer=%s way=%s samples_per_s=%.0f epoch_s=%.3f cpu_samples_per_s=%.0f "
                   "threads=%d\n", mynn_optimizer_name(kinds[k]), ways[w], n / med, med * 60000.0 / n,
                   n / mc, threads);
        }
    }
    mynn_dataset_free(train);
    return 0;
}
