/* The layer interface.  A network is a graph of nodes (network/graph.c);
 * each node is one layer, an instance of a kind, reading one or more
 * earlier nodes (or the network input) and writing one output.  Everything
 * about a kind lives in its own file (src/layers/<kind>.c) behind one
 * mn_kind: its spec item (parse and print), its shape rules, its tensors
 * with their PyTorch names, forward and backward, its inference kernel,
 * its ONNX nodes, its generated C, how it runs in an int8 model, and
 * whether a batch norm after it folds into it.  The registry (registry.c)
 * is one table of kinds; nothing else names a kind.
 *
 * Shapes.  Every node sees one sample as a C × H × W tensor stored
 * channel-major (PyTorch's NCHW per sample; a dense vector is F × 1 × 1, a
 * 1-D signal C × 1 × L), so a batch is an N × (C·H·W) matrix, row-major,
 * and flattening into a dense layer needs no reordering.
 *
 * Buffers are owned by the network and handed to the node at build time:
 * param/grad are views into the network's flat arrays, buf (non-trainable
 * state such as batch-norm statistics) lies after all parameters in the
 * parameter array, out and cache are in its activation block sized for
 * max_batch samples, aux is a small per-node scratch and work a scratch
 * shared by every node (used only within one forward or backward call).
 * forward and backward take their inputs and outputs as explicit
 * pointers, so a caller with its own buffers (the int8 engine, a test)
 * runs the same code. */
#ifndef MN_LAYER_H
#define MN_LAYER_H

#include "core/core.h"
#include "emit/atomic_file.h"
#include "emit/onnx_graph.h"
#include "kernels/kernels.h"
#include "mynn.h"

#include <stdint.h>

#define MN_MAX_INPUTS 8     /* inputs of one node (add, concat) */
#define MN_NET_INPUT (-1)   /* a node's input that is the network input */
#define MN_MAX_UNITS (1 << 24)

typedef struct mn_layer mn_layer;
typedef struct mn_kind mn_kind;
typedef struct mn_cell mn_cell;

/* t > 0: a sequence of t steps, each a c × h × w tensor (a recurrent
 * layer's input or output: c features, h = w = 1), stored time-major
 * ([T][F] per sample, PyTorch's batch_first order); 0: not a sequence.
 * Only kinds with reads_seq accept a sequence input. */
typedef struct mn_shape { int c, h, w, t; } mn_shape;

#define MN_MAX_TENSORS 8    /* tensors of one node (a bidirectional LSTM: 8) */

/* One item of a layer description ("conv:32:3:relu:pad=same"), split by
 * the spec parser (network/spec.c): the kind's name, its positional
 * fields, then its key=value fields.  index is the node's 1-based number,
 * for messages. */
#define MN_ITEM_FIELDS 8
typedef struct mn_item {
    int index;
    const char *kind;
    const char *pos[MN_ITEM_FIELDS];
    int n_pos;
    const char *key[MN_ITEM_FIELDS], *val[MN_ITEM_FIELDS];
    int n_keys;
} mn_item;

/* One named tensor of a node: name suffix, PyTorch shape, and where its
 * floats lie: at offset in the node's parameters (buffer 0) or in its
 * buffers (buffer 1).  Valid before build (offsets, not pointers). */
typedef struct mn_tensor_desc {
    const char *name;         /* "weight", "bias", "running_mean", "running_var" */
    int rank;
    size_t dims[4];
    size_t count, offset;
    int buffer;
} mn_tensor_desc;

/* A node's int8 form (src/quant): its weight as int8 with one scale per
 * output, its input's scale, and what the int8 product needs. */
typedef struct mn_qweights {
    int n_in, n_out;          /* the product's K and outputs: dense in, out; conv C·kh·kw, F */
    int positions;            /* output positions per sample (conv OH·OW; dense 1) */
    size_t image;             /* bytes of one quantised input image (conv, padded); 0: none */
    float in_scale, in_inv;   /* input x ≈ in_scale · q; in_inv = 1 / in_scale */
    int8_t *w;                /* [n_out × n_in] in the float weight's layout */
    float *w_scale, *bias;    /* [n_out] each */
    float *mult;              /* [n_out]: in_scale · w_scale, the sum's factor */
    int8_t *wp;               /* w packed for mn_qgemm */
    int32_t *corr;            /* [n_out] */
} mn_qweights;

