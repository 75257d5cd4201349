/* Training checkpoints: write and restore mynn_fit's whole state (see
 * checkpoint.h for the file layout).  Reading trusts nothing: the generic
 * safetensors reader checks the container, this file checks every value
 * (counts, flags, the order being a permutation, finite floats) before the
 * network is touched. */
#include "checkpoint.h"
#include "core/core.h"
#include "io/safetensors.h"
#include "network/network.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CK_FORMAT "mynn-checkpoint"
#define CK_VERSION "1"
/* Parameters, best parameters and two optimizer arrays of up to 2^28 floats. */
#define CK_MAX_FILE ((uint64_t)9 << 30)

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v;
    h *= 0x100000001b3ULL;
    return h ^ (h >> 31);
}

static uint64_t hash_floats(uint64_t h, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        h = mix(h, u);
    }
    return h;
}

static uint64_t hash_set(uint64_t h, const mynn_dataset *ds)
{
    h = mix(h, (uint64_t)ds->n);
    h = mix(h, (uint64_t)ds->n_inputs);
    h = mix(h, (uint64_t)ds->n_outputs);
    h = hash_floats(h, ds->x, (size_t)ds->n * (size_t)ds->n_inputs);
    return hash_floats(h, ds->y, (size_t)ds->n * (size_t)ds->n_outputs);
}

uint64_t mn_fit_data_hash(const mynn_dataset *train, const mynn_dataset *val)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    h = hash_set(h, train);
    h = mix(h, val != NULL);
    if (val) h = hash_set(h, val);
    /* splitmix64's finaliser, so nearby inputs give unrelated fingerprints */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

/* The values a checkpoint must share with the run resuming from it. */
enum { C_LAYERS, C_INPUTS, C_LOSS, C_PARAMS, C_OPT, C_OPT_STATE, C_BATCH, C_SEED, C_SHUFFLE,
       C_PATIENCE, C_TRAIN, C_HASH, C_AUGMENT, N_CHECKS };
static const char *const check_keys[N_CHECKS] = {
    "layers", "n_inputs", "loss", "n_params", "optimizer", "optimizer_state", "batch_size",
    "seed", "shuffle", "patience", "n_train", "data_hash", "augment"};
static const char *const check_words[N_CHECKS] = {
    "layers", "inputs", "loss", "parameter count", "optimizer", "optimizer state size",
    "batch size", "seed", "shuffle setting", "patience (early stopping)",
    "training-set size", "data fingerprint (the training or validation data differ)", "augmentation"};
/* Checkpoints written before a key existed hold its value then. */
static const char *const check_missing[N_CHECKS] = {[C_AUGMENT] = "crop=0,flip=0"};

typedef struct checks {
    char *layers;                    /* malloc'ed */
    char num[N_CHECKS][32];
} checks;

static mynn_status make_checks(checks *c, const mynn_net *net, mynn_optimizer *opt,
                               const mynn_fit_options *o, uint64_t data_hash, int n, int early)
{
    memset(c, 0, sizeof *c);
    c->layers = mn_net_spec(net);
    if (!c->layers) return mn_error(MYNN_ERR_NOMEM, "out of memory describing the network");
    size_t n_state = 0;
    mynn_optimizer_state(opt, &n_state);
    snprintf(c->num[C_INPUTS], 32, "%d", net->n_inputs);
    snprintf(c->num[C_LOSS], 32, "%s", mynn_loss_name(net->loss));
    snprintf(c->num[C_PARAMS], 32, "%zu", mn_net_values(net));
    snprintf(c->num[C_OPT], 32, "%s", mynn_optimizer_name(o->optim.kind));
    snprintf(c->num[C_OPT_STATE], 32, "%zu", n_state);
    snprintf(c->num[C_BATCH], 32, "%d", o->batch_size);
    snprintf(c->num[C_SEED], 32, "%" PRIu64, o->seed);
    snprintf(c->num[C_SHUFFLE], 32, "%d", o->shuffle ? 1 : 0);
    snprintf(c->num[C_PATIENCE], 32, "%d", early ? o->patience : 0);
    snprintf(c->num[C_TRAIN], 32, "%d", n);
    snprintf(c->num[C_HASH], 32, "%016" PRIx64, data_hash);
    snprintf(c->num[C_AUGMENT], 32, "crop=%d,flip=%d", o->augment.crop, o->augment.flip);
    return MYNN_OK;
}

