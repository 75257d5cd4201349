/*
 * mynn.h - a small neural-network library in C11.
 *
 * Each layer computes Y = f(W·X + B); the output of one layer is the input of
 * the next.  Training runs the seed's backward pass per layer:
 *     dC/dz = f'(z) ⊙ dC/dY,  dC/dW = dC/dz · Xᵀ,  dC/dB = dC/dz,  dC/dX = Wᵀ · dC/dz
 *
 * Conventions used by every function below:
 *  - A batch of N samples is an N × features matrix, row-major (sample n is
 *    the contiguous row x[n*features .. n*features+features-1]).
 *  - A dense layer's weight is [outputs × inputs] (PyTorch's nn.Linear layout)
 *    and its bias [outputs].
 *  - Every fallible call returns a mynn_status; MYNN_OK is 0.  On failure,
 *    mynn_last_error() returns a readable message (per thread).  The library
 *    never exits, aborts, or prints to stdout.
 *  - Objects are opaque handles with create/free pairs; free(NULL) is a no-op.
 */
#ifndef MYNN_H
#define MYNN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && !defined(MYNN_STATIC_BUILD)
#define MYNN_API __attribute__((visibility("default")))
#else
#define MYNN_API
#endif

#define MYNN_VERSION_MAJOR 0
#define MYNN_VERSION_MINOR 1
#define MYNN_VERSION_PATCH 0
#define MYNN_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------------ */
/* Status and errors                                                         */
/* ------------------------------------------------------------------------ */

typedef enum mynn_status {
    MYNN_OK = 0,
    MYNN_ERR_NULL,        /* a required pointer argument was NULL */
    MYNN_ERR_ARG,         /* an argument value is out of range or unknown */
    MYNN_ERR_SHAPE,       /* sizes do not match (inputs, outputs, batch) */
    MYNN_ERR_STATE,       /* call not valid now (no layers, not built, ...) */
    MYNN_ERR_NOMEM,       /* allocation failed or would exceed a limit */
    MYNN_ERR_NUMERIC,     /* NaN or infinity in input, loss or weights */
    MYNN_ERR_IO,          /* a file could not be opened, read or written */
    MYNN_ERR_FORMAT,      /* a file's content is malformed */
    MYNN_ERR_STOPPED,     /* training stopped early by a callback (not a failure) */
    MYNN_ERR_COMM         /* a reducer (data-parallel training) reported a failure */
} mynn_status;

/* The message of the last failed call on this thread ("" if none). */
MYNN_API const char *mynn_last_error(void);
/* A fixed name for a status ("MYNN_ERR_SHAPE", ...). */
MYNN_API const char *mynn_status_name(mynn_status s);

/* ------------------------------------------------------------------------ */
/* Activations, losses, initialisation                                       */
/* ------------------------------------------------------------------------ */

typedef enum mynn_activation {
    MYNN_ACT_IDENTITY = 0,
    MYNN_ACT_SIGMOID,
    MYNN_ACT_TANH,
    MYNN_ACT_RELU,
    MYNN_ACT_LEAKY_RELU,  /* slope 0.01 for z < 0, as PyTorch's default */
    MYNN_ACT_GELU,        /* exact form z·Φ(z), as PyTorch's default */
    MYNN_ACT_SOFTMAX,     /* over each sample's outputs */
    MYNN_ACT_COUNT
} mynn_activation;

/* Names: "identity" (or "linear"), "sigmoid", "tanh", "relu", "leaky_relu",
 * "gelu", "softmax".  Returns MYNN_ERR_ARG for an unknown name. */
MYNN_API mynn_status mynn_activation_from_name(const char *name, mynn_activation *out);
MYNN_API const char *mynn_activation_name(mynn_activation a);

typedef enum mynn_loss {
    /* mean over outputs and batch of (a - y)^2 (PyTorch MSELoss); for one
     * output and one sample exactly the seed's cost, derivative 2(a - y). */
    MYNN_LOSS_MSE = 0,
    /* mean over outputs and batch of -[y log a + (1-y) log(1-a)] (BCELoss);
     * needs a sigmoid output layer; fused stable gradient (a - y). */
    MYNN_LOSS_BCE,
    /* -sum_k y_k log a_k, averaged over the batch (CrossEntropyLoss with
     * one-hot or soft targets); needs a softmax output layer; fused (a - y). */
    MYNN_LOSS_CE,
    MYNN_LOSS_COUNT
} mynn_loss;

/* Names: "mse", "bce", "ce" (also "cross_entropy"). */
MYNN_API mynn_status mynn_loss_from_name(const char *name, mynn_loss *out);
MYNN_API const char *mynn_loss_name(mynn_loss l);

typedef enum mynn_init {
    MYNN_INIT_AUTO = 0,   /* He for relu/leaky_relu/gelu, Xavier otherwise */
    MYNN_INIT_XAVIER,     /* W ~ U(-a, a), a = sqrt(6 / (in + out)); B = 0 */
    MYNN_INIT_HE,         /* W ~ U(-a, a), a = sqrt(6 / in); B = 0 */
    MYNN_INIT_UNIFORM01   /* W, B ~ U[0, 1): the seed's initialisation */
} mynn_init;

/* ------------------------------------------------------------------------ */
/* Random numbers                                                            */
/* ------------------------------------------------------------------------ */
/* One generator for everything (initialisation, shuffling, dropout):
 * xoshiro256** seeded through splitmix64.  Integer arithmetic only, so one
 * seed gives the same stream on every machine. */
typedef struct mynn_rng { uint64_t s[4]; } mynn_rng;

MYNN_API void     mynn_rng_seed(mynn_rng *r, uint64_t seed);
MYNN_API uint64_t mynn_rng_next(mynn_rng *r);
/* Uniform float in [0, 1) with 24 random bits. */
MYNN_API float    mynn_rng_uniform(mynn_rng *r);
/* Uniform integer in [0, n), unbiased; n > 0. */
MYNN_API uint64_t mynn_rng_below(mynn_rng *r, uint64_t n);

/* ------------------------------------------------------------------------ */
/* Network                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct mynn_net mynn_net;

typedef enum mynn_layer_kind {
    MYNN_LAYER_DENSE = 0,
    MYNN_LAYER_DROPOUT,
    MYNN_LAYER_CONV,            /* 2-D convolution (1-D: dims = 1, height 1) */
    MYNN_LAYER_MAXPOOL,
    MYNN_LAYER_AVGPOOL,
    MYNN_LAYER_GLOBAL_AVGPOOL,
    MYNN_LAYER_FLATTEN,
    MYNN_LAYER_BATCHNORM,
    MYNN_LAYER_ACTIVATION,
    MYNN_LAYER_ADD,             /* element-wise sum of 2 or more inputs (a residual's join) */
    MYNN_LAYER_CONCAT,          /* concatenation of 2 or more inputs along the channels */
    MYNN_LAYER_EMBEDDING,       /* token ids to vectors (nn.Embedding) */
    MYNN_LAYER_RNN,             /* recurrent layers over a sequence: Elman (tanh or relu), */
    MYNN_LAYER_LSTM,            /* LSTM and GRU, PyTorch's equations and tensors */
    MYNN_LAYER_GRU
} mynn_layer_kind;

/* A new, empty network taking n_inputs features per sample. */
MYNN_API mynn_status mynn_create(mynn_net **out, int n_inputs);
MYNN_API void        mynn_free(mynn_net *net);

/* Append a fully connected layer of n_outputs units with activation act. */
MYNN_API mynn_status mynn_add_dense(mynn_net *net, int n_outputs, mynn_activation act);
/* Append an inverted-dropout layer: in training, each value is zeroed with
 * probability rate and the rest scaled by 1/(1-rate); identity at
 * prediction.  0 <= rate < 1. */