/* One thread's int8 scratch for a chunk of samples. */
typedef struct mn_qscratch {
    uint8_t *image;           /* one quantised, padded input image */
    uint8_t *rows;            /* rows for mn_qgemm (dense inputs, conv patches) */
    int32_t *acc;             /* the sums */
} mn_qscratch;

/* A node as the C generators see it (io/export_c.c, quant/qexport_c.c):
 * the node, its id, and the batch norm folded into it (network/fold.h) or
 * NULL; q its int8 form in an int8 model.  work: the C expression of the
 * scratch its code may use (c_work floats; NULL when none).  step: the
 * code is for one step of a stream (NAME_step), not a whole prediction:
 * a node that reads a sequence reads one step of it and writes that
 * step's output, and state is the C expression of its c_state floats
 * (kept by the caller between steps; NULL when it keeps none). */
typedef struct mn_cnode {
    const mn_layer *l;
    int id;
    const mn_layer *bn;
    const mn_qweights *q;
    const char *work;
    int step;
    const char *state;
} mn_cnode;

/* How a kind runs in an int8 model. */
typedef enum mn_qrole {
    MN_Q_REFUSE = 0,          /* it cannot: quantising refuses, naming the kind */
    MN_Q_FLOAT,               /* in float: infer (or qinfer) and its C code (or qc_) */
    MN_Q_WEIGHTS              /* int8 weights and inputs: qforward, qc_ */
} mn_qrole;

struct mn_kind {
    mynn_layer_kind id;
    const char *name;                 /* mynn_layer_info.kind_name */
    /* The spec names this kind parses, NULL-terminated; or numeric_item:
     * its items start with a number (dense: 128:relu). */
    const char *const *spec_names;
    int numeric_item;
    int max_inputs;                   /* 1, or more for a join (which needs 2 or more) */
    /* 1: reads a sequence input (mn_shape.t > 0) as one: step by step
     * (dense: each step), element-wise, or as the recurrent kinds do. */
    int reads_seq;
    /* A recurrent kind's cell (rnn, lstm, gru: src/layers/recurrent.h): it
     * carries a state from step to step, and with l->stateful keeps it
     * between forwards (network/stream.c).  NULL: not recurrent. */
    const struct mn_cell *cell;

    /* --- description ----------------------------------------------- */
    /* Settings from a spec item into l (kind and index set, the rest 0);
     * errors name the item.  Shapes are not known yet. */
    mynn_status (*parse)(mn_layer *l, const mn_item *it);
    /* The item that parses back to l exactly (the graph adds its inputs). */
    void (*print)(const mn_layer *l, char *buf, size_t n);
    /* mynn info's settings column ("3x3 s1 p1 relu"). */
    void (*describe)(const mn_layer *l, char *buf, size_t n);
    /* Checks the settings against the input shapes in[0..n_in) and sets
     * l->out_shape (and what follows from the shapes, as same padding);
     * errors name the node and the shapes.  in NULL: shapes unknown (a
     * description checked for syntax only): settings alone, out_shape
     * from them where they fix it. */
    mynn_status (*shape)(mn_layer *l, const mn_shape *in, int n_in);

    /* --- parameters and state -------------------------------------- */
    /* Up to MN_MAX_TENSORS descriptors of l's tensors, trainable ones (buffer 0) then
     * non-trainable (buffer 1), in storage order; returns how many.  NULL:
     * none.  The counts give n_params and n_buffers. */
    int (*tensors)(const mn_layer *l, mn_tensor_desc d[MN_MAX_TENSORS]);
    /* Optional: non-zero, with the reason in why, when values read from a
     * file are not ones this kind can hold (a negative variance). */
    int (*check_values)(const mn_layer *l, char *why, size_t n);
    /* Optional, for a kind that reads the network input as something other
     * than numbers (embedding: token ids): MYNN_ERR_ARG naming the sample
     * (counted from first_sample), position and value that it cannot read;
     * x: [n × n_in], before any input transform. */
    mynn_status (*check_input)(const mn_layer *l, const float *x, int n, int first_sample);
    void (*init)(mn_layer *l, mynn_init init, mynn_rng *rng);   /* NULL: nothing to draw */
    size_t (*cache_per_sample)(const mn_layer *l);   /* NULL: 0 */
    size_t (*work_size)(const mn_layer *l, int max_batch);   /* NULL: 0 */
    size_t (*aux_size)(const mn_layer *l);           /* NULL: 0 */
    /* Its weight is [C × K] then its bias [C] (C output channels): a batch
     * norm right after it folds into them when its activation is the
     * identity (network/fold.h). */
    int folds_bn;

