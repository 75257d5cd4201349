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
#include <stdint.h>
#include <string.h>

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
    int relu;                     /* a cell with has_act: relu, else tanh */
    float *dh, *dc;               /* [n × H] each: in, dC/dh_t and dC/dc_t from the later
                                     steps; out, the parts for the step before that
                                     need no product with W_hh */
} mn_rec_step;

/* A kind's ONNX operator (recurrent_onnx.c): its name, its gate blocks
 * in ONNX's order as indices of PyTorch's blocks, and its attributes. */
typedef struct mn_rec_onnx_form {
    const char *op;               /* "LSTM", "GRU", "RNN" */
    int gates;
    int order[4];                 /* LSTM {0, 3, 1, 2}: i o f c from i f g o */
    int linear_before_reset;      /* GRU: r multiplies R_n with its bias, as PyTorch */
    int act_attr;                 /* RNN: activations from l->act (tanh, relu) */
} mn_rec_onnx_form;

/* A recurrent kind's own part (its mn_kind's cell): the shared engine reads
 * the rest from the layer. */
struct mn_cell {
    int gates;                    /* gate blocks: LSTM 4 (i f g o), GRU 3 (r z n), RNN 1 */
    int has_c;                    /* LSTM: a cell state */
    int has_aux;                  /* GRU: keeps R_n; dC/dR differs from dC/dP */
    void (*step)(const mn_rec_step *s, size_t lo, size_t hi);
    void (*step_back)(const mn_rec_step *s, size_t lo, size_t hi);
    int has_act;                  /* RNN: l->act (tanh or relu) picks the non-linearity */
    mn_rec_onnx_form onnx;        /* its ONNX operator */
};

/* HIDDEN[:seq][:bi] (acts: extra activations allowed, NULL-terminated,
 * the first one the default). */
mynn_status mn_rec_parse(mn_layer *l, const mn_item *it, const char *const *acts);
void mn_rec_print(const mn_layer *l, char *buf, size_t n, int with_act);
void mn_rec_describe(const mn_layer *l, char *buf, size_t n);
mynn_status mn_rec_shape(mn_layer *l, const mn_shape *in, int n_in);
/* The mn_kind members every recurrent kind shares, reading its cell from
 * l->kind->cell (MN_REC_MEMBERS lists them). */
int mn_rec_tensors(const mn_layer *l, mn_tensor_desc d[MN_MAX_TENSORS]);
void mn_rec_init(mn_layer *l, mynn_init init, mynn_rng *rng);
size_t mn_rec_cache(const mn_layer *l);
size_t mn_rec_work(const mn_layer *l, int max_batch);
size_t mn_rec_aux(const mn_layer *l);
void mn_rec_forward(mn_layer *l, const float *const *x, float *y, int n, int training);
void mn_rec_backward(mn_layer *l, const float *const *x, const float *y, float *dy, int dy_is_dz,
                     float *const *dx, int n);


/* l as its cell's operator, with its input transposed to [T, N, F] and
 * its output back to [N, T, D·H] (:seq) or [N, D·H]. */
mynn_status mn_rec_onnx(mn_onnx *g, const mn_layer *l, const char *prefix, const mn_ovalue *in, int n_in,
                        mn_ovalue *out);

/* Steps T and features F of l's input; 1 when it is read channel-major. */
int mn_rec_geometry(const mn_layer *l, int *T, int *F);

/* The gates' e^x, σ and tanh: plain arithmetic that the compiler turns into
 * vector code (libm's expf and tanhf are calls, and were half a step's
 * time).  e^x = 2^n · e^r, n = round(x / ln 2), |r| <= ln 2 / 2, e^r by its
 * Taylor series to r^6 (relative error about 1e-7); x is clamped to
 * [-87, 88], where e^x stays a normal float. */
static inline float mn_rec_exp(float x)
{
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    const float shifter = 12582912.0f;   /* 1.5 · 2^23: adding it rounds to an integer */
    float n = (x * 1.44269504f + shifter) - shifter;
    float r = (x - n * 0.693145751953125f) - n * 1.428606765330187e-06f;   /* ln 2 in two parts */
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

static inline float mn_sigmoidf(float a) { return 1.0f / (1.0f + mn_rec_exp(-a)); }
/* tanh a = 1 - 2 / (e^2a + 1): an absolute error of about 1e-7 */
static inline float mn_rec_tanh(float a) { return 1.0f - 2.0f / (mn_rec_exp(2.0f * a) + 1.0f); }

/* The rows of an n × H block that elements [lo, hi) cover: calls
 * body(b, j0, j1) for sample b, units [j0, j1), so the cells' loops run
 * over contiguous units (vector code) without a division per element. */
#define MN_REC_ROWS(lo, hi, H, b, j0, j1, ...)                                   \
    for (size_t mn_e_ = (lo); mn_e_ < (hi);) {                                   \
        const size_t b = mn_e_ / (H), j0 = mn_e_ % (H);                          \
        const size_t j1 = (hi) - mn_e_ < (H) - j0 ? j0 + ((hi) - mn_e_) : (H);    \
        __VA_ARGS__;                                                             \
        mn_e_ += j1 - j0;                                                        \
    }

/* Standalone C (recurrent_c.c): each kind's kernel text (its c_text) and
 * the members they share: the parameters as l<id>_w, the statements (the
 * whole sequence, or one step of a stream), the scratch and the state. */
extern const char mn_ctext_lstm[], mn_ctext_gru[], mn_ctext_rnn[];
mynn_status mn_rec_c_data(mn_atomic *a, const mn_cnode *x, size_t *bytes);
mynn_status mn_rec_c_code(mn_atomic *a, const mn_cnode *x, const char *const *src, int n_src, const char *dst);
size_t mn_rec_c_work(const mn_layer *l);
long mn_rec_c_state(const mn_layer *l, char *why, size_t n);
#define MN_REC_C_MEMBERS(text, bytes)                                                      \
    .c_text = text, .c_text_bytes = bytes, .c_data = mn_rec_c_data, .c_code = mn_rec_c_code, \
    .c_work = mn_rec_c_work, .c_state = mn_rec_c_state, .c_own_act = 1

/* A recurrent kind's mn_kind: its cell and these; it adds its id, names,
 * parse, print, describe, shape and C text. */
#define MN_REC_MEMBERS(cell_)                                                                        \
    .cell = &(cell_), .max_inputs = 1, .reads_seq = 1, .tensors = mn_rec_tensors, .init = mn_rec_init, \
    .cache_per_sample = mn_rec_cache, .work_size = mn_rec_work, .aux_size = mn_rec_aux,                \
    .forward = mn_rec_forward, .backward = mn_rec_backward, .onnx = mn_rec_onnx, .q_role = MN_Q_REFUSE


#endif