MYNN_API mynn_status mynn_add_dropout(mynn_net *net, float rate);
/* Append layers from a description such as "256:relu,dropout:0.2,10:softmax"
 * (units:activation, activation optional meaning identity), or with the
 * spatial kinds "conv:32:3:relu:pad=1,maxpool:2,flatten,128:relu,10:softmax":
 *   UNITS[:ACT]                               dense
 *   conv:F:K[xK2][:ACT][:stride=S][:pad=P|same]   2-D convolution (conv2d too)
 *   conv1d:F:K[:ACT][:stride=S][:pad=P|same]
 *   maxpool:K[:stride=S][:pad=P]  avgpool:K[:stride=S][:pad=P]  maxpool1d:K  avgpool1d:K
 *   gap  flatten  batchnorm  dropout:RATE  ACT (an activation layer)
 *   add[:ACT]  concat                         joins of two or more inputs
 * A network is a graph: each item reads the one before unless it says
 * otherwise, and blocks branch and join:
 *   res(A | B)[:ACT]    the sum of A and B on the block's input (B absent:
 *                       the input itself): an add node after the branches;
 *                       res(conv:32:3:pad=same,batchnorm,relu,conv:32:3:pad=same,batchnorm):relu
 *   cat(A | B | ...)    their concatenation along the channels: a concat node
 *   (A)xN, res(...)xN   the block N times, each reading the one before
 * and any item may name itself (as=NAME) and its inputs (from=REF+REF, a
 * REF being a name, a node index 0.. (the model file's layers.<i>), a
 * negative count back from the item (-1: the one before), or input):
 *   conv:16:3:pad=same:as=a,relu,conv:16:3:pad=same,add:relu:from=a+-1
 * docs/cli.md has the whole grammar. */
MYNN_API mynn_status mynn_add_layers(mynn_net *net, const char *spec);

/* The graph node by node: item is one description item ("conv:32:3:relu",
 * "add:relu", "concat", ...: no commas, '|' or parentheses) reading the
 * nodes inputs[0..n_inputs) (ids as *id returns them, MYNN_INPUT for the
 * network input; all added before); n_inputs 0 reads the last node added.
 * *id (may be NULL) receives the new node's id: 0 for the first, then 1,
 * 2, ... (its layer index everywhere: mynn_layer_get_info, the model
 * file's layers.<i>).  A residual block:
 *     int x = MYNN_INPUT, a, b, c, d, y, both[2];
 *     mynn_add_node(net, "conv:32:3:pad=same", &x, 1, &a);
 *     mynn_add_node(net, "batchnorm", &a, 1, &b);
 *     mynn_add_node(net, "relu", &b, 1, &c);
 *     mynn_add_node(net, "conv:32:3:pad=same", &c, 1, &d);
 *     both[0] = d, both[1] = x;            (the shortcut: the block's input)
 *     mynn_add_node(net, "add:relu", both, 2, &y);
 * The net's output is its last node, which must be dense by mynn_build
 * (and every other node must be read by a later one). */
#define MYNN_INPUT (-1)
MYNN_API mynn_status mynn_add_node(mynn_net *net, const char *item, const int *inputs, int n_inputs,
                                   int *id);

/* Check a layer description's syntax and settings without any input shape:
 * *out is a net whose layers can be inspected (kinds, units, activations;
 * not their shapes) but that cannot be built.  Free it with mynn_free. */
MYNN_API mynn_status mynn_parse_layers(mynn_net **out, const char *spec);

/* Shapes.  A sample is a C × H × W tensor stored channel-major (PyTorch's
 * NCHW for one sample); a plain vector of n features is n × 1 × 1, a 1-D
 * signal C × 1 × L.  Set the input shape before adding layers (c·h·w, or
 * c·length, must equal n_inputs; default: n_inputs × 1 × 1).  Each layer's
 * output shape follows when it is added; a layer that does not fit its
 * input gives MYNN_ERR_SHAPE naming the layer and the shapes. */
MYNN_API mynn_status mynn_set_input_shape(mynn_net *net, int c, int h, int w);
MYNN_API mynn_status mynn_set_input_shape_1d(mynn_net *net, int c, int length);
/* shape[3] receives c, h, w; returns 0 (flat), 1 (C × L) or 2 (C × H × W). */
MYNN_API int mynn_input_shape(const mynn_net *net, int shape[3]);

#define MYNN_PAD_SAME (-1)   /* padding that keeps the size (stride 1, odd kernel) */
/* Convolution of filters output channels, kernel kh × kw, the same stride
 * in both directions (>= 1) and zero padding pad (>= 0, or MYNN_PAD_SAME),
 * with a fused activation (not softmax).  Weight [filters, C, kh, kw] and
 * bias [filters], as PyTorch's nn.Conv2d. */
MYNN_API mynn_status mynn_add_conv2d(mynn_net *net, int filters, int kh, int kw, int stride,
                                     int pad, mynn_activation act);
/* 1-D convolution over C × L samples (nn.Conv1d, weight [filters, C, k]). */
MYNN_API mynn_status mynn_add_conv1d(mynn_net *net, int filters, int k, int stride, int pad,
                                     mynn_activation act);
/* Max or average pooling (kind MYNN_LAYER_MAXPOOL or MYNN_LAYER_AVGPOOL),
 * a k × k window (1-D: k), stride 0 meaning k; no padding (the description's
 * pad=P, through mynn_add_layers or mynn_add_node, pads), floor rounding. */
MYNN_API mynn_status mynn_add_pool2d(mynn_net *net, mynn_layer_kind kind, int k, int stride);
MYNN_API mynn_status mynn_add_pool1d(mynn_net *net, mynn_layer_kind kind, int k, int stride);
/* Mean over each channel's plane: C × H × W -> C. */
MYNN_API mynn_status mynn_add_global_avgpool(mynn_net *net);
/* C × H × W -> C·H·W (a dense layer after a spatial one flattens anyway). */
MYNN_API mynn_status mynn_add_flatten(mynn_net *net);
/* Batch normalisation per channel (PyTorch's BatchNorm1d/2d: momentum 0.1,
 * eps 1e-5): batch statistics in training, running statistics in
 * prediction.  Not allowed as the first layer. */
MYNN_API mynn_status mynn_add_batchnorm(mynn_net *net);
/* An activation on its own (element-wise; softmax over each sample). */
MYNN_API mynn_status mynn_add_activation(mynn_net *net, mynn_activation act);

/* Choose the cost (default MSE).  Checked against the output activation by
 * mynn_build. */
MYNN_API mynn_status mynn_set_loss(mynn_net *net, mynn_loss loss);

/* Allocate parameters, gradients and every activation/scratch buffer for
 * batches of up to max_batch samples, and initialise the weights with
 * generator seed.  Nothing is allocated after this by predict or training.
 * Layers cannot be added afterwards.  Calling it again re-initialises. */
MYNN_API mynn_status mynn_build(mynn_net *net, int max_batch, mynn_init init, uint64_t seed);

/* Optional input transform applied before the first layer, in training and
 * prediction alike: x'[j] = (x[j] - shift[j]) * scale[j].  Arrays of
 * n_inputs; kind is a label stored with the model ("scale", "standard").
 * Passing NULL arrays removes the transform. */
MYNN_API mynn_status mynn_set_input_transform(mynn_net *net, const char *kind,
                                              const float *shift, const float *scale);
/* The transform mynn train's --normalize computes, from n training samples
 * x (n × n_inputs): kind "scale" maps the global min/max of all values to
 * [0, 1] (shift = min, scale = 1/(max - min), 1 if all values are equal);
 * "standard" gives each feature mean 0 and standard deviation 1 (shift =
 * mean, scale = 1/std, 1 for a constant feature; computed in double);
 * "none" removes the transform.  The same inputs give the same bits. */
MYNN_API mynn_status mynn_fit_input_transform(mynn_net *net, const char *kind, const float *x, int n);
/* The current input transform: returns its kind ("scale", "standard", ...)
 * and points *shift and *scale at its arrays (n_inputs each), or returns
 * NULL (and sets them to NULL) when there is none.  shift/scale may be NULL. */
MYNN_API const char *mynn_get_input_transform(const mynn_net *net, const float **shift,
                                              const float **scale);

/* Predict n samples: x is n × n_inputs, y receives n × n_outputs.  Any n >= 1
 * (batches larger than max_batch are processed in chunks; a different
 * chunking may change the last bits).  NaN or infinity in x gives
 * MYNN_ERR_NUMERIC naming the first such sample and feature, and y is not
 * written. */
MYNN_API mynn_status mynn_predict(mynn_net *net, const float *x, int n, float *y);

/* Forward and backward on one batch (n <= max_batch): fills the gradient
 * buffer with dC/dparams of the mean cost and stores the cost in *loss
 * (loss may be NULL).  Parameters are not changed.  NaN or infinity in x
 * or y, or a non-finite cost, gives MYNN_ERR_NUMERIC. */
MYNN_API mynn_status mynn_compute_gradients(mynn_net *net, const float *x, const float *y,
                                            int n, float *loss);