    /* --- compute ---------------------------------------------------- */
    /* x[j]: [n × inputs of j] -> y: [n × n_out].  training: a training
     * step (may keep what backward needs in l->cache, draws random
     * numbers); otherwise writes y only (and may use work). */
    void (*forward)(mn_layer *l, const float *const *x, float *y, int n, int training);
    /* After a training forward on the same x and y.  dy: [n × n_out]
     * (dC/dz itself when dy_is_dz: a fused loss); writes the parameter
     * gradients and dx[j] [n × inputs of j], overwriting it (dx[j] NULL:
     * not needed).  May overwrite the cache and dy. */
    void (*backward)(mn_layer *l, const float *const *x, const float *y, float *dy, int dy_is_dz,
                     float *const *dx, int n);
    /* Optional: backward that also applies one optimizer step u to the
     * node's parameters (off: their offset in the network's flat array,
     * where u's state is indexed), dx computed from the weights before the
     * update.  Must equal backward then mn_k_update over the node's slice
     * bit for bit, dx included.  One input only. */
    void (*backward_update)(mn_layer *l, const float *x, const float *y, float *dy, int dy_is_dz,
                            float *dx, int n, const mn_update *u, size_t off);
    /* Optional: the node draws random numbers in training (from l->rng,
     * saved in checkpoints); this draws and discards what a training
     * forward of rows samples draws (data-parallel: other ranks' rows). */
    void (*skip_rows)(mn_layer *l, int rows);
    /* Inference of c samples on the calling thread only, reading nothing
     * of l but its settings, parameters and buffers (several threads may
     * run it at once, each on its own buffers): the same floats as forward
     * with training 0.  NULL for a kind only int8 or the GEMM path runs
     * (dense, conv). */
    void (*infer)(const mn_layer *l, const float *const *x, float *y, int c);

    /* --- ONNX (emit/onnx_graph.h) ------------------------------------ */
    /* Nodes computing l from in[0..n_in) into *out (named under prefix,
     * "layers.<id>"); its tensors as initializers of the model file's
     * names.  NULL: the kind cannot be exported (refused, naming it). */
    mynn_status (*onnx)(mn_onnx *g, const mn_layer *l, const char *prefix, const mn_ovalue *in,
                        int n_in, mn_ovalue *out);

    /* --- standalone C (emit/cgen.h) ---------------------------------- */
    /* The kernel functions its code calls (written once per file if any
     * node of the kind is), static C99 needing <math.h> only; NULL: none. */
    const char *c_text;
    size_t c_text_bytes;              /* their machine code, roughly (Cortex-M4, -Os) */
    /* 1: computes nothing at prediction (dropout, flatten): its output is
     * its input. */
    int c_identity;
    /* 1: element-wise: its code may write over its input's buffer. */
    int c_in_place;
    /* Its static const arrays, named l<id>_...; NULL: none.  Also their
     * bytes (flash), with data NULL. */
    mynn_status (*c_data)(mn_atomic *a, const mn_cnode *x, size_t *bytes);
    /* Statements reading src[0..n_src) and writing dst.  NULL (and not
     * c_identity): the kind cannot be exported to C. */
    mynn_status (*c_code)(mn_atomic *a, const mn_cnode *x, const char *const *src, int n_src,
                          const char *dst);
    /* Optional: floats of scratch its code uses beside its output (at
     * x->work), the same in a prediction and a step. */
    size_t (*c_work)(const mn_layer *l);
    /* Optional: it can start a stream (read the network input one step at
     * a time) or carry one through a change of shape (a sequence in, the
     * last step out), keeping c_state floats between steps (0: none, as
     * the embedding); or -1 with the reason in why when it cannot stream
     * (a bidirectional layer).  Without it a node that reads a sequence
     * streams only when its output is a sequence (it works step by step:
     * dense, activation, add). */
    long (*c_state)(const mn_layer *l, char *why, size_t n);
    /* 1: its code computes its nonlinearity itself (the recurrent cells):
     * l->act asks for no act_ function. */
    int c_own_act;

