/* mynn train DATA --layers SPEC [options]: build (or load) a network, fit it,
 * report per-epoch progress and the final test accuracy, and write the
 * model, the metrics log and the learning-curve plot. */
#include "cli.h"
#include "core/numparse.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --optimizer auto with one of an optimizer's own settings (--lr, ...):
 * no search, issue 14's rule (docs/small-data.md): L-BFGS with these
 * defaults up to AUTO_ROWS rows, else Adam. */
#define AUTO_ROWS 5000
#define AUTO_ROWS_S "5000"
#define AUTO_WD 3e-4f          /* ... and 1e-3 with over 10 parameters per row */
#define AUTO_WD_S "3e-4"
#define AUTO_WD_OVER 1e-3f
#define AUTO_WD_OVER_S "1e-3"
#define AUTO_EPOCHS 1000
#define AUTO_EPOCHS_S "1000"

static const char help[] =
    "usage: mynn train DATA --layers SPEC [options]\n"
    "\n"
    "Train a network on DATA (CSV, FANN data, an IDX images file, NumPy .npy or\n"
    ".npz, or a folder\n"
    "holding the four MNIST-style IDX files: train-* to train on, t10k-* as the\n"
    "test set unless --test is given).\n"
    "\n"
    "Model:\n"
    "  --layers SPEC        layers, e.g. 256:relu,dropout:0.2,10:softmax (the input\n"
    "                       size comes from the data); required unless --from.\n"
    "                       Kinds: UNITS[:ACT] (dense), conv:F:K[:ACT][:stride=S]\n"
    "                       [:pad=P|same], conv1d:F:K[...], maxpool:K[:stride=S]\n"
    "                       [:pad=P], avgpool:K, maxpool1d:K, avgpool1d:K, gap,\n"
    "                       flatten, batchnorm, dropout:R, an activation name (relu),\n"
    "                       add[:ACT], concat, embedding:V:E, lstm:H[:seq][:bi],\n"
    "                       gru:H[...], rnn:H[...][:relu]; blocks res(A|B)[:ACT]\n"
    "                       (A + B, B absent: the input), cat(A|B|...), (A)xN;\n"
    "                       as=NAME and\n"
    "                       from=NAME+NAME on any item (docs/cli.md)\n"
    "  --loss NAME          mse, bce or ce (default: ce after softmax, bce after\n"
    "                       sigmoid, else mse)\n"
    "  --init NAME          auto, xavier, he or uniform (default auto)\n"
    "  --normalize KIND     scale (default: global min/max of the training inputs\n"
    "                       to [0, 1]), standard (per-feature mean/std) or none;\n"
    "                       saved with the model\n"
    "  --from MODEL         start from a saved model (its architecture wins;\n"
    "                       --layers, if given, must match; keeps its normalisation\n"
    "                       unless --normalize is given)\n"
    "  --text [utf8|bytes]  DATA is text (a file, or a folder of files read in\n"
    "                       name order) for a character-level language model:\n"
    "                       its UTF-8 characters (or bytes) are token ids, \"vocab\"\n"
    "                       in --layers is their count, the model keeps the\n"
    "                       vocabulary (mynn generate); --val F holds out the\n"
    "                       text's tail; losses are nats per character\n"
    "  --seq T              --text: windows of T characters (default 64), each\n"
    "                       step's target the next character\n"
    ;
/* In two parts: C99 compilers need not take literals over 4095 characters. */
static const char help_rest[] =
    "Optimisation:\n"
    "  --optimizer NAME     auto (default), sgd, adam, adamw, rmsprop, irprop or\n"
    "                       lbfgs; auto chooses on held-out rows (5-fold cross-\n"
    "                       validation up to 1000 rows): lbfgs's weight decay and\n"
    "                       iterations, above " AUTO_ROWS_S " rows also adam with a cosine\n"
    "                       schedule; then trains on all rows.  --weight-decay or\n"
    "                       --epochs fix theirs; --lr, --momentum, --schedule, ...\n"
    "                       turn the search off (lbfgs up to " AUTO_ROWS_S " rows, else adam)\n"
    "  --lr X               learning rate (default 0.001; sgd 0.01; lbfgs 1, the\n"
    "                       first trial step of each line search)\n"
    "  --momentum X         sgd momentum (default 0)\n"
    "  --nesterov           sgd: Nesterov momentum\n"
    "  --weight-decay X     L2 penalty (adamw: decoupled) (default 0; auto: chosen)\n"
    "  --clip-norm X        clip the gradient's global L2 norm to X (default off)\n"
    "  --schedule KIND      constant (default), step or cosine\n"
    "  --step-size N        step: epochs between decays (default 10)\n"
    "  --gamma X            step: decay factor (default 0.1)\n"
    "  --min-lr X           cosine: final learning rate (default 0)\n"
    "  --warmup N           epochs of linear warm-up (default 0)\n"
    "  --epochs N           epochs (default 10; lbfgs " AUTO_EPOCHS_S "; auto: chosen); lbfgs: one iteration\n"
    "                       each, stopping early once converged (gradient or step\n"
    "                       tolerance, or 1.25 x epochs loss evaluations)\n"
    "  --batch N            batch size (default 32; irprop, lbfgs: the whole\n"
    "                       training set; lbfgs sums the gradient over batches)\n"
    "  --seed N             seed for initialisation, shuffling, splits (default 1)\n"
    "  --no-shuffle         keep the sample order\n"
    "  --val FRACTION|DATA  hold out this fraction of DATA for validation,\n"
    "                       or validate on another data file\n"
    "  --patience N         stop after N epochs without a better validation loss,\n"
    "                       keeping the best weights (needs --val)\n"
    "  --threads N          threads (default: all cores)\n"
    "%s"
    "Data:\n"
    "  --test DATA          test set, evaluated after each epoch\n"
    "  --augment LIST       image data (C x H x W): crop=N moves each training image\n"
    "                       by up to N pixels each way, zero-filling the border\n"
    "                       (as random crops after padding by N); flip mirrors\n"
    "                       half of them left-right; e.g. --augment crop=4,flip.\n"
    "                       Drawn per sample from --seed, the same every run\n"
    "%s"
    "Output:\n"
    "  --save FILE          save the trained model (safetensors)\n"
    "  --log FILE           CSV, one row per epoch: epoch,lr,train_loss,train_acc,\n"
    "                       val_loss,val_acc,test_loss,test_acc,seconds\n"
    "  --plot FILE          learning curves (loss, accuracy) as SVG\n"
    "  --quiet              no progress bar or per-epoch lines\n"
    "  --checkpoint DIR     after every epoch, write the whole training state to\n"
    "                       DIR/checkpoint.safetensors (DIR is created if missing)\n"
    "  --resume             continue from DIR's checkpoint with the next epoch\n"
    "                       (same DATA and options: the result is bit for bit that\n"
    "                       of an uninterrupted run; --epochs is the total)\n"
    "Parallel (an MPI build, make MPI=1, started by mpirun -np N):\n"
    "  --mpi-timeout S      abort every rank when a collective takes longer than S\n"
    "                       seconds (a dead or hung rank; default 300)\n"
    "\n"
    "Under mpirun, the N processes train one model: --batch stays the global\n"
    "batch, split across the ranks; rank 0 alone prints and writes the model,\n"
    "log, plot and checkpoints.  Every rank needs the same binary, DATA and options.\n"
    "\n"
    "On a terminal a progress bar is drawn on stderr; each epoch prints one line\n"
    "on stdout.  The last line is \"test accuracy: P%% (loss L)\" when a labelled\n"
    "test set is present.  Exit status: 0 success, 1 runtime failure, 2 usage error.\n";

