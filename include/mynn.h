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
    MYNN_ERR_STOPPED      /* training stopped early by a callback (not a failure) */
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
 * (units:activation, activation optional meaning identity). */
MYNN_API mynn_status mynn_add_layers(mynn_net *net, const char *spec);

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

/* Predict n samples: x is n × n_inputs, y receives n × n_outputs.  Any n >= 1
 * (batches larger than max_batch are processed in chunks; a different
 * chunking may change the last bits).  NaN or infinity in x gives
 * MYNN_ERR_NUMERIC naming the sample and feature. */
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
MYNN_API int    mynn_n_layers(const mynn_net *net);
MYNN_API int    mynn_max_batch(const mynn_net *net);   /* 0 before build */
MYNN_API mynn_loss mynn_get_loss(const mynn_net *net);

typedef enum mynn_layer_kind { MYNN_LAYER_DENSE = 0, MYNN_LAYER_DROPOUT } mynn_layer_kind;
typedef struct mynn_layer_info {
    mynn_layer_kind kind;
    const char *kind_name;      /* "dense", "dropout" */
    int n_inputs, n_outputs;    /* features per sample */
    mynn_activation activation; /* dense only */
    float rate;                 /* dropout only */
    size_t n_params;
} mynn_layer_info;
MYNN_API mynn_status mynn_layer_get_info(const mynn_net *net, int i, mynn_layer_info *info);

/* The flat parameter and gradient buffers (valid after build).  Layer i's
 * weight then bias are contiguous, layers in order.  *n receives the count. */
MYNN_API float *mynn_params(mynn_net *net, size_t *n);
MYNN_API float *mynn_grads(mynn_net *net, size_t *n);
/* Views of one dense layer's weight [out × in] and bias [out]; NULL otherwise. */
MYNN_API float *mynn_layer_weight(mynn_net *net, int i);
MYNN_API float *mynn_layer_bias(mynn_net *net, int i);

/* Number of threads used by the kernels (OpenMP builds; 0 = library default). */
MYNN_API void mynn_set_threads(int n);
MYNN_API int  mynn_get_threads(void);


/* ------------------------------------------------------------------------ */
/* Datasets                                                                  */
/* ------------------------------------------------------------------------ */
/* An open struct: callers may fill one with their own arrays (and then own
 * them); the loaders allocate and mynn_dataset_free releases. */
typedef struct mynn_dataset {
    int n;            /* samples */
    int n_inputs;     /* features per sample */
    int n_outputs;    /* target columns: n_classes (one-hot) or regression targets */
    int n_classes;    /* > 0 for classification, 0 for regression */
    float *x;         /* [n × n_inputs] */
    float *y;         /* [n × n_outputs] */
    int *labels;      /* [n] class indices (classification), else NULL */
    int owned;        /* non-zero: x, y, labels and the struct are freed by mynn_dataset_free */
} mynn_dataset;

typedef struct mynn_load_options {
    int label_column;   /* CSV: 0-based label column; -1 = last (default) */
    int n_targets;      /* CSV regression: target columns starting at label_column (0 = classification) */
    int header;         /* CSV: 1 = first row is a header, 0 = none, -1 = detect (default) */
    char separator;     /* CSV: ',' default; 0 = detect among , ; tab space */
    int n_classes;      /* classification: 0 = max label + 1; else labels must be < n_classes */
    int skip_nonfinite; /* 1: drop rows holding NaN/inf instead of failing */
    int no_labels;      /* 1: every column is an input (predict on unlabelled data) */
} mynn_load_options;
MYNN_API void mynn_load_options_default(mynn_load_options *o);

/* Load a dataset, recognising the format from the content: CSV, FANN
 * training data ("pairs inputs outputs" first line), an IDX images file
 * (labels found beside it: *-images-idx3-ubyte[.gz] -> *-labels-idx1-ubyte[.gz])
 * or a folder holding train-* / t10k-* IDX files (which=0 train, 1 test).
 * Errors name the file, line and column at fault. opt may be NULL. */
MYNN_API mynn_status mynn_dataset_load(mynn_dataset **out, const char *path,
                                       const mynn_load_options *opt, int which);
MYNN_API void mynn_dataset_free(mynn_dataset *ds);
/* Split off the last fraction (0 < fraction < 1) of ds after a seeded
 * shuffle into a new dataset *val; ds keeps the rest. */
MYNN_API mynn_status mynn_dataset_split(mynn_dataset *ds, float fraction, uint64_t seed,
                                        mynn_dataset **val);

/* ------------------------------------------------------------------------ */
/* Optimizers and learning-rate schedules                                    */
/* ------------------------------------------------------------------------ */
typedef enum mynn_optimizer_kind {
    MYNN_OPT_SGD = 0,   /* with optional momentum / Nesterov */
    MYNN_OPT_ADAM,
    MYNN_OPT_ADAMW,     /* decoupled weight decay */
    MYNN_OPT_RMSPROP,
    MYNN_OPT_IRPROP,    /* iRprop-: sign-based, per-weight steps, full batch */
    MYNN_OPT_LBFGS      /* L-BFGS with a strong-Wolfe line search, full batch
                           (needs mynn_optimizer_step_closure) */
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
 * Adam/AdamW, 1 for L-BFGS). */
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
 * converged). */
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
/* Per-class precision (tp / predicted as the class) and recall (tp / truly
 * the class) from a k × k confusion matrix as mynn_evaluate fills it; 0
 * where undefined.  precision or recall may be NULL. */
MYNN_API void mynn_precision_recall(const int *confusion, int k, float *precision, float *recall);

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

#ifdef __cplusplus
}
#endif
#endif /* MYNN_H */
