/* What the recurrent kinds (lstm.c, gru.c, rnn.c) share: the spec item
 * HIDDEN[:seq][:bi][:ACT], the shape rules, the tensors in PyTorch's
 * names, and the walk through time (recurrent.c).  Each kind supplies its
 * cell: how many gate blocks its weights have and one step forward and
 * backward, element by element.
 *
 * A sample's input is T steps of F features, time-major ([T][F]), read
 * from: a sequence (a recurrent layer, an embedding, a dense layer on
 * every step); the network input as T × F row-major (--shape TxF: T = c,
 * F = h·w); or a 1-D layer output C × 1 × L stored channel-major (conv1d,
 * pooling), read as L steps of C features (the transpose PyTorch users
 * write as x.transpose(1, 2)). */
#ifndef MN_RECURRENT_H
#define MN_RECURRENT_H

#include "layer.h"

#include <math.h>

/* One step of one direction, for all n samples.  Arrays are [n][T][·]
 * per direction; a pointer here is at step t of sample 0, and stride is
 * how far apart two samples' rows are.  Element i of the n × H block is
 * sample i / H, unit i % H. */
typedef struct mn_rec_step {
    int H, first;                 /* first: the direction's first step (state zero) */
    float *p;                     /* [G·H] pre-activations from the input (b_ih added);
                                     the step leaves the gates' values there, backward dP */
    size_t sp;                    /* p's stride: T·G·H */
    const float *r;               /* [n × G·H] h_prev·W_hhᵀ, NULL at the first step */
    const float *bh;              /* b_hh [G·H] */
    float *hp, *hp_next;          /* h_prev at t ([T][H] per sample), and where h goes
                                     for the next step (NULL after the last) */
    float *cp, *c, *cp_next;      /* LSTM: c_prev, c, and c for the next step */
    float *aux;                   /* GRU: R_n (the n gate's recurrent part with b_hn) */
    size_t sh;                    /* stride of hp, c, aux: T·H */
    float *y;                     /* where h is an output (NULL: not at this step) */
    size_t sy;
    /* backward */
    const float *dy;              /* dC/dh from the output at this step, or NULL */
    size_t sdy;
    float *dr;                    /* GRU: dC/dR [n][T][G·H] at t (stride sp); else NULL */
    float *dh, *dc;               /* [n × H] each: in, dC/dh_t and dC/dc_t from the later
                                     steps; out, the parts for the step before that
                                     need no product with W_hh */
} mn_rec_step;

typedef struct mn_cell {
    int gates;                    /* gate blocks: LSTM 4 (i f g o), GRU 3 (r z n), RNN 1 */
    int has_c;                    /* LSTM: a cell state */
    int has_aux;                  /* GRU: keeps R_n; dC/dR differs from dC/dP */
    void (*step)(const mn_rec_step *s, size_t lo, size_t hi);
    void (*step_back)(const mn_rec_step *s, size_t lo, size_t hi);
} mn_cell;

/* HIDDEN[:seq][:bi] (acts: extra activations allowed, NULL-terminated,
 * the first one the default). */
mynn_status mn_rec_parse(mn_layer *l, const mn_item *it, const char *const *acts);
void mn_rec_print(const mn_layer *l, char *buf, size_t n, int with_act);
void mn_rec_describe(const mn_layer *l, char *buf, size_t n);
mynn_status mn_rec_shape(mn_layer *l, const mn_shape *in, int n_in);
int mn_rec_tensors(const mn_cell *cell, const mn_layer *l, mn_tensor_desc d[MN_MAX_TENSORS]);
void mn_rec_init(const mn_cell *cell, mn_layer *l, mynn_rng *rng);
size_t mn_rec_cache(const mn_cell *cell, const mn_layer *l);
size_t mn_rec_work(const mn_cell *cell, const mn_layer *l, int max_batch);
void mn_rec_forward(const mn_cell *cell, mn_layer *l, const float *x, float *y, int n);
void mn_rec_backward(const mn_cell *cell, mn_layer *l, const float *x, const float *dy, float *dx, int n);

/* Steps T and features F of l's input; 1 when it is read channel-major. */
int mn_rec_geometry(const mn_layer *l, int *T, int *F);

static inline float mn_sigmoidf(float a) { return 1.0f / (1.0f + expf(-a)); }

#endif