static const char *check_value(const checks *c, int i)
{
    return i == C_LAYERS ? c->layers : c->num[i];
}

mynn_status mn_checkpoint_save(const char *path, const mynn_net *net, mynn_optimizer *opt,
                               const mynn_fit_options *o, uint64_t data_hash,
                               const mn_fit_state *st)
{
    checks c;
    mynn_status s = make_checks(&c, net, opt, o, data_hash, st->n, st->early);
    if (s) return s;
    enum { N_STATE = 7 };
    char state[N_STATE][32];
    uint32_t bits;
    memcpy(&bits, &st->best_loss, 4);
    snprintf(state[0], 32, "%s", CK_FORMAT);
    snprintf(state[1], 32, "%s", CK_VERSION);
    snprintf(state[2], 32, "%d", st->epochs_done);
    snprintf(state[3], 32, "%ld", mynn_optimizer_steps(opt));
    snprintf(state[4], 32, "%d", st->have_best ? 1 : 0);
    snprintf(state[5], 32, "%" PRIu32, bits);
    snprintf(state[6], 32, "%d", st->since_best);
    static const char *const state_keys[N_STATE] = {"format", "format_version", "epochs_done",
                                                    "optimizer_steps", "have_best",
                                                    "best_loss_bits", "since_best"};
    const char *meta[2 * (N_STATE + N_CHECKS)];
    size_t nm = 0;
    for (int i = 0; i < N_STATE; i++, nm++) {
        meta[2 * nm] = state_keys[i];
        meta[2 * nm + 1] = state[i];
    }
    for (int i = 0; i < N_CHECKS; i++, nm++) {
        meta[2 * nm] = check_keys[i];
        meta[2 * nm + 1] = check_value(&c, i);
    }

    size_t n_state = 0;
    const float *ostate = mynn_optimizer_state(opt, &n_state);
    int n_drop = 0;
    for (int i = 0; i < net->n_layers; i++) n_drop += net->layers[i].kind->skip_rows != NULL;   /* its own random stream */
    mn_st_tensor *t = calloc((size_t)n_drop + 5, sizeof *t);
    char (*names)[32] = calloc((size_t)n_drop + 1, sizeof *names);
    if (!t || !names) {
        free(t);
        free(names);
        free(c.layers);
        return mn_error(MYNN_ERR_NOMEM, "out of memory writing checkpoint '%s'", path);
    }
    size_t nt = 0;
    t[nt++] = (mn_st_tensor){"params", MN_ST_F32, 1, {mn_net_values(net)}, net->params};
    if (n_state) t[nt++] = (mn_st_tensor){"optimizer.state", MN_ST_F32, 1, {n_state}, ostate};
    t[nt++] = (mn_st_tensor){"rng.shuffle", MN_ST_U64, 1, {4}, st->shuffle.s};
    for (int i = 0, k = 0; i < net->n_layers; i++)
        if (net->layers[i].kind->skip_rows) {
            snprintf(names[k], sizeof names[k], "rng.layers.%d", i);
            t[nt++] = (mn_st_tensor){names[k], MN_ST_U64, 1, {4}, net->layers[i].rng.s};
            k++;
        }
    t[nt++] = (mn_st_tensor){"shuffle.order", MN_ST_I32, 1, {(uint64_t)st->n}, st->order};
    if (st->have_best) t[nt++] = (mn_st_tensor){"best.params", MN_ST_F32, 1, {mn_net_values(net)}, st->best};
    s = mn_st_write(path, meta, nm, t, nt);
    free(t);
    free(names);
    free(c.layers);
    return s;
}