/* Plain gradient descent: params -= lr * grads. */
MYNN_API mynn_status mynn_sgd_update(mynn_net *net, float lr);
/* One training step: mynn_compute_gradients, then mynn_sgd_update. */
MYNN_API mynn_status mynn_train_step(mynn_net *net, const float *x, const float *y,
                                     int n, float lr, float *loss);
/* The cost of predictions a (n × n_outputs) against targets y. */
MYNN_API mynn_status mynn_loss_value(const mynn_net *net, const float *a, const float *y,
                                     int n, float *loss);

/* Introspection. */
MYNN_API int    mynn_n_inputs(const mynn_net *net);
MYNN_API int    mynn_n_outputs(const mynn_net *net);   /* 0 before any layer */
/* Floats of one sample's targets: n_outputs, except for a network whose
 * output is a sequence of T steps under a softmax and cross-entropy (a
 * language model): T class ids, one per step (integers stored as floats,
 * as PyTorch's CrossEntropyLoss takes class indices). */
MYNN_API int    mynn_n_targets(const mynn_net *net);
MYNN_API int    mynn_n_layers(const mynn_net *net);
MYNN_API int    mynn_max_batch(const mynn_net *net);   /* 0 before build */
MYNN_API mynn_loss mynn_get_loss(const mynn_net *net);

typedef struct mynn_layer_info {
    mynn_layer_kind kind;
    const char *kind_name;      /* "dense", "dropout", "conv", "maxpool", "avgpool",
                                   "gap", "flatten", "batchnorm", "activation", "add",
                                   "concat", "embedding", "rnn", "lstm", "gru" */
    int n_inputs, n_outputs;    /* features per sample (n_inputs: of its first input) */
    mynn_activation activation; /* dense, conv, activation */
    float rate;                 /* dropout only */
    size_t n_params;
    int in_shape[3], out_shape[3];  /* per sample: channels, height, width */
    int dims;                   /* conv and pooling: 1 or 2 */
    int kernel[2], stride[2], pad[2];  /* conv and pooling: [height, width] */
    float momentum, eps;        /* batch norm */
    /* A sequence (a recurrent layer's input or output, an embedding's
     * output): its steps, the shapes above then being one step's; 0: not
     * a sequence. */
    int in_steps, out_steps;
} mynn_layer_info;
MYNN_API mynn_status mynn_layer_get_info(const mynn_net *net, int i, mynn_layer_info *info);
/* Node i's inputs: node ids, MYNN_INPUT for the network input; up to max
 * into ids (may be NULL); returns how many it has (0 when i is out of range). */
MYNN_API int mynn_layer_inputs(const mynn_net *net, int i, int *ids, int max);
/* Node i's description item ("conv:32:3:relu:stride=1:pad=1", without
 * its inputs), its settings as mynn info shows them ("3x3 s1 p1 relu"),
 * and its name (as=NAME, "" if none); each output may be NULL. */
MYNN_API mynn_status mynn_layer_describe(const mynn_net *net, int i, char *item, size_t item_size,
                                         char *settings, size_t settings_size, const char **name);

/* The flat parameter and gradient buffers (valid after build).  Layer i's
 * weight then bias are contiguous, layers in order.  *n receives the count. */
MYNN_API float *mynn_params(mynn_net *net, size_t *n);
MYNN_API float *mynn_grads(mynn_net *net, size_t *n);
/* Views of one dense layer's weight [out × in] and bias [out]; NULL otherwise. */
MYNN_API float *mynn_layer_weight(mynn_net *net, int i);
MYNN_API float *mynn_layer_bias(mynn_net *net, int i);

/* A named tensor of layer i: "weight", "bias" (dense, conv, batch norm's
 * γ and β; an embedding's weight [vocab, dim]), "running_mean",
 * "running_var" (batch norm), "weight_ih_l0", "weight_hh_l0",
 * "bias_ih_l0", "bias_hh_l0" and with "_reverse" (rnn, lstm, gru: nn.RNN's,
 * nn.LSTM's, nn.GRU's).  Returns the data
 * (valid after build) and fills its shape in PyTorch's layout (dense
 * [out, in]; conv [out, in, kh, kw], 1-D [out, in, k]; the others [C]);
 * NULL when the layer has no such tensor.  rank or dims may be NULL. */
MYNN_API float *mynn_layer_tensor(mynn_net *net, int i, const char *name, int *rank,
                                  size_t dims[4]);
/* The name of layer i's tensor k (k from 0, in the model file's order:
 * "weight", "bias", ...; a recurrent layer's "weight_ih_l0", ...), or NULL
 * past the last. */
MYNN_API const char *mynn_layer_tensor_name(const mynn_net *net, int i, int k);

/* Number of threads used by the kernels (OpenMP builds; 0 = library default). */
MYNN_API void mynn_set_threads(int n);
MYNN_API int  mynn_get_threads(void);


/* ------------------------------------------------------------------------ */
/* Datasets                                                                  */
/* ------------------------------------------------------------------------ */
/* An open struct: callers may fill one with their own arrays (and then own
 * them); the loaders allocate and mynn_dataset_free releases. */
/* Missing values in CSV data: an empty cell, NA, NaN (any case) or ?. */
typedef enum mynn_missing {
    MYNN_MISSING_ERROR = 0, /* refuse, naming file, line and column (default) */
    MYNN_MISSING_DROP,      /* drop the row */
    MYNN_MISSING_MEAN,      /* numeric input: the column's mean over the rows present */
    MYNN_MISSING_MEDIAN     /* numeric input: the column's median (mean of the middle two) */
} mynn_missing;
/* Names: "error", "drop", "mean", "median". */
MYNN_API mynn_status mynn_missing_from_name(const char *name, mynn_missing *out);
MYNN_API const char *mynn_missing_name(mynn_missing m);

/* A feature encoding: how the columns of a CSV file become the network's
 * inputs and classes, learned from training data and applied unchanged to
 * later files (so a saved model predicts the same anywhere).
 *  - Named classes: a label column holding any cell that is not a number is
 *    a column of class names; class k is the k-th distinct name in byte
 *    order (strcmp on the UTF-8 bytes: "Iris-setosa" < "Iris-versicolor",
 *    "Zebra" < "apple", "10" < "9").
 *  - Categorical inputs: each categorical column becomes one input per
 *    category seen in training, in byte order, one-hot (1 for the row's
 *    category, 0 elsewhere); numeric columns stay one input.  Inputs keep
 *    the file's column order.  A category unseen in training encodes as all
 *    zeros (counted in mynn_dataset.n_unseen) or, with strict, is an error.
 *  - Missing values: mean/median imputation values of the numeric inputs.
 *    A missing categorical cell encodes as all zeros under mean/median.
 * The loader builds one (mynn_dataset.encoding) when the data needs it;
 * mynn_set_encoding stores it in a network's metadata, which mynn_save
 * writes and mynn_load reads back (keys "class_names", "input_encoding",
 * "missing"; their values are JSON texts, see docs/cli.md); mynn_get_encoding
 * returns it for mynn_load_options.encoding. */
typedef struct mynn_encoding mynn_encoding;

typedef struct mynn_dataset {
    int n;            /* samples */
    int n_inputs;     /* features per sample */
    int n_outputs;    /* target columns: n_classes (one-hot) or regression targets */
    int n_classes;    /* > 0 for classification, 0 for regression */
    float *x;         /* [n × n_inputs] */
    float *y;         /* [n × n_outputs] */
    int *labels;      /* [n] class indices (classification), else NULL */
    int owned;        /* non-zero: x, y, labels and the struct are freed by mynn_dataset_free */
    int shape[3];     /* per-sample channels, height, width as the file or the options
                         give it (IDX images: 1 × rows × cols); all 0: a flat vector */
    int shape_dims;   /* 2: C × H × W, 1: C × L (shape[1] = 1), 0: none */
    /* CSV with named classes, categorical inputs or imputed values: the
     * encoding learned (owned, freed with the dataset; NULL when the data
     * needed none, or when an encoding was given in the load options). */
    mynn_encoding *encoding;
    int n_unseen;     /* cells of unseen categories encoded as all zeros */
    char unseen_first[160];   /* "file:line: column N: unseen category \"v\"" of the first */
} mynn_dataset;

