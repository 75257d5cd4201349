/* The start-of-run agreement (mynn_mpi_check_run): every rank hashes what
 * must be the same everywhere, the hashes are gathered, and a difference
 * is named before any training step, instead of silently training N
 * different models whose gradients get summed. */
#include "mpi_internal.h"
#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h *= 0x100000001b3ULL;
    return h ^ (h >> 29);
}

static uint64_t mix_float(uint64_t h, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return mix(h, u);
}

static uint64_t mix_floats(uint64_t h, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) h = mix_float(h, v[i]);
    return mix(h, n);
}

static uint64_t mix_string(uint64_t h, const char *s)
{
    for (; s && *s; s++) h = mix(h, (unsigned char)*s);
    return mix(h, 0);
}

static uint64_t hash_data(const mynn_dataset *ds)
{
    uint64_t h = 1;
    if (!ds) return h;
    h = mix(h, (uint64_t)ds->n);
    h = mix(h, (uint64_t)ds->n_inputs);
    h = mix(h, (uint64_t)ds->n_outputs);
    h = mix(h, (uint64_t)ds->n_classes);
    h = mix_floats(h, ds->x, (size_t)ds->n * (size_t)ds->n_inputs);
    return mix_floats(h, ds->y, (size_t)ds->n * (size_t)ds->n_outputs);
}

static uint64_t hash_architecture(const mynn_net *net)
{
    uint64_t h = mix(mix(2, (uint64_t)mynn_n_inputs(net)), (uint64_t)mynn_get_loss(net));
    for (int i = 0; i < mynn_n_layers(net); i++) {
        mynn_layer_info li;
        if (mynn_layer_get_info(net, i, &li)) continue;
        h = mix(h, (uint64_t)li.kind);
        h = mix(h, (uint64_t)li.n_outputs);
        h = mix(h, (uint64_t)li.activation);
        h = mix_float(h, li.rate);
        h = mix(h, li.n_params);
    }
    return h;
}

/* The parameters, and the outputs for the first training samples, which
 * also covers the input transform. */
static uint64_t hash_weights(mynn_net *net, const mynn_dataset *train)
{
    size_t n = 0;
    const float *p = mynn_params(net, &n);
    uint64_t h = mix_floats(3, p, n);
    int rows = train && train->n < 4 ? train->n : 4, k = mynn_n_outputs(net);
    float *out = train && rows > 0 ? malloc((size_t)rows * k * sizeof *out) : NULL;
    if (out && mynn_predict(net, train->x, rows, out) == MYNN_OK) h = mix_floats(h, out, (size_t)rows * k);
    free(out);
    return h;
}

static uint64_t hash_options(const mynn_fit_options *o)
{
    const mynn_optim_config *c = &o->optim;
    const mynn_schedule *s = &o->schedule;
    uint64_t h = 4;
    const uint64_t ints[] = {(uint64_t)o->epochs, (uint64_t)o->batch_size, o->seed, (uint64_t)o->shuffle,
                             (uint64_t)o->patience, (uint64_t)o->resume, o->checkpoint_path != NULL,
                             (uint64_t)c->kind, (uint64_t)c->nesterov, (uint64_t)s->kind,
                             (uint64_t)s->step_size, (uint64_t)s->total_epochs, (uint64_t)s->warmup_epochs};
    const float floats[] = {c->lr, c->momentum, c->beta1, c->beta2, c->eps, c->alpha, c->weight_decay,
                            c->clip_norm, c->eta_plus, c->eta_minus, c->delta0, c->delta_min,
                            c->delta_max, s->gamma, s->min_lr};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) h = mix(h, ints[i]);
    for (size_t i = 0; i < sizeof floats / sizeof *floats; i++) h = mix_float(h, floats[i]);
    return h;
}

/* Gather n hashes from every rank; on a difference from rank 0, name the
 * first item that differs and (up to 8 of) the ranks that differ. */
static mynn_status agree(mynn_mpi *m, const uint64_t *mine, const char *const *names, int n,
                         mynn_status on_mismatch, const char *hint)
{
    uint64_t *all = calloc((size_t)m->world * n, sizeof *all);
    if (!all) return mn_error(MYNN_ERR_NOMEM, "out of memory gathering the ranks' fingerprints");
    mn_mpi_watch(m, "MPI_Allgather of the ranks' fingerprints");
    int rc = MPI_Allgather(mine, n, MPI_UINT64_T, all, n, MPI_UINT64_T, m->comm);
    mn_mpi_watch(m, NULL);
    if (rc != MPI_SUCCESS) {
        free(all);
        return mn_error(MYNN_ERR_COMM, "MPI_Allgather of the ranks' fingerprints failed");
    }
    mynn_status s = MYNN_OK;
    for (int i = 0; i < n && !s; i++) {
        char ranks[96] = "";
        int bad = 0;
        for (int r = 1; r < m->world; r++)
            if (all[(size_t)r * n + i] != all[i] && ++bad <= 8) {
                size_t len = strlen(ranks);
                snprintf(ranks + len, sizeof ranks - len, "%s%d", bad > 1 ? ", " : "", r);
            }
        if (bad)
            s = mn_error(on_mismatch, "the %d ranks do not have the same %s: rank%s %s%s differ%s from "
                         "rank 0 (%s)", m->world, names[i], bad > 1 ? "s" : "", ranks,
                         bad > 8 ? ", ..." : "", bad > 1 ? "" : "s", hint);
    }
    free(all);
    return s;
}

mynn_status mynn_mpi_check_run(mynn_mpi *m, mynn_net *net, const mynn_fit_options *o,
                               const mynn_dataset *train, const mynn_dataset *val,
                               const mynn_dataset *test)
{
    if (!m || !net || !o || !train) return mn_error(MYNN_ERR_NULL, "mynn_mpi_check_run: NULL argument");
    /* Causes before effects: different data also gives different input
     * normalisation, so the data are named before the weights. */
    static const char *const names[] = {"mynn version", "architecture", "training options",
                                        "training data", "validation data", "test data",
                                        "starting weights"};
    const uint64_t mine[] = {mix_string(1, MYNN_VERSION_STRING), hash_architecture(net),
                             hash_options(o), hash_data(train), hash_data(val), hash_data(test),
                             hash_weights(net, train)};
    return agree(m, mine, names, 7, MYNN_ERR_ARG,
                 "every rank needs the same binary, data files and options");
}

mynn_status mynn_mpi_check_weights(mynn_mpi *m, mynn_net *net)
{
    if (!m || !net) return mn_error(MYNN_ERR_NULL, "mynn_mpi_check_weights: NULL argument");
    static const char *const names[] = {"trained weights"};
    size_t n = 0;
    const float *p = mynn_params(net, &n);
    const uint64_t mine[] = {mix_floats(5, p, n)};
    return agree(m, mine, names, 1, MYNN_ERR_STATE, "their all-reduce results differed");
}