typedef struct train_ctx {
    int kill_after;         /* MYNN_TEST_KILL_AFTER_EPOCH (with --checkpoint), else 0 */
    int stall;              /* MYNN_TEST_FAULT=stall: hang there instead of dying */
    int last_epoch;         /* 1-based number of the last epoch reported */
    int converged;          /* lbfgs stopped on a tolerance */
    float last_loss;        /* the last epoch's training loss */
    mynn_net *net;
    const mynn_dataset *test;
    int epochs, quiet, classify;
    int batch, n_train;     /* the progress bar's, set again by on_chosen */
    cli_progress prog;
    cli_history hist;
    char *log;              /* the metrics CSV body */
    size_t log_len, log_cap;
    int oom;
} train_ctx;

static void log_append(train_ctx *c, const char *s)
{
    size_t n = strlen(s);
    if (c->log_len + n + 1 > c->log_cap) {
        size_t cap = c->log_cap ? c->log_cap * 2 : 4096;
        while (cap < c->log_len + n + 1) cap *= 2;
        char *p = realloc(c->log, cap);
        if (!p) {
            c->oom = 1;
            return;
        }
        c->log = p;
        c->log_cap = cap;
    }
    memcpy(c->log + c->log_len, s, n + 1);
    c->log_len += n;
}

/* A CSV field: the number, or nothing for "not measured" (< 0). */
static void log_field(train_ctx *c, float v, int last)
{
    char buf[MN_NUM_BUFSZ + 2] = "";
    if (v >= 0 && isfinite(v)) mn_format_float(buf, MN_NUM_BUFSZ, v);
    strcat(buf, last ? "\n" : ",");
    log_append(c, buf);
}

static int on_batch(int epoch, int b, int n_batches, float loss, void *user)
{
    train_ctx *c = user;
    cli_progress_batch(&c->prog, epoch, b, n_batches, loss);
    return 0;
}

static int on_epoch(const mynn_epoch_stats *s, void *user)
{
    train_ctx *c = user;
    /* Testing hook: die as abruptly as possible right after this epoch's
     * checkpoint was committed (mynn_fit writes it before calling us). */
    if (c->kill_after > 0 && s->epoch + 1 == c->kill_after) {
        if (c->stall)   /* a hung rank: the others' watchdogs must end the job */
            for (;;) pause();
        raise(SIGKILL);
    }
    c->last_epoch = s->epoch + 1;
    c->converged = s->converged;
    c->last_loss = s->train_loss;
    float test_loss = -1.0f, test_acc = -1.0f;
    if (c->test) {   /* collective under MPI: every rank runs on_epoch */
        mynn_metrics m;
        if (mynn_evaluate_reduced(c->net, c->test, cli_dist_reducer(), &m, NULL) == MYNN_OK) {
            test_loss = m.loss;
            test_acc = m.accuracy;
        }
    }
    if (cli_history_add(&c->hist, s->train_loss, s->train_acc, s->val_loss, s->val_acc,
                        test_loss, test_acc))
        c->oom = 1;
    char num[MN_NUM_BUFSZ + 2];
    snprintf(num, sizeof num, "%d,", s->epoch + 1);
    log_append(c, num);
    log_field(c, s->lr, 0);
    log_field(c, s->train_loss, 0);
    log_field(c, s->train_acc, 0);
    log_field(c, s->val_loss, 0);
    log_field(c, s->val_acc, 0);
    log_field(c, test_loss, 0);
    log_field(c, test_acc, 0);
    log_field(c, (float)s->seconds, 1);

    cli_progress_clear(&c->prog);
    if (!c->quiet) {
        cli_printf("epoch %d/%d  loss %.4f", s->epoch + 1, c->epochs, (double)s->train_loss);
        if (s->train_acc >= 0) cli_printf("  acc %.2f%%", 100.0 * s->train_acc);
        if (s->val_loss >= 0) cli_printf("  val_loss %.4f", (double)s->val_loss);
        if (s->val_acc >= 0) cli_printf("  val_acc %.2f%%", 100.0 * s->val_acc);
        if (test_loss >= 0) cli_printf("  test_loss %.4f", (double)test_loss);
        if (test_acc >= 0) cli_printf("  test_acc %.2f%%", 100.0 * test_acc);
        cli_printf("  %.2fs\n", s->seconds);
        fflush(stdout);
    }
    return 0;
}

/* --optimizer auto: the search has chosen; say what, before the refit's
 * epochs are reported. */
static int on_chosen(const mynn_auto_report *r, void *user)
{
    train_ctx *c = user;
    c->epochs = r->epochs;
    cli_progress_init(&c->prog, c->prog.enabled, r->epochs, r->kind == MYNN_OPT_LBFGS ? c->n_train : c->batch,
                      c->n_train);
    if (c->quiet) return 0;
    printf("auto: chose %s", mynn_metadata(c->net, "auto"));
    if (r->n_candidates > 0) {
        int cv = 0;
        for (int i = 0; i < r->n_candidates; i++) cv += r->candidates[i].folds > 1;
        printf("; %d candidate%s on %d held-out rows", r->n_candidates, r->n_candidates == 1 ? "" : "s", r->n_val);
        if (cv > 0 && cv < r->n_candidates) printf(", the best %d by %d-fold cross-validation", cv, r->folds);
        else if (cv > 0) printf(", by %d-fold cross-validation", r->folds);
        printf(", %.1f s", r->seconds);
    }
    printf("\n");
    fflush(stdout);
    return 0;
}