typedef struct mynn_load_options {
    int label_column;   /* CSV: 0-based label column; -1 = last (default) */
    int n_targets;      /* CSV regression: target columns starting at label_column (0 = classification) */
    int header;         /* CSV: 1 = first row is a header, 0 = none, -1 = detect (default) */
    char separator;     /* CSV: ',' default; 0 = detect among , ; tab space */
    int n_classes;      /* classification: 0 = max label + 1; else labels must be < n_classes */
    int skip_nonfinite; /* 1: drop rows holding NaN/inf instead of failing */
    int no_labels;      /* 1: every column is an input (predict on unlabelled data) */
    int shape[3];       /* per-sample c, h, w of the inputs (0s: none; IDX gives its own):
                           c·h·w must equal the number of inputs (MYNN_ERR_SHAPE) */
    int shape_dims;     /* 2: C × H × W, 1: C × L (shape[1] = 1), 0: no shape */
    /* CSV inputs of strings: NULL or "auto" (default): a column holding any
     * cell that is neither a number nor missing is categorical; "none": every
     * input must be a number; or 0-based column numbers "0,3" (numbers in
     * those columns are categories too). */
    const char *categorical;
    mynn_missing missing;   /* CSV missing values (default MYNN_MISSING_ERROR) */
    /* Apply this encoding (a trained model's, from mynn_get_encoding)
     * instead of learning one: same columns, categories, classes and
     * imputation values.  The file may hold the label column(s) or not (its
     * column count decides; with no_labels they are skipped unread).  A
     * class name the encoding lacks is an error naming line and value. */
    const mynn_encoding *encoding;
    int strict;             /* with encoding: an unseen category is an error, not zeros */
    /* .npz: the arrays of inputs and labels/targets (NULL: "x" and "y"). */
    const char *npz_x, *npz_y;
} mynn_load_options;
MYNN_API void mynn_load_options_default(mynn_load_options *o);

/* Load a dataset, recognising the format from the content: CSV, FANN
 * training data ("pairs inputs outputs" first line), an IDX images file
 * (labels found beside it: *-images-idx3-ubyte[.gz] -> *-labels-idx1-ubyte[.gz]),
 * a folder holding train-* / t10k-* IDX files (which=0 train, 1 test), or
 * NumPy data:
 *  - .npy: one C-order little-endian array of float32/64, int8..64,
 *    uint8..64 or bool; a 2-D array is a table whose columns take the CSV
 *    roles (label_column, n_targets, no_labels); with no_labels any shape
 *    [n, ...] is n samples of the remaining dimensions' values.
 *  - .npz (np.savez, or np.savez_compressed in builds with zlib): arrays
 *    npz_x [n, ...] (inputs, flattened) and npz_y: 1-D integers or bool are
 *    class indices (floats too when n_classes > 0), else targets [n] or
 *    [n, k].  Without npz_y only inputs are loaded.
 * Errors name the file, line and column at fault. opt may be NULL. */
MYNN_API mynn_status mynn_dataset_load(mynn_dataset **out, const char *path,
                                       const mynn_load_options *opt, int which);
MYNN_API void mynn_dataset_free(mynn_dataset *ds);
/* The encoding: input columns of the raw file, encoded inputs, named
 * classes (0 when labels are class indices) and their names. */
MYNN_API void        mynn_encoding_free(mynn_encoding *e);
MYNN_API int         mynn_encoding_n_columns(const mynn_encoding *e);
MYNN_API int         mynn_encoding_n_inputs(const mynn_encoding *e);
MYNN_API int         mynn_encoding_n_classes(const mynn_encoding *e);
MYNN_API const char *mynn_encoding_class_name(const mynn_encoding *e, int k);  /* NULL if out of range */
/* Column col (0-based among the input columns): its number of categories
 * (0 for a numeric column) and category k's name; *fill receives the
 * imputation value of a numeric column (returns 1 if it has one, else 0). */
MYNN_API int         mynn_encoding_n_categories(const mynn_encoding *e, int col);
MYNN_API const char *mynn_encoding_category(const mynn_encoding *e, int col, int k);
MYNN_API int         mynn_encoding_fill(const mynn_encoding *e, int col, float *fill);
/* Store e in net's metadata (replacing any; e NULL removes it).  Its
 * encoded inputs must be the net's inputs, its classes (if named) the
 * net's outputs (2 or more) or 2 for one sigmoid output. */
MYNN_API mynn_status mynn_set_encoding(mynn_net *net, const mynn_encoding *e);
/* The encoding stored in net's metadata (*out NULL if none; free with
 * mynn_encoding_free).  A damaged one gives MYNN_ERR_FORMAT. */
MYNN_API mynn_status mynn_get_encoding(const mynn_net *net, mynn_encoding **out);

/* Split off the last fraction (0 < fraction < 1) of ds after a seeded
 * shuffle into a new dataset *val; ds keeps the rest. */
MYNN_API mynn_status mynn_dataset_split(mynn_dataset *ds, float fraction, uint64_t seed,
                                        mynn_dataset **val);

/* ------------------------------------------------------------------------ */
/* Text: character-level language models (src/io/text.c)                      */
/* ------------------------------------------------------------------------ */
/* A vocabulary: the symbols a text holds, sorted, symbol k being token id
 * k: UTF-8 code points, or (bytes) the 256 byte values. */
typedef struct mynn_vocab mynn_vocab;
/* A file's text, or every file of a folder in sorted order, read whole
 * (*text NUL-terminated; free() it).  An empty text is MYNN_ERR_ARG. */
MYNN_API mynn_status mynn_read_text(const char *path, char **text, size_t *len);
/* The vocabulary of text's len bytes.  Invalid UTF-8 (without bytes) is
 * MYNN_ERR_FORMAT naming the byte offset. */
MYNN_API mynn_status mynn_vocab_build(const char *text, size_t len, int bytes, mynn_vocab **out);
MYNN_API int  mynn_vocab_size(const mynn_vocab *v);
MYNN_API int  mynn_vocab_is_bytes(const mynn_vocab *v);
MYNN_API void mynn_vocab_free(mynn_vocab *v);
/* Text to token ids (ids may be NULL to count them; *n receives the
 * count).  A symbol outside the vocabulary is MYNN_ERR_ARG naming it and
 * its byte offset. */
MYNN_API mynn_status mynn_vocab_encode(const mynn_vocab *v, const char *text, size_t len, float *ids,
                                       size_t *n);
/* Token id to its bytes (UTF-8, NUL-terminated); returns their count, 0
 * for an id outside the vocabulary. */
MYNN_API int mynn_vocab_decode(const mynn_vocab *v, int id, char out[5]);
/* The vocabulary in a net's metadata ("text_mode", "text_vocab"), saved
 * with the model; mynn_get_vocab gives MYNN_ERR_STATE when there is none. */
MYNN_API mynn_status mynn_set_vocab(mynn_net *net, const mynn_vocab *v);
MYNN_API mynn_status mynn_get_vocab(const mynn_net *net, mynn_vocab **out);
/* Training windows of a token stream: sample w has inputs ids[w·seq ..
 * w·seq + seq) and targets one further (the next symbol of each step:
 * mynn_n_targets of a language model), windows side by side; the last
 * val_frac of the windows (0 <= val_frac < 1; val may be NULL) is *val.
 * seq longer than the text is MYNN_ERR_ARG. */
#define MYNN_MAX_TEXT_SEQ 65536
/* Streaming inference of a sequence model (an embedding or a recurrent
 * layer reading the input; no bidirectional layer, no input transform):
 * *stream is a copy of net, built for batch 1, that takes one step of the
 * input at a time (one token id, or F features), its recurrent layers
 * carrying their state from one mynn_stream_step to the next, and gives
 * the outputs the model would give for the sequence so far (a model with
 * :seq layers: the last step's).  mynn_stream_reset zeroes the state
 * (also done at creation).  Free the stream with mynn_free. */
MYNN_API mynn_status mynn_stream_create(const mynn_net *net, mynn_net **stream);
MYNN_API mynn_status mynn_stream_reset(mynn_net *stream);
MYNN_API mynn_status mynn_stream_step(mynn_net *stream, const float *x_t, float *y_t);
/* Text from a language model with a vocabulary (mynn_set_vocab): the
 * prompt (NULL or "": the vocabulary's first symbol) fed through a stream
 * of net, then length symbols drawn one at a time from its softmax at
 * temperature (0: the most likely) among the top_k most likely (0: all),
 * from the random stream seed, each fed back.  emit receives each drawn
 * symbol's bytes as it is drawn (not the prompt's); its non-zero return
 * stops early.  A prompt symbol outside the vocabulary is MYNN_ERR_ARG
 * naming it. */
typedef int (*mynn_emit_fn)(const char *bytes, int n, void *user);
MYNN_API mynn_status mynn_generate(const mynn_net *net, const char *prompt, int length, float temperature,
                                   int top_k, uint64_t seed, mynn_emit_fn emit, void *user);
