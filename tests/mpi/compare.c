/* Helpers of the MPI tests (tests/mpi/run.sh), on the public API only:
 *   mpi_compare gen FILE N SEED   write N samples of a 3-class problem on 8
 *                                 features as CSV (label last)
 *   mpi_compare same A B [TOL]    exit 0 when every parameter of model A is
 *                                 within TOL (default 1e-5) relative of B's,
 *                                 printing the largest difference
 *   mpi_compare bits A B          exit 0 when A and B hold the same
 *                                 parameters bit for bit
 * "Relative" is |a - b| / max(|a|, |b|, s), s the RMS of the layer's
 * parameters: a weight that happens to pass near zero is compared at the
 * layer's scale, where the rounding of its sum's other terms lives. */
#include "mynn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int gen(const char *path, int n, int seed)
{
    FILE *f = fopen(path, "w");
    if (!f) return perror(path), 2;
    mynn_rng r;
    mynn_rng_seed(&r, (uint64_t)seed);
    for (int i = 0; i < n; i++) {
        float x[8];
        for (int j = 0; j < 8; j++) x[j] = 2.0f * mynn_rng_uniform(&r) - 1.0f;
        float s = x[0] - x[1] * x[2] + 0.5f * x[3] - 0.3f * x[7];
        int c = s < -0.35f ? 0 : s < 0.35f ? 1 : 2;
        for (int j = 0; j < 8; j++) fprintf(f, "%.6f,", (double)x[j]);
        fprintf(f, "%d\n", c);
    }
    return fclose(f) ? 2 : 0;
}

static mynn_net *load(const char *path)
{
    mynn_net *net = NULL;
    if (mynn_load(&net, path, 1)) {
        fprintf(stderr, "mpi_compare: %s: %s\n", path, mynn_last_error());
        exit(2);
    }
    return net;
}

static int compare(const char *pa, const char *pb, double tol, int bits)
{
    mynn_net *a = load(pa), *b = load(pb);
    size_t na = 0, nb = 0;
    const float *wa = mynn_params(a, &na), *wb = mynn_params(b, &nb);
    if (na != nb) {
        fprintf(stderr, "mpi_compare: %zu parameters against %zu\n", na, nb);
        return 1;
    }
    if (bits) {
        int same = !memcmp(wa, wb, na * sizeof *wa);
        printf("%s: %zu parameters %s\n", same ? "same" : "DIFFERENT", na,
               same ? "bit for bit" : "differ in their bits");
        return !same;
    }
    double worst = 0.0, pure = 0.0;   /* pure: against the weight alone, for the record */
    size_t at = 0, base = 0;
    for (int l = 0; l < mynn_n_layers(b); l++) {
        mynn_layer_info li;
        mynn_layer_get_info(b, l, &li);
        double ss = 0.0;
        for (size_t i = base; i < base + li.n_params; i++) ss += (double)wb[i] * wb[i];
        double rms = li.n_params ? sqrt(ss / (double)li.n_params) : 0.0;
        for (size_t i = base; i < base + li.n_params; i++) {
            double m = fmax(fmax(fabs(wa[i]), fabs(wb[i])), rms);
            double d = m > 0 ? fabs((double)wa[i] - wb[i]) / m : 0.0;
            double own = fmax(fabs(wa[i]), fabs(wb[i]));
            if (own > 0 && fabs((double)wa[i] - wb[i]) / own > pure) pure = fabs((double)wa[i] - wb[i]) / own;
            if (d > worst) {
                worst = d;
                at = i;
            }
        }
        base += li.n_params;
    }
    int ok = worst <= tol;
    printf("%s: %zu parameters, largest relative difference %.3g (parameter %zu: %.9g vs %.9g), "
           "tolerance %g; against each weight alone %.3g\n", ok ? "same" : "DIFFERENT", na, worst, at,
           (double)wa[at], (double)wb[at], tol, pure);
    mynn_free(a);
    mynn_free(b);
    return !ok;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "gen")) return gen(argv[2], atoi(argv[3]), atoi(argv[4]));
    if ((argc == 4 || argc == 5) && !strcmp(argv[1], "same"))
        return compare(argv[2], argv[3], argc == 5 ? atof(argv[4]) : 1e-5, 0);
    if (argc == 4 && !strcmp(argv[1], "bits")) return compare(argv[2], argv[3], 0, 1);
    fprintf(stderr, "usage: mpi_compare gen FILE N SEED | same A B [TOL] | bits A B\n");
    return 2;
}