/* Compare a loaded model's layers with a --layers description. */
static int layers_match(const mynn_net *model, const char *spec)
{
    mynn_net *t = NULL;
    if (mynn_parse_layers(&t, spec)) return 0;
    int ok = mynn_n_layers(t) == mynn_n_layers(model);
    for (int i = 0; ok && i < mynn_n_layers(t); i++) {
        mynn_layer_info a, b;
        mynn_layer_get_info(t, i, &a);
        mynn_layer_get_info(model, i, &b);
        ok = a.kind == b.kind && (a.kind != MYNN_LAYER_DENSE || a.n_outputs == b.n_outputs) &&
             (a.kind != MYNN_LAYER_DENSE || a.activation == b.activation) &&
             (a.kind != MYNN_LAYER_DROPOUT || fabsf(a.rate - b.rate) < 1e-6f);
    }
    mynn_free(t);
    return ok;
}

/* The input transform of --normalize from the training inputs. */
static int set_normalisation(mynn_net *net, const mynn_dataset *ds, const char *kind)
{
    if (mynn_fit_input_transform(net, kind, ds->x, ds->n)) {
        cli_lib_error("--normalize %s", kind);
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* --checkpoint DIR: create DIR (and its parents) if missing (unless
 * resuming, which needs its checkpoint there); the file path into ckpt.
 * A reader (an MPI rank > 0) only reads it, to resume. */
static int checkpoint_dir(const char *dir, int resume, int reader, char *ckpt, size_t n)
{
    static const char name[] = "checkpoint.safetensors";
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') len--;
    if (len + sizeof name + 1 > n) {
        cli_error("--checkpoint: path too long");
        return CLI_FAIL;
    }
    memcpy(ckpt, dir, len);
    ckpt[len] = '\0';
    if (reader && !resume) {
        snprintf(ckpt + len, n - len, "/%s", name);
        return CLI_OK;
    }
    for (size_t i = 1; i <= len && !resume; i++) {   /* mkdir -p */
        if (i < len && ckpt[i] != '/') continue;
        char keep = ckpt[i];
        ckpt[i] = '\0';
        if (mkdir(ckpt, 0777) != 0 && errno != EEXIST) {
            cli_error("--checkpoint: cannot create folder %s: %s", ckpt, strerror(errno));
            return CLI_FAIL;
        }
        ckpt[i] = keep;
    }
    int is_dir = cli_is_dir(ckpt);
    snprintf(ckpt + len, n - len, "/%s", name);
    if (resume && access(ckpt, F_OK) != 0) {
        cli_error("--resume: no checkpoint to resume from: %s: %s", ckpt, strerror(errno));
        return CLI_FAIL;
    }
    if (!is_dir) {
        ckpt[len] = '\0';
        cli_error("--checkpoint: \"%s\" is not a folder", ckpt);
        return CLI_FAIL;
    }
    return reader ? CLI_OK : cli_check_writable("--checkpoint", ckpt);
}

static int default_threads(void)
{
#ifdef _SC_NPROCESSORS_ONLN
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n >= 1 && n <= 4096) return (int)n;
#endif
    return 0;
}

/* --val takes a fraction (0.1) or a data file: a value that reads as a
 * number is a fraction. */
static int val_is_fraction(const char *v)
{
    double d;
    return mn_parse_double_str(v, &d) == 0;
}

/* Everything cmd_train reads from its options, checked before any data is
 * read, so a typo fails in a millisecond rather than after loading. */
typedef struct train_args {
    const char *data_path, *spec, *from, *save, *log_path, *plot_path, *test_path;
    const char *val_path, *norm, *ckpt_dir;
    int resume, quiet, threads, threads_given, batch_given, have_loss, opt_auto;
    const char *auto_pinned;  /* auto with this optimizer setting given: no search */
    int rank;                 /* MPI rank (0 when alone): only rank 0 writes */
    float mpi_timeout;
    mynn_loss loss;
    mynn_init init;
    mynn_optimizer_kind opt_kind;
    float val_frac;
    int k_spec;               /* output units of --layers (or of --from) */
    mynn_fit_options fo;
    mynn_load_options lo;
    cli_fann fann;            /* --recipe fann */
    /* --text: the text's vocabulary and token ids, --seq, and --layers
     * with "vocab" replaced by its size */
    int text, text_bytes, seq;
    mynn_vocab *vocab;
    float *ids;
    size_t n_ids;
    char *text_spec;
    char ckpt[4200];
} train_args;

/* The data sets of a run; each may be NULL but train. */
typedef struct train_sets {
    mynn_dataset *train, *val, *test;
} train_sets;

/* --text [utf8|bytes] and --seq T: the text read now (its vocabulary
 * sizes --layers' "vocab" fields), cut into windows by load_datasets. */
static int parse_text_options(cli_opt *opts, train_args *a)
{
    const char *v = cli_value(opts, "--text");
    a->seq = 64;
    if (!v) {
        if (cli_value(opts, "--seq")) {
            cli_error("--seq: only with --text (a sequence's steps are --shape TxF's T otherwise)");
            return CLI_USAGE;
        }
        return CLI_OK;
    }
    a->text = 1;
    a->text_bytes = !strcmp(v, "bytes");
    if ((v = cli_value(opts, "--seq")) && cli_int("--seq", v, 1, MYNN_MAX_TEXT_SEQ, &a->seq)) return CLI_USAGE;
    if (a->test_path) {
        cli_error("--test: not with --text (hold out the text's tail with --val)");
        return CLI_USAGE;
    }
    if (a->from) {
        cli_error("--from: not with --text yet");
        return CLI_USAGE;
    }
    if (cli_text_load(a->data_path, a->text_bytes, &a->vocab, &a->ids, &a->n_ids)) return CLI_FAIL;
    if (a->spec) {
        if (!(a->text_spec = cli_text_spec(a->spec, mynn_vocab_size(a->vocab)))) {
            cli_error("out of memory");
            return CLI_FAIL;
        }
        a->spec = a->text_spec;
    }
    return CLI_OK;
}

static int text_done(train_args *a, int rc)
{
    mynn_vocab_free(a->vocab);
    free(a->ids);
    free(a->text_spec);
    a->vocab = NULL;
    a->ids = NULL;
    a->text_spec = NULL;
    return rc;
}

/* --text: windows of the text (the validation set its tail, or --val FILE). */
static int load_text_sets(train_args *a, train_sets *d)
{
    mynn_status s = mynn_text_dataset(a->ids, a->n_ids, a->seq, a->val_path ? 0.0 : a->val_frac, &d->train,
                                       a->val_path ? NULL : &d->val);
    if (!s && a->val_path) {
        float *vids = NULL;
        size_t nv = 0;
        if (cli_text_encode_file(a->val_path, a->vocab, &vids, &nv)) return CLI_FAIL;
        s = mynn_text_dataset(vids, nv, a->seq, 0.0, &d->val, NULL);
        free(vids);
    }
    if (s) {
        cli_lib_error("%s", a->data_path);
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* --loss, --init, --normalize. */
static int parse_model_options(cli_opt *opts, train_args *a)
{
    const char *v;
    a->loss = MYNN_LOSS_MSE;
    if ((v = cli_value(opts, "--loss"))) {
        if (mynn_loss_from_name(v, &a->loss)) {
            cli_error("--loss: unknown loss \"%s\" (mse, bce, ce)", v);
            return CLI_USAGE;
        }
        a->have_loss = 1;
    }
    a->init = MYNN_INIT_AUTO;
    if ((v = cli_value(opts, "--init")) && !a->fann.on) {
        if (!strcmp(v, "auto")) a->init = MYNN_INIT_AUTO;
        else if (!strcmp(v, "xavier")) a->init = MYNN_INIT_XAVIER;
        else if (!strcmp(v, "he")) a->init = MYNN_INIT_HE;
        else if (!strcmp(v, "uniform")) a->init = MYNN_INIT_UNIFORM01;
        else {
            cli_error("--init: unknown initialisation \"%s\" (auto, xavier, he, uniform)", v);
            return CLI_USAGE;
        }
    }
    a->norm = cli_value(opts, "--normalize");
    if (a->norm && strcmp(a->norm, "scale") && strcmp(a->norm, "standard") && strcmp(a->norm, "none")) {
        cli_error("--normalize: unknown kind \"%s\" (scale, standard, none)", a->norm);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* The optimizer's settings for a->opt_kind: its defaults, then the options
 * given, the schedule, epochs and batch. */
static int parse_optim_values(cli_opt *opts, train_args *a)
{
    mynn_fit_options *fo = &a->fo;
    const char *v;
    mynn_optim_config_default(&fo->optim, a->opt_kind);
    if (a->opt_kind == MYNN_OPT_LBFGS) fo->epochs = AUTO_EPOCHS;
    if ((v = cli_value(opts, "--schedule"))) {
        if (!strcmp(v, "constant")) fo->schedule.kind = MYNN_SCHED_CONSTANT;
        else if (!strcmp(v, "step")) fo->schedule.kind = MYNN_SCHED_STEP;
        else if (!strcmp(v, "cosine")) fo->schedule.kind = MYNN_SCHED_COSINE;
        else {
            cli_error("--schedule: unknown schedule \"%s\" (constant, step, cosine)", v);
            return CLI_USAGE;
        }
    }
    if (fo->schedule.step_size < 1) fo->schedule.step_size = 10;
    if (!(fo->schedule.gamma > 0)) fo->schedule.gamma = 0.1f;
    if (((v = cli_value(opts, "--lr")) && cli_float("--lr", v, 0, 1, &fo->optim.lr)) ||
        ((v = cli_value(opts, "--momentum")) && cli_float("--momentum", v, 0, 0, &fo->optim.momentum)) ||
        ((v = cli_value(opts, "--weight-decay")) &&
         cli_float("--weight-decay", v, 0, 0, &fo->optim.weight_decay)) ||
        ((v = cli_value(opts, "--clip-norm")) && cli_float("--clip-norm", v, 0, 1, &fo->optim.clip_norm)) ||
        ((v = cli_value(opts, "--step-size")) &&
         cli_int("--step-size", v, 1, 1L << 30, &fo->schedule.step_size)) ||
        ((v = cli_value(opts, "--gamma")) && cli_float("--gamma", v, 0, 1, &fo->schedule.gamma)) ||
        ((v = cli_value(opts, "--min-lr")) && cli_float("--min-lr", v, 0, 0, &fo->schedule.min_lr)) ||
        ((v = cli_value(opts, "--warmup")) &&
         cli_int("--warmup", v, 0, 1L << 30, &fo->schedule.warmup_epochs)) ||
        ((v = cli_value(opts, "--epochs")) && cli_int("--epochs", v, 1, 1L << 30, &fo->epochs)) ||
        ((v = cli_value(opts, "--batch")) && cli_int("--batch", v, 1, 1 << 24, &fo->batch_size)))
        return CLI_USAGE;
    a->batch_given = cli_value(opts, "--batch") != NULL;
    fo->optim.nesterov = cli_value(opts, "--nesterov") != NULL;
    if (fo->optim.nesterov && a->opt_kind != MYNN_OPT_SGD) {
        cli_error("--nesterov: only for --optimizer sgd");
        return CLI_USAGE;
    }
    if (fo->optim.nesterov && !(fo->optim.momentum > 0)) {
        cli_error("--nesterov: needs --momentum > 0");
        return CLI_USAGE;
    }
    if (a->opt_kind == MYNN_OPT_LBFGS && !(fo->optim.lr > 0)) {
        cli_error("--lr: lbfgs needs a first trial step > 0, got %s", cli_value(opts, "--lr"));
        return CLI_USAGE;
    }
    if (a->opt_kind == MYNN_OPT_LBFGS && fo->optim.clip_norm > 0) {
        cli_error("--clip-norm: not with lbfgs (its line search needs the true gradient)");
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* --optimizer (auto when absent) and its settings; auto is checked as
 * adam here and decided by resolve_auto once the data is read. */
static int parse_optim_options(cli_opt *opts, train_args *a)
{
    const char *v = cli_value(opts, "--optimizer");
    static const char *const pinning[] = {"--lr", "--momentum", "--nesterov", "--clip-norm", "--schedule",
                                          "--step-size", "--gamma", "--min-lr", "--warmup", NULL};
    a->opt_kind = MYNN_OPT_ADAM;
    a->opt_auto = !v || !strcmp(v, "auto");
    for (int i = 0; a->opt_auto && pinning[i] && !a->auto_pinned; i++)
        if (cli_value(opts, pinning[i])) a->auto_pinned = pinning[i];
    if (!a->opt_auto && mynn_optimizer_from_name(v, &a->opt_kind)) {
        cli_error("--optimizer: unknown optimizer \"%s\" (auto, sgd, adam, adamw, rmsprop, irprop, "
                  "lbfgs)", v);
        return CLI_USAGE;
    }
    return parse_optim_values(opts, a);
}

/* --optimizer auto: the library's search (MYNN_OPT_AUTO), --weight-decay
 * and --epochs fixing theirs.  Under mpirun (L-BFGS's line search needs
 * the whole set in one process) or with an optimizer's own setting given,
 * no search: full-batch L-BFGS up to AUTO_ROWS training rows, else Adam,
 * with the settings given on top. */
static int resolve_auto(cli_opt *opts, train_args *a, const mynn_dataset *train)
{
    if (!a->opt_auto) return CLI_OK;
    if (cli_dist_world() > 1 || a->auto_pinned) {
        a->opt_kind = train->n <= AUTO_ROWS && cli_dist_world() <= 1 ? MYNN_OPT_LBFGS : MYNN_OPT_ADAM;
        return parse_optim_values(opts, a);
    }
    a->opt_kind = MYNN_OPT_AUTO;
    int rc = parse_optim_values(opts, a);
    a->fo.search.fix_weight_decay = cli_value(opts, "--weight-decay") != NULL;
    a->fo.search.fix_epochs = cli_value(opts, "--epochs") != NULL;
    return rc;
}

/* Seed, threads, validation, early stopping, checkpoints, data options. */
/* --augment crop=N,flip (either or both). */
static int parse_augment(const char *v, mynn_augment *aug)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", v);
    for (char *item = strtok(buf, ","); item; item = strtok(NULL, ",")) {
        if (strcmp(item, "flip") == 0) {
            aug->flip = 1;
        } else if (strncmp(item, "crop=", 5) == 0) {
            if (cli_int("--augment crop", item + 5, 1, 4096, &aug->crop)) return CLI_USAGE;
        } else {
            cli_error("--augment: unknown \"%s\" (crop=N, flip, as --augment crop=4,flip)", item);
            return CLI_USAGE;
        }
    }
    if (!aug->crop && !aug->flip) {
        cli_error("--augment: \"%s\" names nothing (crop=N, flip)", v);
        return CLI_USAGE;
    }
    return CLI_OK;
}

static int parse_run_options(cli_opt *opts, train_args *a)
{
    mynn_fit_options *fo = &a->fo;
    const char *v;
    int seed = 1;
    a->threads = default_threads();
    if (((v = cli_value(opts, "--seed")) && cli_int("--seed", v, 0, 0x7fffffffL, &seed)) ||
        ((v = cli_value(opts, "--threads")) && cli_int("--threads", v, 1, 4096, &a->threads)) ||
        ((v = cli_value(opts, "--val")) && val_is_fraction(v) && cli_fraction("--val", v, &a->val_frac)) ||
        ((v = cli_value(opts, "--patience")) && cli_int("--patience", v, 1, 1L << 30, &fo->patience)))
        return CLI_USAGE;
    a->threads_given = cli_value(opts, "--threads") != NULL;
    a->mpi_timeout = 300.0f;
    if ((v = cli_value(opts, "--mpi-timeout")) && cli_float("--mpi-timeout", v, 0, 1, &a->mpi_timeout))
        return CLI_USAGE;
    a->val_path = (v = cli_value(opts, "--val")) && !val_is_fraction(v) ? v : NULL;
    if ((v = cli_value(opts, "--augment")) && parse_augment(v, &fo->augment)) return CLI_USAGE;
    if (fo->patience > 0 && a->val_frac <= 0 && !a->val_path) {
        cli_error("--patience: needs a validation set (--val FRACTION or --val DATA)");
        return CLI_USAGE;
    }
    if (a->resume && !a->ckpt_dir) {
        cli_error("--resume: needs --checkpoint DIR");
        return CLI_USAGE;
    }
    fo->seed = (uint64_t)seed;
    fo->shuffle = cli_value(opts, "--no-shuffle") == NULL;
    a->quiet = cli_value(opts, "--quiet") != NULL;
    return cli_load_options(opts, &a->lo) ? CLI_USAGE : CLI_OK;
}

/* The layer description and loss, checked on a scratch network; chooses
 * the loss from the output activation when --loss is absent. */
static int check_layers(train_args *a)
{
    mynn_net *t = NULL;
    if (mynn_parse_layers(&t, a->spec)) {
        cli_lib_error("--layers");
        return CLI_USAGE;
    }
    a->k_spec = mynn_n_outputs(t);
    mynn_activation out_act = cli_output_activation(t);
    if (!a->have_loss && a->fann.on)
        a->loss = MYNN_LOSS_MSE;   /* FANN's */
    else if (!a->have_loss)
        a->loss = out_act == MYNN_ACT_SOFTMAX ? MYNN_LOSS_CE
                : out_act == MYNN_ACT_SIGMOID ? MYNN_LOSS_BCE : MYNN_LOSS_MSE;
    mynn_layer_info li;
    int last_dense = mynn_layer_get_info(t, mynn_n_layers(t) - 1, &li) == MYNN_OK &&
                     li.kind == MYNN_LAYER_DENSE;
    int bad = !last_dense || mynn_set_loss(t, a->loss);
    mynn_free(t);
    if (!bad) return CLI_OK;
    if (!last_dense) cli_error("--layers: \"%s\" must end with a dense layer (as 10:softmax)", a->spec);
    else cli_lib_error("--loss %s with a %s output layer", mynn_loss_name(a->loss),
                       mynn_activation_name(out_act));
    return CLI_USAGE;
}

/* Output paths checked now, not after hours of training (by rank 0, the
 * one that writes them). */
static int check_outputs(train_args *a)
{
    if (a->rank == 0 && ((a->save && cli_check_writable("--save", a->save)) ||
        (a->log_path && cli_check_writable("--log", a->log_path)) ||
        (a->plot_path && cli_check_writable("--plot", a->plot_path))))
        return CLI_FAIL;
    if (a->ckpt_dir) {
        if (checkpoint_dir(a->ckpt_dir, a->resume, a->rank != 0, a->ckpt, sizeof a->ckpt)) return CLI_FAIL;
        a->fo.checkpoint_path = a->ckpt;
        a->fo.resume = a->resume;
    }
    return CLI_OK;
}

/* The samples of a batch this process runs: its share under MPI. */
static int local_batch(const train_args *a)
{
    int world = cli_dist_world();
    return (a->fo.batch_size + world - 1) / world;
}

/* The batch the network is built for: auto's L-BFGS (up to its search's
 * size) trains on the whole set in one batch. */
static int build_batch(const train_args *a, int n)
{
    int b = local_batch(a);
    return a->opt_kind == MYNN_OPT_AUTO && n <= MYNN_AUTO_SEARCH_ROWS && n > b ? n : b;
}

/* --from MODEL: the starting network, checked against --layers and --loss. */
static int load_start_model(train_args *a, mynn_net **net)
{
    if (cli_load_model(net, a->from, local_batch(a))) return CLI_FAIL;
    if (a->spec && !layers_match(*net, a->spec)) {
        cli_error("--layers: \"%s\" does not match the architecture of %s (see mynn info)", a->spec,
                  a->from);
        return CLI_USAGE;
    }
    a->k_spec = mynn_n_outputs(*net);
    if (a->have_loss && mynn_set_loss(*net, a->loss)) {
        cli_lib_error("--loss %s", mynn_loss_name(a->loss));
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* A second data set must have the training set's inputs and outputs. */
static int check_like_train(const mynn_dataset *ds, const char *path, const mynn_dataset *train)
{
    if (ds->n_inputs == train->n_inputs && ds->n_outputs == train->n_outputs) return CLI_OK;
    cli_error("%s: %d inputs and %d outputs, but the training data has %d and %d", path,
              ds->n_inputs, ds->n_outputs, train->n_inputs, train->n_outputs);
    return CLI_FAIL;
}

/* DATA, the test set (--test, or a folder's t10k-* files) and the
 * validation set (--val DATA, or a fraction split off DATA). */
static int load_datasets(train_args *a, train_sets *d, const mynn_net *from)
{
    if (a->text) return load_text_sets(a, d);
    mynn_load_options *lo = &a->lo;
    if (lo->n_targets == 0 && a->k_spec >= 2) lo->n_classes = a->k_spec;
    /* --from with an encoding: the data goes through it; else DATA's
     * encoding (if it needs one) is learned and applied to the others. */
    mynn_encoding *from_enc = NULL;
    if (from && cli_model_encoding(from, a->from, &from_enc)) return CLI_FAIL;
    int rc = from_enc ? cli_load_like(&d->train, a->data_path, lo, from_enc, 0)
                      : cli_load_data(&d->train, a->data_path, lo, 0);
    const mynn_encoding *enc = from_enc ? from_enc : d->train ? d->train->encoding : NULL;
    if (!rc && a->test_path)
        rc = cli_load_like(&d->test, a->test_path, lo, enc, cli_is_dir(a->test_path) ? 1 : 0);
    else if (!rc && cli_is_dir(a->data_path)) {
        rc = cli_load_like(&d->test, a->data_path, lo, enc, 1);
        a->test_path = a->data_path;
    }
    if (!rc && a->val_path)
        rc = cli_load_like(&d->val, a->val_path, lo, enc, cli_is_dir(a->val_path) ? 1 : 0);
    mynn_encoding_free(from_enc);
    if (rc) return rc;
    const mynn_dataset *train = d->train;
    if (train->n_outputs != a->k_spec) {
        if (train->n_classes > 0)
            cli_error("%s: %d classes, but the output layer has %d units", a->data_path,
                      train->n_classes, a->k_spec);
        else
            cli_error("%s: %d target column%s, but the output layer has %d units", a->data_path,
                      train->n_outputs, train->n_outputs == 1 ? "" : "s", a->k_spec);
        return CLI_FAIL;
    }
    if (d->test && check_like_train(d->test, a->test_path, train)) return CLI_FAIL;
    if (d->val) {
        if (check_like_train(d->val, a->val_path, train)) return CLI_FAIL;
    } else if (a->val_frac > 0) {
        if (mynn_dataset_split(d->train, a->val_frac, a->fo.seed, &d->val)) {
            cli_lib_error("--val");
            return CLI_FAIL;
        }
        if (d->train->n < 1 || d->val->n < 1) {
            cli_error("--val %g leaves an empty training or validation set", (double)a->val_frac);
            return CLI_USAGE;
        }
    }
    if (a->fann.on && cli_fann_targets(a->spec, d->train, d->test)) return CLI_FAIL;
    return CLI_OK;
}

/* The data's sample shape (IDX images, or --shape) as the net's input shape. */
static mynn_status set_shape(mynn_net *net, const mynn_dataset *ds)
{
    if (ds->shape_dims == 1) return mynn_set_input_shape_1d(net, ds->shape[0], ds->shape[2]);
    if (ds->shape_dims == 2) return mynn_set_input_shape(net, ds->shape[0], ds->shape[1], ds->shape[2]);
    return MYNN_OK;
}

/* An embedding reads the input as token ids: not normalised by default. */
static int reads_ids(const mynn_net *net)
{
    mynn_layer_info li;
    for (int i = 0; i < mynn_n_layers(net); i++)
        if (mynn_layer_get_info(net, i, &li) == MYNN_OK && li.kind == MYNN_LAYER_EMBEDDING) return 1;
    return 0;
}

/* The network to train: the --from model fitted to the data, or a new one
 * built from --layers, with its input normalisation. */
static int prepare_network(train_args *a, const mynn_dataset *train, mynn_net **net)
{
    if ((a->opt_kind == MYNN_OPT_IRPROP || a->opt_kind == MYNN_OPT_LBFGS) && !a->batch_given)
        a->fo.batch_size = train->n;
    if (a->from) {
        if (mynn_n_inputs(*net) != train->n_inputs) {
            cli_error("%s: %d inputs, but the model %s takes %d", a->data_path, train->n_inputs,
                      a->from, mynn_n_inputs(*net));
            return CLI_FAIL;
        }
        if (build_batch(a, train->n) > mynn_max_batch(*net)) {   /* irprop's, lbfgs's full batch */
            mynn_free(*net);
            if (cli_load_model(net, a->from, build_batch(a, train->n))) return CLI_FAIL;
            if (a->have_loss) mynn_set_loss(*net, a->loss);
        }
        if (a->norm && set_normalisation(*net, train, a->norm)) return CLI_FAIL;
    } else {
        mynn_status s = mynn_create(net, train->n_inputs);
        if (!s) s = set_shape(*net, train);
        if (!s && (s = mynn_add_layers(*net, a->spec))) {   /* shapes meet the data only now */
            cli_lib_error("--layers");
            return CLI_USAGE;
        }
        if (s || mynn_set_loss(*net, a->loss) || mynn_build(*net, build_batch(a, train->n), a->init, a->fo.seed)) {
            cli_lib_error("cannot build the network");
            return CLI_FAIL;
        }
        if (set_normalisation(*net, train, a->norm ? a->norm : a->fann.on || a->text || reads_ids(*net) ? "none" : "scale"))
            return CLI_FAIL;
        if (a->text && mynn_set_vocab(*net, a->vocab)) {
            cli_lib_error("%s: the vocabulary", a->data_path);
            return CLI_FAIL;
        }
        if (a->fann.on && cli_fann_init(&a->fann, *net, train, a->fo.seed)) return CLI_FAIL;
        if (train->encoding && mynn_set_encoding(*net, train->encoding)) {
            cli_lib_error("%s: the feature encoding", a->data_path);
            return CLI_FAIL;
        }
    }
    /* The machine's cores are shared by the ranks running on it. */
    int local = cli_dist_local_ranks();
    if (!a->threads_given && local > 1) a->threads = a->threads / local > 0 ? a->threads / local : 1;
    mynn_set_threads(a->threads);
    a->fo.reducer = cli_dist_reducer();
    return CLI_OK;
}

/* --optimizer auto's weight decay for L-BFGS when --weight-decay is not
 * given: stronger when the network has over 10 parameters per training
 * row (docs/small-data.md). */
static void auto_decay(cli_opt *opts, train_args *a, const mynn_dataset *train, mynn_net *net)
{
    if (!a->opt_auto || a->opt_kind != MYNN_OPT_LBFGS || cli_value(opts, "--weight-decay")) return;
    size_t np = 0;
    mynn_params(net, &np);
    a->fo.optim.weight_decay = np > 10 * (size_t)train->n ? AUTO_WD_OVER : AUTO_WD;
}

/* The line announcing the run. */
static void report_start(const train_args *a, const train_sets *d, mynn_net *net)
{
    if (a->quiet) return;
    size_t np = 0;
    mynn_params(net, &np);
    if (a->text)
        printf("training on %d windows of %d characters (a vocabulary of %d), ", d->train->n, a->seq,
               mynn_vocab_size(a->vocab));
    else
        printf("training on %d samples (%d inputs, ", d->train->n, d->train->n_inputs);
    if (a->text) printf("loss in nats per character");
    else if (d->train->n_classes > 0) printf("%d classes)", d->train->n_classes);
    else printf("%d targets)", d->train->n_outputs);
    if (d->val) printf(", validating on %d", d->val->n);
    if (d->test) printf(", testing on %d", d->test->n);
    if (a->fann.on) {   /* FANN's trainer, not mynn's optimizers and losses */
        char what[160];
        cli_fann_describe(&a->fann, what, sizeof what);
        printf("; %zu parameters, %s, FANN's MSE", np, what);
    } else {
        printf("; %zu parameters, ", np);
        if (a->opt_kind == MYNN_OPT_AUTO) {
            printf("auto (choosing on held-out rows)");
        } else {
            printf("%s%s", mynn_optimizer_name(a->opt_kind), a->opt_auto ? " (auto" : "");
            if (a->opt_auto && a->opt_kind == MYNN_OPT_LBFGS)
                printf(", weight decay %g", (double)a->fo.optim.weight_decay);
            if (a->auto_pinned) printf("; no search: %s given", a->auto_pinned);
            printf("%s", a->opt_auto ? ")" : "");
        }
        printf(", %s loss", mynn_loss_name(mynn_get_loss(net)));
    }
    if (cli_dist_world() > 1)
        printf("; %d ranks x %d thread%s, %d samples per rank and step", cli_dist_world(), a->threads,
               a->threads == 1 ? "" : "s", local_batch(a));
    printf("\n");
    fflush(stdout);
}

/* mynn_fit with the progress, log and history callbacks. */
static int run_fit(train_args *a, const train_sets *d, mynn_net *net, train_ctx *ctx)
{
    const char *v;
    ctx->net = net;
    ctx->test = d->test;
    /* Testing hooks: MYNN_TEST_KILL_AFTER_EPOCH=E (with --checkpoint) dies
     * after epoch E; MYNN_TEST_KILL_RANK=R does it on MPI rank R only;
     * MYNN_TEST_FAULT=stall hangs instead. */
    if (a->ckpt_dir && (v = getenv("MYNN_TEST_KILL_AFTER_EPOCH"))) ctx->kill_after = atoi(v);
    if ((v = getenv("MYNN_TEST_KILL_RANK")) && atoi(v) != a->rank) ctx->kill_after = 0;
    ctx->stall = (v = getenv("MYNN_TEST_FAULT")) && !strcmp(v, "stall");
    ctx->epochs = a->fo.epochs;
    ctx->quiet = a->quiet;
    ctx->classify = d->train->n_classes > 0;
    ctx->batch = a->fo.batch_size;
    ctx->n_train = d->train->n;
    a->fo.search.on_chosen = on_chosen;
    cli_progress_init(&ctx->prog, !a->quiet && isatty(2), a->fo.epochs, a->fo.batch_size, d->train->n);
    log_append(ctx, "epoch,lr,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc,seconds\n");
    a->fo.on_epoch = on_epoch;
    a->fo.on_batch = on_batch;
    a->fo.user = ctx;
    mynn_status st;
    if (a->fann.on) {
        a->fann.o.epochs = a->fo.epochs;
        a->fann.o.on_epoch = on_epoch;
        a->fann.o.user = ctx;
        st = mynn_fann_train(net, d->train, &a->fann.o);
    } else {
        st = mynn_fit(net, d->train, d->val, &a->fo);
    }
    cli_progress_clear(&ctx->prog);
    if (st != MYNN_OK && st != MYNN_ERR_STOPPED) {
        cli_lib_error("training failed");
        return CLI_FAIL;
    }
    if (cli_dist_check_weights(net)) return CLI_FAIL;
    if (!a->quiet) cli_dist_report();
    if (ctx->oom) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    if (!a->quiet && a->fann.on && st == MYNN_OK && ctx->last_epoch < ctx->epochs)
        printf("stopped after epoch %d (FANN's desired error: MSE %g <= %g)\n", ctx->last_epoch,
               (double)ctx->last_loss, (double)a->fann.o.desired_error);
    else if (!a->quiet && ctx->converged && ctx->last_epoch < ctx->epochs)
        printf("converged after epoch %d (lbfgs: tolerance or evaluation budget reached)\n",
               ctx->last_epoch);
    else if (!a->quiet && a->fo.patience > 0 && ctx->last_epoch > 0 && ctx->last_epoch < ctx->epochs)
        printf("stopped early after epoch %d (no better validation loss for %d epochs)\n",
               ctx->last_epoch, a->fo.patience);
    return CLI_OK;
}

/* The final figures of the model as it is saved (split across the ranks
 * under MPI; rank 0 prints them). */
static int report_test(const train_args *a, const train_sets *d, mynn_net *net)
{
    if (!d->test) return CLI_OK;
    mynn_metrics m;
    if (mynn_evaluate_reduced(net, d->test, cli_dist_reducer(), &m, NULL)) {
        cli_lib_error("%s", a->test_path);
        return CLI_FAIL;
    }
    if (a->rank != 0) return CLI_OK;
    if (m.accuracy >= 0)
        cli_printf("test accuracy: %.2f%% (loss %.4f)\n", 100.0 * m.accuracy, (double)m.loss);
    else
        cli_printf("test loss: %.6g (mse %.6g, mae %.6g)\n", (double)m.loss, (double)m.mse, (double)m.mae);
    return CLI_OK;
}

/* The model, then the log and the plot (rank 0 alone). */
static int write_outputs(const train_args *a, mynn_net *net, const train_ctx *ctx)
{
    if (a->rank != 0) return CLI_OK;
    if (a->save && mynn_save(net, a->save)) {
        cli_lib_error("--save");
        return CLI_FAIL;
    }
    cli_out *o;
    if (a->log_path) {
        if (cli_out_open(&o, "--log", a->log_path)) return CLI_FAIL;
        cli_out_write(o, ctx->log, ctx->log_len);
        if (cli_out_commit(o)) return CLI_FAIL;
    }
    if (a->plot_path) {
        if (cli_out_open(&o, "--plot", a->plot_path)) return CLI_FAIL;
        char title[512];
        snprintf(title, sizeof title, "mynn train %s --layers %s", a->data_path,
                 a->spec ? a->spec : "(from model)");
        cli_plot_svg(o, &ctx->hist, title);
        if (cli_out_commit(o)) return CLI_FAIL;
    }
    if (!a->quiet && a->save) printf("saved %s\n", a->save);
    return CLI_OK;
}

int cmd_train(int argc, char **argv)
{
    cli_opt opts[] = {
        {"--test", 1, NULL}, {"--layers", 1, NULL}, {"--loss", 1, NULL},
        {"--optimizer", 1, NULL}, {"--lr", 1, NULL}, {"--momentum", 1, NULL},
        {"--nesterov", 0, NULL}, {"--weight-decay", 1, NULL}, {"--clip-norm", 1, NULL},
        {"--schedule", 1, NULL}, {"--step-size", 1, NULL}, {"--gamma", 1, NULL},
        {"--min-lr", 1, NULL}, {"--warmup", 1, NULL}, {"--epochs", 1, NULL},
        {"--batch", 1, NULL}, {"--seed", 1, NULL}, {"--threads", 1, NULL},
        {"--init", 1, NULL}, {"--normalize", 1, NULL}, {"--val", 1, NULL},
        {"--patience", 1, NULL}, {"--no-shuffle", 0, NULL}, {"--from", 1, NULL},
        {"--save", 1, NULL}, {"--log", 1, NULL}, {"--plot", 1, NULL}, {"--quiet", 0, NULL},
        {"--checkpoint", 1, NULL}, {"--resume", 0, NULL}, {"--mpi-timeout", 1, NULL},
        {"--augment", 1, NULL}, {"--text", 2, NULL}, {"--seq", 1, NULL},
        CLI_DATA_OPTS, CLI_FANN_OPTS, {NULL, 0, NULL}};
    const char *pos[1];
    /* Under mpirun every rank parses the same arguments: rank 0 reports. */
    int rank = cli_dist_env_rank();
    if (rank > 0) cli_error_silence();
    int npos, rc = cli_parse("train", argc, argv, opts, pos, 1, &npos);
    if (rc == CLI_HELP) {
        if (rank == 0) {
            fputs(help, stdout);
            printf(help_rest, cli_fann_help, cli_data_help);
        }
        return CLI_OK;
    }
    if (rc) return rc;
    if (npos < 1) {
        cli_error("train: missing DATA (usage: mynn train DATA --layers SPEC [options])");
        return CLI_USAGE;
    }
    static train_args a;   /* static: the checkpoint path buffer is large */
    memset(&a, 0, sizeof a);
    mynn_fit_options_default(&a.fo);
    a.data_path = pos[0];
    a.spec = cli_value(opts, "--layers");
    a.from = cli_value(opts, "--from");
    a.save = cli_value(opts, "--save");
    a.log_path = cli_value(opts, "--log");
    a.plot_path = cli_value(opts, "--plot");
    a.test_path = cli_value(opts, "--test");
    a.ckpt_dir = cli_value(opts, "--checkpoint");
    a.resume = cli_value(opts, "--resume") != NULL;
    if (!a.spec && !a.from) {
        cli_error("train: --layers is required (e.g. --layers 128:relu,10:softmax)");
        return CLI_USAGE;
    }
    if ((rc = cli_fann_parse(opts, &a.fann)) || (rc = parse_optim_options(opts, &a)) ||
        (rc = parse_model_options(opts, &a)) || (rc = parse_run_options(opts, &a)) ||
        (rc = parse_text_options(opts, &a)) || (a.spec && (rc = check_layers(&a))))
        return text_done(&a, rc);
    if (rank > 0) {
        cli_error_unsilence();
        a.quiet = 1;
    }
    a.rank = rank;
    /* From here on a failure under MPI ends every rank (cli_dist_end). */
    if (cli_dist_start(a.mpi_timeout)) return CLI_FAIL;
    a.rank = cli_dist_rank();
    if ((rc = check_outputs(&a))) return cli_dist_end(rc);

    mynn_net *net = NULL;
    train_sets d = {NULL, NULL, NULL};
    train_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    rc = CLI_FAIL;
    int r;
    if (a.from && (r = load_start_model(&a, &net))) rc = r;
    else if ((r = load_datasets(&a, &d, net)) || (r = resolve_auto(opts, &a, d.train))) rc = r;
    else if ((r = prepare_network(&a, d.train, &net))) rc = r;
    else if (!cli_dist_check(net, &a.fo, d.train, d.val, d.test)) {
        auto_decay(opts, &a, d.train, net);
        report_start(&a, &d, net);
        if (!run_fit(&a, &d, net, &ctx) && !report_test(&a, &d, net) && !write_outputs(&a, net, &ctx))
            rc = CLI_OK;
    }
    cli_progress_clear(&ctx.prog);
    cli_history_free(&ctx.hist);
    free(ctx.log);
    mynn_dataset_free(d.train);
    mynn_dataset_free(d.val);
    mynn_dataset_free(d.test);
    mynn_free(net);
    return cli_dist_end(text_done(&a, rc));
}