MYNN_API mynn_status mynn_text_dataset(const float *ids, size_t n_ids, int seq, double val_frac,
                                       mynn_dataset **train, mynn_dataset **val);

/* ------------------------------------------------------------------------ */
/* Optimizers and learning-rate schedules                                    */
/* ------------------------------------------------------------------------ */
typedef enum mynn_optimizer_kind {
    MYNN_OPT_SGD = 0,   /* with optional momentum / Nesterov */
    MYNN_OPT_ADAM,
    MYNN_OPT_ADAMW,     /* decoupled weight decay */
    MYNN_OPT_RMSPROP,
    MYNN_OPT_IRPROP,    /* iRprop-: sign-based, per-weight steps, full batch */
    MYNN_OPT_LBFGS,     /* L-BFGS with a strong-Wolfe line search, full batch
                           (needs mynn_optimizer_step_closure) */
    MYNN_OPT_AUTO       /* mynn_fit only, not an optimizer: chooses L-BFGS or
                           Adam settings on held-out rows (mynn_auto_options) */
} mynn_optimizer_kind;
MYNN_API mynn_status mynn_optimizer_from_name(const char *name, mynn_optimizer_kind *out);
MYNN_API const char *mynn_optimizer_name(mynn_optimizer_kind k);

typedef struct mynn_optim_config {
    mynn_optimizer_kind kind;
    float lr;            /* base learning rate (irprop: ignored) */
    float momentum;      /* SGD */
    int   nesterov;      /* SGD */
    float beta1, beta2;  /* Adam(W): 0.9, 0.999 */
    float eps;           /* Adam(W) 1e-8, RMSprop 1e-8 */
    float alpha;         /* RMSprop smoothing: 0.99 (PyTorch) */
    float weight_decay;  /* L2 added to the gradient; AdamW: decoupled */
    float clip_norm;     /* > 0: rescale the gradient to this global L2 norm */
    float eta_plus, eta_minus, delta0, delta_min, delta_max; /* iRprop-: 1.2 0.5 0.1 1e-6 50 */
    /* L-BFGS (PyTorch's torch.optim.LBFGS(line_search_fn="strong_wolfe")
     * with max_iter = 1 per step): lr scales the first trial step of each
     * line search (1); history m = 10 pairs; a step is not taken, and
     * mynn_optimizer_converged becomes 1, when max|g| <= tolerance_grad
     * (1e-7), and convergence is also declared after a step that moved no
     * weight by more than tolerance_change (1e-9) or changed the loss by
     * less, or when the evaluations counted reach max_evals (0 = no limit;
     * mynn_fit uses epochs * 5 / 4, PyTorch's max_eval).  Counted are the
     * first evaluation and every line-search trial (at most 25 per step),
     * as PyTorch's func_evals; not counted is the one extra evaluation a
     * step makes when it accepts a trial other than its last (PyTorch
     * keeps that trial's gradient instead, mynn evaluates it again).  weight_decay adds wd/2 |p|^2 to the
     * loss (wd p to the gradient); clip_norm must be 0. */
    int history;
    float tolerance_grad, tolerance_change;
    long max_evals;
} mynn_optim_config;
/* PyTorch's defaults for kind (lr 0.01 for SGD and RMSprop, 0.001 for
 * Adam/AdamW, 1 for L-BFGS; MYNN_OPT_AUTO: lr 0, each candidate's own). */
MYNN_API void mynn_optim_config_default(mynn_optim_config *c, mynn_optimizer_kind kind);

typedef struct mynn_optimizer mynn_optimizer;
/* Allocates the state for net's parameters (net must be built). */
MYNN_API mynn_status mynn_optimizer_create(mynn_optimizer **out, mynn_net *net,
                                           const mynn_optim_config *cfg);
/* One update of net's parameters from its gradient buffer, at rate lr.
 * L-BFGS gives MYNN_ERR_STATE: it needs mynn_optimizer_step_closure. */
MYNN_API mynn_status mynn_optimizer_step(mynn_optimizer *opt, float lr);
/* A closure: compute the loss at the network's current parameters into
 * *loss and fill its gradient buffer (mynn_compute_gradients over the
 * whole training set, say).  The loss is a double so that a line search
 * near a minimum can still tell two nearby points apart.  It must be a deterministic function of the
 * parameters.  A non-finite *loss is reported, not an error of the
 * closure; a non-zero status stops the step with that status. */
typedef mynn_status (*mynn_closure)(void *user, double *loss);
/* One step that evaluates the loss itself: for L-BFGS one iteration (a
 * direction from the history, a strong-Wolfe line search along it), for
 * the other kinds one closure call then mynn_optimizer_step.  *loss (may
 * be NULL) receives the closure's last loss: L-BFGS's last evaluation is
 * always at the parameters the step leaves, and the next step starts from
 * it without evaluating again, so between L-BFGS steps the parameters must
 * not be changed and the closure must stay the same function; the other
 * kinds report the loss before their update.  A non-finite loss at any
 * evaluation gives MYNN_ERR_NUMERIC with the parameters as they were
 * before the step.  Allocates nothing. */
MYNN_API mynn_status mynn_optimizer_step_closure(mynn_optimizer *opt, float lr, mynn_closure f,
                                                 void *user, float *loss);
/* 1 once L-BFGS has met a tolerance or its evaluation budget (further
 * steps do nothing); always 0 for the other kinds. */
MYNN_API int         mynn_optimizer_converged(const mynn_optimizer *opt);
MYNN_API void        mynn_optimizer_free(mynn_optimizer *opt);
/* Optimizer state as one flat array (for checkpoints).  L-BFGS keeps all
 * of its state there: direction, previous gradient, the history pairs and
 * its scalars (step, scaling, ring position, evaluations, converged). */
MYNN_API float      *mynn_optimizer_state(mynn_optimizer *opt, size_t *n);
MYNN_API long        mynn_optimizer_steps(const mynn_optimizer *opt);
MYNN_API void        mynn_optimizer_set_steps(mynn_optimizer *opt, long t);

typedef enum mynn_schedule_kind {
    MYNN_SCHED_CONSTANT = 0,
    MYNN_SCHED_STEP,     /* lr * gamma^(epoch / step_size) */
    MYNN_SCHED_COSINE    /* cosine from lr to min_lr over total epochs */
} mynn_schedule_kind;
typedef struct mynn_schedule {
    mynn_schedule_kind kind;
    int step_size;       /* STEP: epochs between decays */
    float gamma;         /* STEP: factor */
    float min_lr;        /* COSINE: floor */
    int total_epochs;    /* COSINE: length */
    int warmup_epochs;   /* linear warm-up from lr/warmup to lr first (any kind) */
} mynn_schedule;
/* The learning rate of epoch (0-based) for base rate lr. */
MYNN_API float mynn_schedule_lr(const mynn_schedule *s, float lr, int epoch);

/* ------------------------------------------------------------------------ */
/* Training loop and metrics                                                 */
/* ------------------------------------------------------------------------ */
typedef struct mynn_epoch_stats {
    int epoch;                  /* 0-based */
    float lr;
    float train_loss, train_acc;   /* acc: -1 for regression */
    float val_loss, val_acc;       /* -1 when there is no validation set */
    double seconds;
    int converged;                 /* L-BFGS met a tolerance: this is the last epoch */
} mynn_epoch_stats;

/* Return non-zero to stop training (mynn_fit then returns MYNN_ERR_STOPPED). */
typedef int (*mynn_epoch_callback)(const mynn_epoch_stats *s, void *user);
typedef int (*mynn_batch_callback)(int epoch, int batch, int n_batches, float loss, void *user);

