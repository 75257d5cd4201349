/* Training checkpoints for mynn_fit (mynn_fit_options.checkpoint_path and
 * .resume): everything a bit-identical continuation needs, as a safetensors
 * file (io/safetensors.h).  Not part of the public API.
 *
 * Layout.  Tensors:
 *   params            F32 [n_params]   the parameters after the epoch
 *   optimizer.state   F32 [n]          mynn_optimizer_state (absent when n = 0)
 *   rng.shuffle       U64 [4]          the shuffle generator
 *   rng.layers.<i>    U64 [4]          dropout layer i's generator
 *   shuffle.order     I32 [n_train]    the current sample order (a permutation)
 *   best.params       F32 [n_params]   early stopping's best weights (when any)
 * Metadata (strings; integers in decimal, the best loss as its IEEE bits):
 *   format=mynn-checkpoint, format_version=1, epochs_done, optimizer_steps,
 *   have_best, best_loss_bits, since_best, and the checks: layers, n_inputs,
 *   loss, n_params, optimizer, optimizer_state, batch_size, seed, shuffle,
 *   patience (0 without early stopping), n_train, data_hash. */
#ifndef MN_CHECKPOINT_H
#define MN_CHECKPOINT_H

#include "mynn.h"

#include <stdint.h>

/* The loop state of mynn_fit besides the network and the optimizer. */
typedef struct mn_fit_state {
    int epochs_done;
    mynn_rng shuffle;
    int *order;          /* [n] */
    int n;
    int early;           /* early stopping active (patience > 0 and a validation set) */
    float *best;         /* [n_params] when early */
    int have_best;
    float best_loss;
    int since_best;
} mn_fit_state;

/* A fingerprint of the training (and validation, may be NULL) data. */
uint64_t mn_fit_data_hash(const mynn_dataset *train, const mynn_dataset *val);

mynn_status mn_checkpoint_save(const char *path, const mynn_net *net, mynn_optimizer *opt,
                               const mynn_fit_options *o, uint64_t data_hash,
                               const mn_fit_state *st);

/* If path exists, check it against this run and restore net's parameters,
 * opt and *st (*found = 1); if it does not, *found = 0 and nothing changes.
 * On any error net's parameters are untouched. */
mynn_status mn_checkpoint_load(const char *path, mynn_net *net, mynn_optimizer *opt,
                               const mynn_fit_options *o, uint64_t data_hash,
                               mn_fit_state *st, int *found);

#endif