/* A decimal integer in [0, max]: digits only, no sign, no leading zero. */
static int parse_u64(const char *v, uint64_t max, uint64_t *out)
{
    if (!v || !*v || (v[0] == '0' && v[1])) return -1;
    uint64_t x = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        unsigned d = (unsigned)(*p - '0');
        if (x > (max - d) / 10) return -1;
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}

#define CFAIL(...) mn_error(MYNN_ERR_FORMAT, __VA_ARGS__)

static mynn_status meta_u64(const mn_st_file *f, const char *path, const char *key, uint64_t max,
                            uint64_t *out)
{
    const char *v = mn_st_meta(f, key);
    if (!v) return CFAIL("checkpoint '%s': metadata has no %s", path, key);
    if (parse_u64(v, max, out))
        return CFAIL("checkpoint '%s': metadata %s \"%.32s\" is not an integer in 0..%" PRIu64,
                     path, key, v, max);
    return MYNN_OK;
}

static mynn_status all_finite(const float *v, size_t n, const char *path, const char *what)
{
    size_t at;
    if (mn_find_nonfinite(v, n, &at))
        return CFAIL("checkpoint '%s': %s value %zu is not finite", path, what, at);
    return MYNN_OK;
}

static mynn_status restore(mn_st_file *f, const char *path, mynn_net *net, mynn_optimizer *opt,
                           const mynn_fit_options *o, uint64_t data_hash, mn_fit_state *st,
                           float *params, uint64_t *rngs)
{
    const char *fmt = mn_st_meta(f, "format");
    if (!fmt || strcmp(fmt, CK_FORMAT) != 0)
        return CFAIL("'%s' is not a mynn checkpoint (no format=%s metadata)", path, CK_FORMAT);
    const char *ver = mn_st_meta(f, "format_version");
    if (!ver || strcmp(ver, CK_VERSION) != 0)
        return CFAIL("checkpoint '%s': unsupported format_version \"%.32s\" (this build reads %s)",
                     path, ver ? ver : "", CK_VERSION);

    checks c;
    mynn_status s = make_checks(&c, net, opt, o, data_hash, st->n, st->early);
    if (s) return s;
    for (int i = 0; i < N_CHECKS && !s; i++) {
        const char *v = mn_st_meta(f, check_keys[i]);
        if (!v) v = check_missing[i];
        if (!v)
            s = CFAIL("checkpoint '%s': metadata has no %s", path, check_keys[i]);
        else if (strcmp(v, check_value(&c, i)) != 0)
            s = mn_error(MYNN_ERR_ARG,
                         "checkpoint '%s' does not match this run: %s \"%.80s\" there, \"%.80s\" "
                         "here (resume with the same settings and data, or remove the checkpoint)",
                         path, check_words[i], v, check_value(&c, i));
    }
    free(c.layers);
    if (s) return s;

    uint64_t done, steps, have_best, bits, since;
    if ((s = meta_u64(f, path, "epochs_done", INT_MAX, &done)) ||
        (s = meta_u64(f, path, "optimizer_steps", LONG_MAX, &steps)) ||
        (s = meta_u64(f, path, "have_best", 1, &have_best)) ||
        (s = meta_u64(f, path, "best_loss_bits", UINT32_MAX, &bits)) ||
        (s = meta_u64(f, path, "since_best", INT_MAX, &since)))
        return s;
    if (done < 1) return CFAIL("checkpoint '%s': epochs_done is 0", path);
    if (have_best && !st->early)
        return CFAIL("checkpoint '%s': holds best weights but no early stopping", path);
    if (done > (uint64_t)o->epochs)
        return mn_error(MYNN_ERR_ARG,
                        "checkpoint '%s' has %" PRIu64 " epochs done, more than the %d asked for",
                        path, done, o->epochs);

    uint64_t dn[1] = {mn_net_values(net)}, d4[1] = {4}, dorder[1] = {(uint64_t)st->n};
    if ((s = mn_st_read(f, "params", MN_ST_F32, 1, dn, params)) ||
        (s = all_finite(params, mn_net_values(net), path, "parameter")))
        return s;
    size_t n_state = 0;
    float *ostate = mynn_optimizer_state(opt, &n_state);
    if (n_state) {
        uint64_t ds[1] = {n_state};
        if ((s = mn_st_read(f, "optimizer.state", MN_ST_F32, 1, ds, ostate)) ||
            (s = all_finite(ostate, n_state, path, "optimizer state")))
            return s;
    }
    uint64_t shuffle[4];
    if ((s = mn_st_read(f, "rng.shuffle", MN_ST_U64, 1, d4, shuffle))) return s;
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i].kind->skip_rows) {
            char name[32];
            snprintf(name, sizeof name, "rng.layers.%d", i);
            if ((s = mn_st_read(f, name, MN_ST_U64, 1, d4, rngs + 4 * (size_t)i))) return s;
        }
    if ((s = mn_st_read(f, "shuffle.order", MN_ST_I32, 1, dorder, st->order))) return s;
    unsigned char *seen = calloc((size_t)st->n, 1);
    if (!seen) return mn_error(MYNN_ERR_NOMEM, "out of memory reading checkpoint '%s'", path);
    for (int i = 0; i < st->n && !s; i++) {
        int v = st->order[i];
        if (v < 0 || v >= st->n || seen[v])
            s = CFAIL("checkpoint '%s': shuffle.order is not a permutation of 0..%d (element %d)",
                      path, st->n - 1, i);
        else
            seen[v] = 1;
    }
    free(seen);
    if (s) return s;
    if (have_best &&
        ((s = mn_st_read(f, "best.params", MN_ST_F32, 1, dn, st->best)) ||
         (s = all_finite(st->best, mn_net_values(net), path, "best parameter"))))
        return s;
    const char *extra = mn_st_unread(f);
    if (extra) return CFAIL("checkpoint '%s': unexpected tensor \"%.64s\"", path, extra);

    /* Everything checked: apply. */
    memcpy(net->params, params, mn_net_values(net) * sizeof *params);
    mynn_optimizer_set_steps(opt, (long)steps);
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i].kind->skip_rows)
            memcpy(net->layers[i].rng.s, rngs + 4 * (size_t)i, sizeof net->layers[i].rng.s);
    memcpy(st->shuffle.s, shuffle, sizeof shuffle);
    st->epochs_done = (int)done;
    st->have_best = (int)have_best;
    uint32_t b32 = (uint32_t)bits;
    memcpy(&st->best_loss, &b32, 4);
    st->since_best = (int)since;
    return MYNN_OK;
}

mynn_status mn_checkpoint_load(const char *path, mynn_net *net, mynn_optimizer *opt,
                               const mynn_fit_options *o, uint64_t data_hash,
                               mn_fit_state *st, int *found)
{
    *found = 0;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT) return MYNN_OK;
        return mn_error(MYNN_ERR_IO, "cannot resume from checkpoint '%s': %s", path, strerror(errno));
    }
    mn_st_file *f = NULL;
    mynn_status s = mn_st_open(&f, path, CK_MAX_FILE);
    if (s) return s;
    float *params = mn_calloc(mn_net_values(net) ? mn_net_values(net) : 1, sizeof *params, "checkpoint parameters");
    uint64_t *rngs = mn_calloc(4 * (size_t)net->n_layers, sizeof *rngs, "checkpoint generators");
    if (!params || !rngs) s = MYNN_ERR_NOMEM;
    if (!s) s = restore(f, path, net, opt, o, data_hash, st, params, rngs);
    if (!s) *found = 1;
    free(params);
    free(rngs);
    mn_st_close(f);
    return s;
}