/* Data-parallel training: a seam for a transport (MPI today, NCCL later).
 * world processes ("ranks") each run mynn_fit on the same network, data and
 * options with their own reducer; every global batch of batch_size samples
 * is split into contiguous shares (rank r gets batch/world samples, plus one
 * when r < batch % world, so no sample is lost or doubled; a share may be
 * empty), and the shuffle is the same everywhere (same seed).  Each rank
 * scales its mean gradient by (its samples / the batch's samples), then
 * sum_floats adds the gradients of all ranks, so every rank holds the
 * single-process mean gradient, takes the same optimizer step and the
 * weights never drift apart: N ranks reach the weights of one process to
 * float rounding (summation order).  Dropout masks are drawn from each
 * layer's one generator in the global batch order (a rank draws for the
 * whole batch and keeps its rows), so they are those of one process.
 * Non-trainable buffers (batch-norm statistics) are per process while
 * training, as in PyTorch's DDP, and averaged over the ranks after each
 * epoch (before validation and checkpoints).  Validation inside mynn_fit and
 * mynn_evaluate_reduced split their samples across the ranks and sum the
 * statistics with sum_doubles.
 *
 * The callbacks are collective: every rank calls them in the same order
 * with the same n; they must return only when buf holds the sum over all
 * ranks (a GPU transport synchronises its stream before returning), 0 on
 * success, non-zero on failure (mynn_fit then returns MYNN_ERR_COMM, with
 * last_error's text, if given, in the message).  A transport must also see
 * that a dead peer never leaves the others waiting (the MPI one has a
 * watchdog, include/mynn_mpi.h).  Per step there is one sum_floats over the
 * gradient buffer plus one spare float that carries the batch loss (so a
 * divergence or a stop request is seen by every rank at the same step);
 * per epoch a few sum_doubles of a handful of values. */
typedef struct mynn_reducer {
    int rank;             /* 0 .. world-1; rank 0 alone writes checkpoints */
    int world;            /* number of ranks, >= 1 */
    int (*sum_floats)(float *buf, size_t n, void *ctx);
    int (*sum_doubles)(double *buf, size_t n, void *ctx);
    const char *(*last_error)(void *ctx);   /* may be NULL */
    void *ctx;
} mynn_reducer;

/* Data augmentation for images (a net whose input shape is C × H × W),
 * applied as each batch is gathered (no second copy of the data set):
 *  - crop > 0: the image moved by a random (dy, dx) in [-crop, crop]², the
 *    uncovered border zero (before the input transform): torchvision's
 *    RandomCrop(H, padding=crop);
 *  - flip: mirrored left-right with probability 1/2 (RandomHorizontalFlip).
 * A sample's draw depends only on the fit seed, the epoch and its place in
 * the epoch's order, so training stays the same bits for a seed and
 * thread count, on any number of ranks, and across a resume. */
typedef struct mynn_augment {
    int crop;
    int flip;
} mynn_augment;

/* optim.kind = MYNN_OPT_AUTO: mynn_fit chooses how to train on rows held
 * out of the training set, then trains so (docs/small-data.md has the
 * experiments behind the numbers here).
 *  1. The training rows are dealt to 5 folds, stratified by class, drawn
 *     from the fit's seed.  Stage 1 trains every candidate on folds 1-4
 *     and judges it by its loss on fold 0, a fifth held out.  Up to 1000
 *     rows, where a fifth is too few rows to choose by, stage 2 trains the
 *     3 best of stage 1 on the other four splits too, and judges them by
 *     their mean held-out loss over the 5 folds (cross-validation).
 *  2. Candidates: full-batch L-BFGS with each weight decay of the grid 0,
 *     1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, at most 1000 iterations;
 *     above lbfgs_rows rows Adam (lr 1e-3, batch_size, a cosine schedule
 *     to 0 over 60 epochs) with decays 0, 1e-4 and 1e-3 against L-BFGS with
 *     1e-4 and 1e-3 whose iterations are cut to the work of one candidate
 *     at lbfgs_rows rows.  Fewer than 20 rows: no search, L-BFGS with
 *     decay 1e-3 for 1000 iterations; above MYNN_AUTO_SEARCH_ROWS: no
 *     search, Adam for 10 epochs.  Each candidate starts from the net's
 *     current weights; its held-out loss is measured after every epoch
 *     (L-BFGS: iteration) and it stops once that has not improved for 100
 *     iterations (Adam: 10 epochs); its epochs are where the (mean)
 *     held-out loss is lowest.  The candidates run in parallel, one per
 *     thread (mynn_set_threads), each on one thread: a result depends only
 *     on the data, the net and the seed, never on the threads or their
 *     timing.
 *  3. The choice: the lowest held-out loss among the candidates judged on
 *     the most folds (ties: the first in the order above).  With refit
 *     (default) the net then trains with the chosen kind and decay for the
 *     chosen epochs on every training row, through mynn_fit with this
 *     call's other options (val, patience, callbacks, checkpoint: a resumed
 *     run searches again, to the same choice, and continues the refit);
 *     refit 0 keeps the weights of the chosen candidate's fold with the
 *     lowest held-out loss (trained on 4/5 of the rows).
 * fix_weight_decay: the decay is optim.weight_decay, not searched (one
 * candidate per kind, its epochs still chosen).  fix_epochs: every
 * candidate and the refit train exactly o->epochs epochs (L-BFGS: unless
 * it converges), no early stopping; else o->epochs is unused.  Both, with
 * one kind: nothing to choose, no search.  optim's other fields are unused:
 * each kind has its defaults; batch_size is Adam's (the net must be built
 * for it only when Adam trains it; L-BFGS trains in batches of the net's
 * max_batch, one batch when it holds every row).
 * The choice, the candidates' held-out losses and epochs go to report
 * (when not NULL), to on_chosen (when not NULL; called after the search,
 * before the refit, with the fit's user pointer; non-zero stops with
 * MYNN_ERR_STOPPED) and to the net's metadata, which mynn_save keeps:
 * "auto", one line ("lbfgs, weight decay 1e-3, 140 iterations (val loss
 * 0.412 vs 0.455 at 1e-4)"), and "auto_search", a line on the split and
 * one per candidate.  A candidate that diverges loses; all diverging is
 * MYNN_ERR_NUMERIC.  With a reducer of more than one rank: MYNN_ERR_ARG. */
typedef struct mynn_auto_candidate {
    mynn_optimizer_kind kind;   /* MYNN_OPT_LBFGS or MYNN_OPT_ADAM (cosine schedule) */
    float weight_decay;
    int epochs;                 /* its best epoch (counted from 1): the refit's epochs */
    int trained;                /* epochs it ran (the most over its folds) */
    int folds;                  /* folds it was judged on: 1, or 5 (cross-validated) */
    int budget;                 /* the most it could run (Adam: its cosine's length) */
    float val_loss;             /* held-out loss at epochs; INFINITY if it diverged */
} mynn_auto_candidate;

#define MYNN_AUTO_MAX_CANDIDATES 16
#define MYNN_AUTO_SEARCH_ROWS 20000   /* above: no search (Adam) */
typedef struct mynn_auto_report {
    int n_candidates;           /* 0: no search (too few or too many rows) */
    mynn_auto_candidate candidates[MYNN_AUTO_MAX_CANDIDATES];
    int chosen;                 /* index in candidates, -1 without a search */
    mynn_optimizer_kind kind;   /* what trained the net: kind, decay, epochs */
    float weight_decay;
    int epochs;
    int folds;                  /* 5: cross-validation; 1: one held-out part; 0: no search */
    int n_fit, n_val;           /* rows a candidate trained on and was judged on (per fold) */
    int refit;                  /* 1: the net was trained on every training row */
    double seconds;             /* the search, not the refit */
} mynn_auto_report;

typedef struct mynn_auto_options {
    int fix_weight_decay;       /* 0 */
    int fix_epochs;             /* 0 */
    int refit;                  /* 1 */
    int lbfgs_rows;             /* 5000, in 1..20000 */
    mynn_auto_report *report;   /* NULL, or filled by mynn_fit */
    int (*on_chosen)(const mynn_auto_report *r, void *user);   /* NULL */
} mynn_auto_options;