    /* --- int8 (src/quant) ---------------------------------------------- */
    mn_qrole q_role;
    /* MN_Q_WEIGHTS: sizes of q (n_in, n_out, positions, image) from l. */
    void (*q_shape)(const mn_layer *l, mn_qweights *q);
    /* MN_Q_WEIGHTS: c samples x [c × n_in] (transformed as (x - shift) ·
     * scale first when shift is not NULL) -> z, y [c × n_out] (z == y
     * allowed; z is the pre-activation). */
    void (*qforward)(const mn_layer *l, const mn_qweights *q, const mn_qscratch *s, const float *x,
                     const float *shift, const float *scale, int c, float *z, float *y);
    /* MN_Q_FLOAT, optional: the int8 model's float form when it differs
     * from infer (batch norm: one multiply-add per value). */
    void (*qinfer)(const mn_layer *l, const float *const *x, float *y, int c);
    /* The int8 model's generated C where it differs from the float C
     * (MN_Q_WEIGHTS always; NULL: the float members serve). */
    const char *qc_text;
    size_t qc_text_bytes;
    mynn_status (*qc_data)(mn_atomic *a, const mn_cnode *x, size_t *bytes);
    mynn_status (*qc_code)(mn_atomic *a, const mn_cnode *x, const char *const *src, int n_src,
                           const char *dst, const char *shift, const char *scale);
};

struct mn_layer {
    const mn_kind *kind;
    int id;                         /* its index in the network */
    char name[32];                  /* given with as=NAME, or "" */
    int n_src;                      /* inputs: node ids, or MN_NET_INPUT */
    int src[MN_MAX_INPUTS];
    mn_shape src_shape[MN_MAX_INPUTS];  /* each input's shape, per sample */
    mn_shape in_shape, out_shape;   /* per sample; in_shape: the first input's */
    int n_in, n_out;                /* their sizes */
    /* Settings; each kind uses its own. */
    int units;                      /* dense outputs, conv filters */
    mynn_activation act;            /* dense, conv (fused), activation, add */
    float rate;                     /* dropout */
    int dims;                       /* conv and pooling: 1 (1-D) or 2 */
    int kh, kw, sh, sw;             /* conv and pooling: kernel and stride */
    int ph, pw;                     /* conv and pooling: padding */
    int pad_same;                   /* conv: padding chosen to keep the size */
    float momentum, eps;            /* batch norm */
    int vocab;                      /* embedding: ids 0..vocab-1 (units: its width) */
    int every_step;                 /* recurrent: output every step (:seq), else the last */
    int bidir;                      /* recurrent: both directions (:bi) */
    int stateful;                   /* recurrent: state carried between forwards in aux
                                       (a stream, batch 1: network/stream.c) */
    /* Views set by mynn_build. */
    float *param, *grad;            /* weight then bias */
    float *buf;                     /* non-trainable state */
    float *out;                     /* [max_batch × n_out] */
    float *cache;                   /* [max_batch × cache_per_sample] */
    float *aux, *work;
    mynn_rng rng;                   /* a kind with skip_rows: its random stream */
};

/* ---- the registry (registry.c) ------------------------------------------ */
/* Every kind, in mynn_layer_kind order. */
const mn_kind *mn_kind_at(int i);
int mn_kind_count(void);
/* The kind an item names (its first field), or NULL (unknown). */
const mn_kind *mn_kind_for_item(const char *name);
/* The kinds by id (the public API's add functions). */
const mn_kind *mn_kind_of(mynn_layer_kind id);

/* ---- helpers the kinds share (common.c, init.c) ------------------------- */
/* A node's size of an optional op (0 when the kind has none). */
size_t mn_layer_params(const mn_layer *l);
size_t mn_layer_buffers(const mn_layer *l);
size_t mn_layer_cache(const mn_layer *l);
size_t mn_layer_work(const mn_layer *l, int max_batch);
size_t mn_layer_aux(const mn_layer *l);
/* Steps of l's output: a sequence's T, else 1 (one row per sample). */
int mn_layer_steps(const mn_layer *l);
int mn_layer_tensors(const mn_layer *l, mn_tensor_desc d[MN_MAX_TENSORS]);

/* Items: an error naming the item; an integer field in [lo, hi]; "3" or
 * "3x5" (both in 1..4096); an activation name; only the keys allowed (a
 * NULL-terminated list); a key's value or NULL; no fields at all. */
mynn_status mn_item_error(const mn_item *it, const char *fmt, ...) MN_PRINTF(2, 3);
int mn_item_int(const char *s, int lo, int hi, int *out);
int mn_item_pair(const char *s, int *a, int *b);
mynn_status mn_item_act(const mn_item *it, const char *s, mynn_activation *act);
mynn_status mn_item_keys(const mn_item *it, const char *const *allowed);
const char *mn_item_key(const mn_item *it, const char *key);
mynn_status mn_item_bare(const mn_item *it);
/* "layer 3 (conv): input 64×7×7 " followed by the formatted rest. */
mynn_status mn_shape_error(const mn_layer *l, mn_shape in, const char *fmt, ...) MN_PRINTF(3, 4);
/* "layer 3 (conv): " followed by the formatted rest (MYNN_ERR_ARG). */
mynn_status mn_layer_error(const mn_layer *l, const char *fmt, ...) MN_PRINTF(2, 3);
/* The number of values of s, 0 when above MN_MAX_UNITS (or overflowing). */
size_t mn_shape_size(mn_shape s);
/* A 1-D tensor descriptor. */
mn_tensor_desc mn_vec_desc(const char *name, size_t n, size_t offset, int buffer);
/* Output length of a window sliding over n (+ padding): 0 if it does not fit. */
int mn_slide(int n, int k, int s, int p);

/* Weight w [nw] and bias b [nb] for init (AUTO: He after relu-like act,
 * else Xavier; uniform bounds sqrt(6/fan_in) or sqrt(6/(fan_in+fan_out));
 * bias 0), or the seed's U[0,1) for both. */
void mn_init_weights(float *w, size_t nw, float *b, size_t nb, mynn_init init, mynn_activation act,
                     double fan_in, double fan_out, mynn_rng *rng);

/* Generated C: the weight [C × K] and bias [C] of l (dense, conv) as
 * static arrays l<id>_w and l<id>_b, folded with the batch norm bn after
 * it when bn is not NULL (MYNN_ERR_NUMERIC when that overflows a float);
 * an int8 node's l<id>_w (int8), l<id>_mult and l<id>_b. */
mynn_status mn_c_weights(mn_atomic *a, int id, const mn_layer *l, const mn_layer *bn);
mynn_status mn_c_qweights(mn_atomic *a, int id, const mn_qweights *q);

/* Batch norm at inference (batchnorm.c), for folding and the int8 form:
 * with the running statistics, per channel c,
 *   y = γ[c] (x - mean[c]) / sqrt(var[c] + eps) + β[c] = x·s[c] + t[c],
 * so after z = W·x + b (identity activation) the pair is one layer with
 *   W'[c][k] = W[c][k]·s[c],  b'[c] = (b[c] - mean[c])·s[c] + β[c].
 * In double, rounded to float once.  mn_bn_fold: l's weight [C × K] then
 * bias [C] folded with bn into w, b; mn_bn_affine: s, t [C]. */
void mn_bn_fold(const mn_layer *l, const mn_layer *bn, float *w, float *b);
void mn_bn_affine(const mn_layer *bn, float *s, float *t);

/* MYNN_ERR_ARG unless the ONNX value in is [N, C, L] / [N, C, H, W] as
 * l (conv, pooling: dims 1 or 2) needs. */
mynn_status mn_onnx_spatial(const mn_layer *l, const char *prefix, const mn_ovalue *in);
/* v, the sequence l reads (l->in_shape.t > 0), as [N, T, F]: reshaped
 * when it arrives at another rank (a join flattened it). */
mynn_status mn_onnx_steps(mn_onnx *g, const mn_layer *l, const char *prefix, mn_ovalue *v);
/* The node's tensors as ONNX initializers "<prefix>.<name>" (the model
 * file's names); names[] receives them. */
mynn_status mn_onnx_tensors(mn_onnx *g, const mn_layer *l, const char *prefix,
                            char names[MN_MAX_TENSORS][MN_ONNX_NAME]);

#endif