typedef struct mynn_fit_options {
    int epochs;                 /* 10 */
    int batch_size;             /* 32; <= the net's max_batch */
    uint64_t seed;              /* shuffle seed */
    int shuffle;                /* 1 */
    mynn_optim_config optim;    /* Adam by default */
    mynn_schedule schedule;     /* constant */
    int patience;               /* > 0: stop after this many epochs without a
                                   better validation loss, restoring the best weights */
    mynn_epoch_callback on_epoch;
    mynn_batch_callback on_batch;
    void *user;
    /* Checkpoints.  checkpoint_path non-NULL (default NULL): after every
     * completed epoch, before on_epoch is called, the whole training state
     * is written there atomically as a safetensors file: parameters,
     * optimizer state and step count, the number of completed epochs, the
     * shuffle generator and order, every dropout layer's generator, and the
     * early-stopping state (best parameters, best loss, epochs since).
     * resume = 1 (default 0): if checkpoint_path exists, restore it and go
     * on with the next epoch (epochs stays the total; a checkpoint with all
     * epochs done just restores).  With the same data, options and thread
     * count the result is bit for bit that of an uninterrupted run.  A
     * checkpoint of another network, optimizer kind, batch size, seed,
     * shuffle, patience or training set gives MYNN_ERR_ARG; a damaged one
     * MYNN_ERR_FORMAT; the network is then left unchanged.  A checkpoint
     * that cannot be written stops training with that error (MYNN_ERR_IO);
     * the previous checkpoint file is then intact. */
    const char *checkpoint_path;
    int resume;
    /* Data-parallel training (see mynn_reducer); NULL (default): one process.
     * The net's max_batch must hold this rank's share (batch_size / world,
     * rounded up).  Rank 0 alone writes checkpoint_path; on resume every
     * rank reads it (a shared folder across machines).  The checkpoint
     * holds nothing rank-specific, so a resumed run continues bit for bit
     * with the same world size and threads (and to float rounding with
     * another world size).  A stop requested by on_batch or on_epoch on any
     * rank stops every rank at the same step. */
    const mynn_reducer *reducer;
    /* Augmentation of the training images (off by default; see above). */
    mynn_augment augment;
    /* optim.kind = MYNN_OPT_AUTO: the search (see mynn_auto_options).
     * Appended last, so the fields above keep their offsets. */
    mynn_auto_options search;
} mynn_fit_options;
MYNN_API void mynn_fit_options_default(mynn_fit_options *o);

/* Train net on train for o->epochs, with optional validation set val (may
 * be NULL).  A NaN or infinite loss stops training with MYNN_ERR_NUMERIC
 * and a message naming the epoch and batch; the weights are then restored
 * to the last finite state.
 *
 * With L-BFGS an epoch is one step (one iteration) over the whole training
 * set, whose mean loss and gradient it evaluates in batches of batch_size
 * (with shuffle the order still changes per epoch: the same objective,
 * summed in another order).  Training ends early once the optimizer has
 * converged (mynn_epoch_stats.converged).  The loss and accuracy of an
 * epoch are those of the weights after its step (mini-batch kinds: the
 * mean over the epoch's batches, each before its update).  A non-finite
 * loss names the epoch and the line-search evaluation and restores the
 * weights of the epoch's start.  Dropout makes the loss random, which the
 * line search does not expect (a failed search ends training as
 * converged).
 *
 * optim.kind MYNN_OPT_AUTO: the search on held-out rows of train, then
 * the chosen setting trained on all of them (mynn_auto_options above). */
MYNN_API mynn_status mynn_fit(mynn_net *net, const mynn_dataset *train, const mynn_dataset *val,
                              const mynn_fit_options *o);

typedef struct mynn_metrics {
    float loss;
    float accuracy;   /* classification, else -1 */
    float mse;        /* mean over outputs and samples of (a - y)^2 */
    float mae;
    int n;
} mynn_metrics;
/* Evaluate net on ds.  confusion (n_classes × n_classes, row = true class,
 * column = predicted) may be NULL. */
MYNN_API mynn_status mynn_evaluate(mynn_net *net, const mynn_dataset *ds, mynn_metrics *m,
                                   int *confusion);
/* mynn_evaluate split across the ranks of red (collective: every rank
 * calls it with the same data): each rank evaluates a contiguous share and
 * the sums are combined, so every rank gets the metrics of the whole set
 * (accuracy and confusion exactly, the losses to rounding).  red NULL is
 * mynn_evaluate. */
MYNN_API mynn_status mynn_evaluate_reduced(mynn_net *net, const mynn_dataset *ds,
                                           const mynn_reducer *red, mynn_metrics *m,
                                           int *confusion);
/* Per-class precision (tp / predicted as the class) and recall (tp / truly
 * the class) from a k × k confusion matrix as mynn_evaluate fills it; 0
 * where undefined.  precision or recall may be NULL. */
MYNN_API void mynn_precision_recall(const int *confusion, int k, float *precision, float *recall);

/* ------------------------------------------------------------------------ */
/* FANN 2.2's training recipe                                                */
/* ------------------------------------------------------------------------ */
/* FANN's default training (fann_train_on_data with FANN_TRAIN_RPROP), the
 * same arithmetic in the same order, so a network trained here from the
 * same initial weights ends with FANN's weights (tests/test_fann.c checks
 * it against Debian's libfann).  The network's dense layers map to FANN's
 * activations: identity -> FANN_LINEAR (y = s·z), sigmoid -> FANN_SIGMOID
 * (1/(1 + exp(-2 s z))), tanh -> FANN_SIGMOID_SYMMETRIC (tanh(s z)), with
 * steepness s per layer (hidden, output).  One epoch is FANN's batch
 * iRprop- over all samples in order:
 *  - error: e = target - output, halved for a tanh output; FANN's MSE sums
 *    e² over outputs and samples and divides by their count; with the tanh
 *    error function the output delta uses log((1 + e) / (1 - e)) (±17
 *    beyond ±0.9999999) instead of e;
 *  - derivatives from the output value clipped to [0.01, 0.99] (sigmoid)
 *    or [-0.98, 0.98] (tanh); sums clipped to ±150/s;
 *  - iRprop- as FANN does it: the previous step is at least 0.0001; a
 *    product of slopes >= 0 grows the step (x increase_factor, <= delta_max),
 *    < 0 shrinks it (x decrease_factor, >= delta_min) and forgets the slope;
 *    then the weight moves by the step, down if the slope is negative, up
 *    otherwise (also for a zero or forgotten slope), within ±1500.
 * The trainer keeps FANN's weights; the network's parameters are those
 * times c = s (identity, tanh) or 2s (sigmoid), so the saved model computes
 * FANN's function with mynn's ordinary activations (exactly so when c is a
 * power of two, as with FANN's default s = 0.5). */
typedef enum mynn_fann_errorfunc {
    MYNN_FANN_ERRORFUNC_LINEAR = 0,
    MYNN_FANN_ERRORFUNC_TANH       /* FANN's default */
} mynn_fann_errorfunc;

typedef struct mynn_fann_options {
    int epochs;                 /* most epochs (100) */
    /* Stop after an epoch whose MSE (measured before its update) is <= this,
     * as fann_train_on_data does: 0 (FANN's) stops at an epoch of MSE 0;
     * a negative value never stops. */
    float desired_error;
    float steepness_hidden, steepness_output;   /* 0.5, 0.5 */
    mynn_fann_errorfunc error_function;          /* TANH */
    float increase_factor, decrease_factor;      /* 1.2, 0.5 */
    float delta_min, delta_max, delta_zero;      /* 0, 50, 0.1 */
    mynn_epoch_callback on_epoch;   /* train_loss = FANN's MSE (before the update) */
    void *user;
} mynn_fann_options;
MYNN_API void mynn_fann_options_default(mynn_fann_options *o);

/* FANN's initial weights for net (built), drawn with mynn's generator:
 * every weight and bias ~ U(-0.1, 0.1) (fann_randomize_weights), or with
 * nguyen_widrow its fann_init_weights over ds's inputs: f = (0.7 H)^(1/I) /
 * (max - min input), H hidden units, I inputs; weights ~ U(0, f), biases
 * ~ U(-f, f).  Stored folded by c as above. */
MYNN_API mynn_status mynn_fann_init_weights(mynn_net *net, const mynn_fann_options *o,
                                            const mynn_dataset *ds, int nguyen_widrow,
                                            uint64_t seed);

typedef struct mynn_fann_trainer mynn_fann_trainer;
/* State for training net (built; dense layers with identity, sigmoid or
 * tanh only): FANN's weights (net's parameters / c), slopes and steps. */
MYNN_API mynn_status mynn_fann_trainer_create(mynn_fann_trainer **out, mynn_net *net,
                                              const mynn_fann_options *o);
/* One epoch on ds (inputs and targets as they are); *mse (may be NULL)
 * receives FANN's MSE of the epoch; net's parameters are updated. */
MYNN_API mynn_status mynn_fann_epoch(mynn_fann_trainer *t, const mynn_dataset *ds, float *mse);
/* Layer i's weights in FANN's layout and parameterisation: [outputs ×
 * (inputs + 1)], each row its weights then its bias; NULL if i is out of
 * range. */
MYNN_API const float *mynn_fann_layer_weights(const mynn_fann_trainer *t, int i);
MYNN_API void mynn_fann_trainer_free(mynn_fann_trainer *t);
/* Up to o->epochs epochs, stopping where fann_train_on_data stops (an
 * epoch's MSE <= desired_error; on_epoch has seen that epoch) or when
 * on_epoch asks (MYNN_ERR_STOPPED). */
MYNN_API mynn_status mynn_fann_train(mynn_net *net, const mynn_dataset *ds,
                                     const mynn_fann_options *o);

/* ------------------------------------------------------------------------ */
/* Model files (safetensors)                                                 */
/* ------------------------------------------------------------------------ */
/* Save net (weights, architecture, loss, input transform) as safetensors:
 * tensors layers.<i>.weight [out × in] and layers.<i>.bias [out] (F32, i =
 * the layer's index), architecture in __metadata__.  Written atomically
 * (temporary file in the same folder, fsync, rename). */
MYNN_API mynn_status mynn_save(const mynn_net *net, const char *path);
/* Load a model saved by mynn_save and build it for max_batch. */
MYNN_API mynn_status mynn_load(mynn_net **out, const char *path, int max_batch);
/* Read the __metadata__ value for key of the last loaded net ("" if none). */
MYNN_API const char *mynn_metadata(const mynn_net *net, const char *key);

/* ------------------------------------------------------------------------ */
/* ONNX export                                                               */
/* ------------------------------------------------------------------------ */
/* Write net's inference graph (net must be built) as an ONNX model: IR
 * version 7, opset 13 of the default domain.  Input "input", float32
 * [N, n_inputs] ([N, C, L] or [N, C, H, W] with an input shape), output
 * "output" [N, n_outputs]; N is a symbolic batch dimension.  The input
 * transform becomes Sub/Mul; each dense layer a Gemm (transB=1, the weights
 * as initializers named as in the model file: layers.<i>.weight [out × in],
 * layers.<i>.bias), after a Flatten when its input is spatial; conv a Conv,
 * pooling MaxPool/AveragePool/GlobalAveragePool, batchnorm a
 * BatchNormalization with the running statistics, flatten a Flatten;
 * activations Sigmoid, Tanh, Relu, LeakyRelu alpha 0.01, Softmax axis 1
 * (over the flattened sample), GELU as 0.5·z·(1 + Erf(z/√2)), none for
 * identity; dropout is left out.  A layer ONNX cannot express gives
 * MYNN_ERR_ARG naming it.  Written atomically like mynn_save. */
MYNN_API mynn_status mynn_export_onnx(const mynn_net *net, const char *path);

/* ------------------------------------------------------------------------ */
/* Standalone C code                                                         */
/* ------------------------------------------------------------------------ */
/* Write net as standalone C99 inference code: dir/name.h and dir/name.c,
 * each atomically.  The code needs only <math.h>: weights are static const
 * arrays of exact hexadecimal float literals, the input transform and every
 * layer are computed with the library's float expressions (dropout is left
 * out: the identity at prediction), and
 *     int name_predict(const float *input, float *output)
 * returns 0, or -1 for a NaN or infinite input.  name_predict_scratch takes
 * the scratch buffer (name_SCRATCH_FLOATS floats, upper-case prefix) from
 * the caller; name_predict_batch runs n rows.  No heap; the header states
 * the flash (weights + estimated code) and RAM (scratch) bytes.  Outputs
 * match mynn_predict to rounding (the dot products sum in another order).
 * name must be a C identifier of at most 64 characters (MYNN_ERR_ARG).
 * Every layer kind is exported: dense, activation, dropout, flatten,
 * convolution (direct loops, zero padding), pooling and batch norm, which
 * is folded into the convolution or dense layer before it when that layer
 * has the identity activation (else computed with its running statistics). */
MYNN_API mynn_status mynn_export_c(const mynn_net *net, const char *dir, const char *name);

/* ------------------------------------------------------------------------ */
/* int8 models (post-training quantisation)                                 */
/* ------------------------------------------------------------------------ */
/* A quantised copy of a network: each dense and conv layer's weight as
 * int8 with one scale per output (filter) (symmetric: w ≈ scale[o] · q,
 * |q| <= 127), its input quantised to int8 with one scale per layer (chosen
 * from calibration data), the sums exact in int32, then z = sum · in_scale
 * · scale[o] + bias and the activation in float; the last layer's outputs
 * stay float.  A batch norm right after a conv or dense layer with the
 * identity activation is folded into it first (the int8 model has no layer
 * for it); pooling, activation layers and a batch norm that cannot fold
 * run in float.  The input transform and the loss are the float model's;
 * dropout is dropped.
 * The int8 sums use AVX-512 VNNI or AVX-VNNI where the CPU has them, else
 * portable C (MYNN_QGEMM=portable|avx512vnni|avxvnni forces one); the sums
 * are exact, so every engine and thread count gives the same bits. */
typedef struct mynn_qnet mynn_qnet;

typedef enum mynn_calib_stat {
    MYNN_CALIB_MAX = 0,      /* a layer input's scale is max |x| / 127 */
    MYNN_CALIB_PERCENTILE    /* ... a percentile of |x| / 127 (larger values clip) */
} mynn_calib_stat;
typedef struct mynn_quant_options {
    mynn_calib_stat stat;    /* MYNN_CALIB_MAX (see docs/cli.md for why) */
    float percentile;        /* PERCENTILE: in (50, 100], default 99.99 */
    int max_batch;           /* batch the result is built for (predict chunks), 256 */
} mynn_quant_options;
MYNN_API void mynn_quant_options_default(mynn_quant_options *o);

/* Quantise the built float net, calibrating the activation scales on the n
 * samples x [n × n_inputs] (run through the net, batch norms folded, in its
 * max_batch chunks).  Every layer kind; the last layer must be dense
 * (MYNN_ERR_ARG otherwise); layers summing more than 65536 inputs per
 * output are refused (int32 sums). */
MYNN_API mynn_status mynn_quantize(mynn_qnet **out, mynn_net *net, const float *x, int n,
                                   const mynn_quant_options *o);
MYNN_API void mynn_qnet_free(mynn_qnet *q);
/* As mynn_predict, in int8 (any n; NaN or infinity gives MYNN_ERR_NUMERIC
 * naming the first, and y is then undefined). */
MYNN_API mynn_status mynn_qnet_predict(mynn_qnet *q, const float *x, int n, float *y);
/* As mynn_evaluate, in int8. */
MYNN_API mynn_status mynn_qnet_evaluate(mynn_qnet *q, const mynn_dataset *ds, mynn_metrics *m,
                                        int *confusion);
/* The architecture as a float net with the dequantised weights (scale · q),
 * batch norms folded (so layer indices may differ from the float model's):
 * for mynn_n_inputs, mynn_layer_get_info, mynn_metadata, ...  Owned by q. */
MYNN_API const mynn_net *mynn_qnet_float(const mynn_qnet *q);
/* A dense or conv layer's input scale and per-output weight scales (layer
 * index as in mynn_qnet_float); MYNN_ERR_ARG for another kind of layer. */
MYNN_API mynn_status mynn_qnet_layer_scales(const mynn_qnet *q, int layer, float *in_scale,
                                            const float **w_scale);

/* int8 model files: safetensors with metadata format=mynn-int8 (plus
 * format_version=1, n_inputs, input_shape for a shaped input, layers
 * (folded), loss, normalize, quantization, calibration) and, for dense or
 * conv layer i,
 *   layers.<i>.weight        I8  [n_out, n_in] (conv [F, C, kh, kw], conv1d [F, C, k])
 *   layers.<i>.weight_scale  F32 [n_out]      w ≈ weight_scale[o] · weight[o][k]
 *   layers.<i>.bias          F32 [n_out]
 *   layers.<i>.input_scale   F32 [1]          x ≈ input_scale · q
 * for an unfolded batch norm i, layers.<i>.weight, .bias, .running_mean,
 * .running_var F32 [C]; and input.shift / input.scale F32 [n_inputs] (or
 * [1]: the same for every input) when normalised.  Written atomically;
 * loading checks every shape and that every scale is finite and positive. */
MYNN_API mynn_status mynn_qnet_save(const mynn_qnet *q, const char *path);
MYNN_API mynn_status mynn_qnet_load(mynn_qnet **out, const char *path, int max_batch);
/* 1 if path is a safetensors file with format=mynn-int8 metadata, else 0. */
MYNN_API int mynn_file_is_int8(const char *path);
/* As mynn_export_c for an int8 model (MLP or CNN): int8 weight arrays,
 * exact integer sums (convolutions as direct loops), the same outputs as
 * mynn_qnet_predict bit for bit. */
MYNN_API mynn_status mynn_qexport_c(const mynn_qnet *q, const char *dir, const char *name);

#ifdef __cplusplus
}
#endif
#endif /* MYNN_H */
