/* mynn train DATA --layers SPEC [options]: build (or load) a network, fit it,
 * report per-epoch progress and the final test accuracy, and write the
 * model, the metrics log and the learning-curve plot. */
#include "cli.h"
#include "io/numparse.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char help[] =
    "usage: mynn train DATA --layers SPEC [options]\n"
    "\n"
    "Train a network on DATA (CSV, FANN data, an IDX images file, or a folder\n"
    "holding the four MNIST-style IDX files: train-* to train on, t10k-* as the\n"
    "test set unless --test is given).\n"
    "\n"
    "Model:\n"
    "  --layers SPEC        layers, e.g. 256:relu,dropout:0.2,10:softmax (the input\n"
    "                       size comes from the data); required unless --from\n"
    "  --loss NAME          mse, bce or ce (default: ce after softmax, bce after\n"
    "                       sigmoid, else mse)\n"
    "  --init NAME          auto, xavier, he or uniform (default auto)\n"
    "  --normalize KIND     scale (default: global min/max of the training inputs\n"
    "                       to [0, 1]), standard (per-feature mean/std) or none;\n"
    "                       saved with the model\n"
    "  --from MODEL         start from a saved model (its architecture wins;\n"
    "                       --layers, if given, must match; keeps its normalisation\n"
    "                       unless --normalize is given)\n"
    "Optimisation:\n"
    "  --optimizer NAME     sgd, adam, adamw, rmsprop or irprop (default adam)\n"
    "  --lr X               learning rate (default 0.001; sgd 0.01)\n"
    "  --momentum X         sgd momentum (default 0)\n"
    "  --nesterov           sgd: Nesterov momentum\n"
    "  --weight-decay X     L2 penalty (adamw: decoupled) (default 0)\n"
    "  --clip-norm X        clip the gradient's global L2 norm to X (default off)\n"
    "  --schedule KIND      constant (default), step or cosine\n"
    "  --step-size N        step: epochs between decays (default 10)\n"
    "  --gamma X            step: decay factor (default 0.1)\n"
    "  --min-lr X           cosine: final learning rate (default 0)\n"
    "  --warmup N           epochs of linear warm-up (default 0)\n"
    "  --epochs N           epochs (default 10)\n"
    "  --batch N            batch size (default 32; irprop: the whole training set)\n"
    "  --seed N             seed for initialisation, shuffling, splits (default 1)\n"
    "  --no-shuffle         keep the sample order\n"
    "  --val FRACTION|DATA  hold out this fraction of DATA for validation,\n"
    "                       or validate on another data file\n"
    "  --patience N         stop after N epochs without a better validation loss,\n"
    "                       keeping the best weights (needs --val)\n"
    "  --threads N          threads (default: all cores)\n"
    "Data:\n"
    "  --test DATA          test set, evaluated after each epoch\n"
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
    "\n"
    "On a terminal a progress bar is drawn on stderr; each epoch prints one line\n"
    "on stdout.  The last line is \"test accuracy: P%% (loss L)\" when a labelled\n"
    "test set is present.  Exit status: 0 success, 1 runtime failure, 2 usage error.\n";

typedef struct train_ctx {
    int kill_after;         /* MYNN_TEST_KILL_AFTER_EPOCH (with --checkpoint), else 0 */
    int last_epoch;         /* 1-based number of the last epoch reported */
    mynn_net *net;
    const mynn_dataset *test;
    int epochs, quiet, classify;
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
    if (c->kill_after > 0 && s->epoch + 1 == c->kill_after) raise(SIGKILL);
    c->last_epoch = s->epoch + 1;
    float test_loss = -1.0f, test_acc = -1.0f;
    if (c->test) {
        mynn_metrics m;
        if (mynn_evaluate(c->net, c->test, &m, NULL) == MYNN_OK) {
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

/* Compare a loaded model's layers with a --layers description. */
static int layers_match(const mynn_net *model, const char *spec)
{
    mynn_net *t = NULL;
    if (mynn_create(&t, mynn_n_inputs(model)) || mynn_add_layers(t, spec)) {
        mynn_free(t);
        return 0;
    }
    int ok = mynn_n_layers(t) == mynn_n_layers(model);
    for (int i = 0; ok && i < mynn_n_layers(t); i++) {
        mynn_layer_info a, b;
        mynn_layer_get_info(t, i, &a);
        mynn_layer_get_info(model, i, &b);
        ok = a.kind == b.kind && a.n_outputs == b.n_outputs &&
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
 * resuming, which needs its checkpoint there); the file path into ckpt. */
static int checkpoint_dir(const char *dir, int resume, char *ckpt, size_t n)
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
    return cli_check_writable("--checkpoint", ckpt);
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
        {"--checkpoint", 1, NULL}, {"--resume", 0, NULL}, CLI_DATA_OPTS, {NULL, 0, NULL}};
    const char *pos[1];
    int npos, rc = cli_parse("train", argc, argv, opts, pos, 1, &npos);
    if (rc == CLI_HELP) {
        printf(help, cli_data_help);
        return CLI_OK;
    }
    if (rc) return rc;
    if (npos < 1) {
        cli_error("train: missing DATA (usage: mynn train DATA --layers SPEC [options])");
        return CLI_USAGE;
    }
    const char *data_path = pos[0];
    const char *v, *spec = cli_value(opts, "--layers"), *from = cli_value(opts, "--from");
    const char *save = cli_value(opts, "--save"), *log_path = cli_value(opts, "--log");
    const char *plot_path = cli_value(opts, "--plot"), *test_path = cli_value(opts, "--test");
    const char *ckpt_dir = cli_value(opts, "--checkpoint");
    int resume = cli_value(opts, "--resume") != NULL;
    static char ckpt[4200];
    if (!spec && !from) {
        cli_error("train: --layers is required (e.g. --layers 128:relu,10:softmax)");
        return CLI_USAGE;
    }

    /* ---- every option checked before any data is read ---- */
    mynn_fit_options fo;
    mynn_fit_options_default(&fo);
    mynn_optimizer_kind ok = MYNN_OPT_ADAM;
    if ((v = cli_value(opts, "--optimizer")) && mynn_optimizer_from_name(v, &ok)) {
        cli_error("--optimizer: unknown optimizer \"%s\" (sgd, adam, adamw, rmsprop, irprop)", v);
        return CLI_USAGE;
    }
    mynn_optim_config_default(&fo.optim, ok);
    int have_loss = 0;
    mynn_loss loss = MYNN_LOSS_MSE;
    if ((v = cli_value(opts, "--loss"))) {
        if (mynn_loss_from_name(v, &loss)) {
            cli_error("--loss: unknown loss \"%s\" (mse, bce, ce)", v);
            return CLI_USAGE;
        }
        have_loss = 1;
    }
    mynn_init init = MYNN_INIT_AUTO;
    if ((v = cli_value(opts, "--init"))) {
        if (!strcmp(v, "auto")) init = MYNN_INIT_AUTO;
        else if (!strcmp(v, "xavier")) init = MYNN_INIT_XAVIER;
        else if (!strcmp(v, "he")) init = MYNN_INIT_HE;
        else if (!strcmp(v, "uniform")) init = MYNN_INIT_UNIFORM01;
        else {
            cli_error("--init: unknown initialisation \"%s\" (auto, xavier, he, uniform)", v);
            return CLI_USAGE;
        }
    }
    const char *norm = cli_value(opts, "--normalize");
    if (norm && strcmp(norm, "scale") && strcmp(norm, "standard") && strcmp(norm, "none")) {
        cli_error("--normalize: unknown kind \"%s\" (scale, standard, none)", norm);
        return CLI_USAGE;
    }
    if ((v = cli_value(opts, "--schedule"))) {
        if (!strcmp(v, "constant")) fo.schedule.kind = MYNN_SCHED_CONSTANT;
        else if (!strcmp(v, "step")) fo.schedule.kind = MYNN_SCHED_STEP;
        else if (!strcmp(v, "cosine")) fo.schedule.kind = MYNN_SCHED_COSINE;
        else {
            cli_error("--schedule: unknown schedule \"%s\" (constant, step, cosine)", v);
            return CLI_USAGE;
        }
    }
    if (fo.schedule.step_size < 1) fo.schedule.step_size = 10;
    if (!(fo.schedule.gamma > 0)) fo.schedule.gamma = 0.1f;
    int seed = 1, threads = default_threads(), batch_given = 0;
    float val_frac = 0.0f;
    if (((v = cli_value(opts, "--lr")) && cli_float("--lr", v, 0, 1, &fo.optim.lr)) ||
        ((v = cli_value(opts, "--momentum")) && cli_float("--momentum", v, 0, 0, &fo.optim.momentum)) ||
        ((v = cli_value(opts, "--weight-decay")) &&
         cli_float("--weight-decay", v, 0, 0, &fo.optim.weight_decay)) ||
        ((v = cli_value(opts, "--clip-norm")) && cli_float("--clip-norm", v, 0, 1, &fo.optim.clip_norm)) ||
        ((v = cli_value(opts, "--step-size")) &&
         cli_int("--step-size", v, 1, 1L << 30, &fo.schedule.step_size)) ||
        ((v = cli_value(opts, "--gamma")) && cli_float("--gamma", v, 0, 1, &fo.schedule.gamma)) ||
        ((v = cli_value(opts, "--min-lr")) && cli_float("--min-lr", v, 0, 0, &fo.schedule.min_lr)) ||
        ((v = cli_value(opts, "--warmup")) &&
         cli_int("--warmup", v, 0, 1L << 30, &fo.schedule.warmup_epochs)) ||
        ((v = cli_value(opts, "--epochs")) && cli_int("--epochs", v, 1, 1L << 30, &fo.epochs)) ||
        ((v = cli_value(opts, "--batch")) && cli_int("--batch", v, 1, 1 << 24, &fo.batch_size)) ||
        ((v = cli_value(opts, "--seed")) && cli_int("--seed", v, 0, 0x7fffffffL, &seed)) ||
        ((v = cli_value(opts, "--threads")) && cli_int("--threads", v, 1, 4096, &threads)) ||
        ((v = cli_value(opts, "--val")) && val_is_fraction(v) && cli_fraction("--val", v, &val_frac)) ||
        ((v = cli_value(opts, "--patience")) && cli_int("--patience", v, 1, 1L << 30, &fo.patience)))
        return CLI_USAGE;
    batch_given = cli_value(opts, "--batch") != NULL;
    fo.optim.nesterov = cli_value(opts, "--nesterov") != NULL;
    if (fo.optim.nesterov && ok != MYNN_OPT_SGD) {
        cli_error("--nesterov: only for --optimizer sgd");
        return CLI_USAGE;
    }
    if (fo.optim.nesterov && !(fo.optim.momentum > 0)) {
        cli_error("--nesterov: needs --momentum > 0");
        return CLI_USAGE;
    }
    const char *val_path = (v = cli_value(opts, "--val")) && !val_is_fraction(v) ? v : NULL;
    if (fo.patience > 0 && val_frac <= 0 && !val_path) {
        cli_error("--patience: needs a validation set (--val FRACTION or --val DATA)");
        return CLI_USAGE;
    }
    if (resume && !ckpt_dir) {
        cli_error("--resume: needs --checkpoint DIR");
        return CLI_USAGE;
    }
    fo.seed = (uint64_t)seed;
    fo.shuffle = cli_value(opts, "--no-shuffle") == NULL;
    mynn_load_options lo;
    if (cli_load_options(opts, &lo)) return CLI_USAGE;

    /* The layer description and loss checked on a scratch network. */
    int k_spec = 0;
    mynn_activation out_act = MYNN_ACT_IDENTITY;
    if (spec) {
        mynn_net *t = NULL;
        if (mynn_create(&t, 1) || mynn_add_layers(t, spec)) {
            cli_lib_error("--layers");
            mynn_free(t);
            return CLI_USAGE;
        }
        k_spec = mynn_n_outputs(t);
        out_act = cli_output_activation(t);
        if (!have_loss) loss = out_act == MYNN_ACT_SOFTMAX ? MYNN_LOSS_CE
                             : out_act == MYNN_ACT_SIGMOID ? MYNN_LOSS_BCE : MYNN_LOSS_MSE;
        mynn_layer_info li;
        int last_dense = mynn_layer_get_info(t, mynn_n_layers(t) - 1, &li) == MYNN_OK &&
                         li.kind == MYNN_LAYER_DENSE;
        int bad = !last_dense || mynn_set_loss(t, loss);
        mynn_free(t);
        if (bad) {
            if (!last_dense) cli_error("--layers: \"%s\" must end with a dense layer (as 10:softmax)", spec);
            else cli_lib_error("--loss %s with a %s output layer", mynn_loss_name(loss),
                               mynn_activation_name(out_act));
            return CLI_USAGE;
        }
    }
    /* Output paths checked now, not after hours of training. */
    if ((save && cli_check_writable("--save", save)) || (log_path && cli_check_writable("--log", log_path)) ||
        (plot_path && cli_check_writable("--plot", plot_path)))
        return CLI_FAIL;
    if (ckpt_dir) {
        if (checkpoint_dir(ckpt_dir, resume, ckpt, sizeof ckpt)) return CLI_FAIL;
        fo.checkpoint_path = ckpt;
        fo.resume = resume;
    }

    /* ---- model (from a file) and data ---- */
    mynn_net *net = NULL;
    mynn_dataset *train = NULL, *val = NULL, *test = NULL;
    train_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    rc = CLI_FAIL;
    if (from) {
        int mb = fo.batch_size;
        if (cli_load_model(&net, from, mb)) goto out;
        if (spec && !layers_match(net, spec)) {
            cli_error("--layers: \"%s\" does not match the architecture of %s (see mynn info)", spec, from);
            rc = CLI_USAGE;
            goto out;
        }
        k_spec = mynn_n_outputs(net);
        out_act = cli_output_activation(net);
        if (have_loss && mynn_set_loss(net, loss)) {
            cli_lib_error("--loss %s", mynn_loss_name(loss));
            rc = CLI_USAGE;
            goto out;
        }
    }
    if (lo.n_targets == 0 && k_spec >= 2) lo.n_classes = k_spec;
    if (cli_load_data(&train, data_path, &lo, 0)) goto out;
    if (test_path) {
        if (cli_load_data(&test, test_path, &lo, cli_is_dir(test_path) ? 1 : 0)) goto out;
    } else if (cli_is_dir(data_path)) {
        if (cli_load_data(&test, data_path, &lo, 1)) goto out;
        test_path = data_path;
    }
    if (train->n_outputs != k_spec) {
        if (train->n_classes > 0)
            cli_error("%s: %d classes, but the output layer has %d units", data_path,
                      train->n_classes, k_spec);
        else
            cli_error("%s: %d target column%s, but the output layer has %d units", data_path,
                      train->n_outputs, train->n_outputs == 1 ? "" : "s", k_spec);
        goto out;
    }
    if (test && (test->n_inputs != train->n_inputs || test->n_outputs != train->n_outputs)) {
        cli_error("%s: %d inputs and %d outputs, but the training data has %d and %d", test_path,
                  test->n_inputs, test->n_outputs, train->n_inputs, train->n_outputs);
        goto out;
    }
    if (val_path) {
        if (cli_load_data(&val, val_path, &lo, cli_is_dir(val_path) ? 1 : 0)) goto out;
        if (val->n_inputs != train->n_inputs || val->n_outputs != train->n_outputs) {
            cli_error("%s: %d inputs and %d outputs, but the training data has %d and %d", val_path,
                      val->n_inputs, val->n_outputs, train->n_inputs, train->n_outputs);
            goto out;
        }
    } else if (val_frac > 0) {
        if (mynn_dataset_split(train, val_frac, fo.seed, &val)) {
            cli_lib_error("--val");
            goto out;
        }
        if (train->n < 1 || val->n < 1) {
            cli_error("--val %g leaves an empty training or validation set", (double)val_frac);
            rc = CLI_USAGE;
            goto out;
        }
    }
    if (ok == MYNN_OPT_IRPROP && !batch_given) fo.batch_size = train->n;

    /* ---- network ---- */
    if (from) {
        if (mynn_n_inputs(net) != train->n_inputs) {
            cli_error("%s: %d inputs, but the model %s takes %d", data_path, train->n_inputs, from,
                      mynn_n_inputs(net));
            goto out;
        }
        if (fo.batch_size > mynn_max_batch(net)) {   /* irprop's full batch */
            mynn_free(net);
            if (cli_load_model(&net, from, fo.batch_size)) goto out;
            if (have_loss) mynn_set_loss(net, loss);
        }
        if (norm && set_normalisation(net, train, norm)) goto out;
    } else {
        if (mynn_create(&net, train->n_inputs) || mynn_add_layers(net, spec) ||
            mynn_set_loss(net, loss) || mynn_build(net, fo.batch_size, init, fo.seed)) {
            cli_lib_error("cannot build the network");
            goto out;
        }
        if (set_normalisation(net, train, norm ? norm : "scale")) goto out;
    }
    mynn_set_threads(threads);

    /* ---- training ---- */
    int quiet = cli_value(opts, "--quiet") != NULL;
    ctx.net = net;
    ctx.test = test;
    if (ckpt_dir && (v = getenv("MYNN_TEST_KILL_AFTER_EPOCH"))) ctx.kill_after = atoi(v);
    ctx.epochs = fo.epochs;
    ctx.quiet = quiet;
    ctx.classify = train->n_classes > 0;
    cli_progress_init(&ctx.prog, !quiet && isatty(2), fo.epochs, fo.batch_size, train->n);
    log_append(&ctx, "epoch,lr,train_loss,train_acc,val_loss,val_acc,test_loss,test_acc,seconds\n");
    fo.on_epoch = on_epoch;
    fo.on_batch = on_batch;
    fo.user = &ctx;
    if (!quiet) {
        size_t np = 0;
        mynn_params(net, &np);
        printf("training on %d samples (%d inputs, ", train->n, train->n_inputs);
        if (train->n_classes > 0) printf("%d classes)", train->n_classes);
        else printf("%d targets)", train->n_outputs);
        if (val) printf(", validating on %d", val->n);
        if (test) printf(", testing on %d", test->n);
        printf("; %zu parameters, %s, %s loss\n", np, mynn_optimizer_name(ok),
               mynn_loss_name(mynn_get_loss(net)));
        fflush(stdout);
    }
    mynn_status st = mynn_fit(net, train, val, &fo);
    cli_progress_clear(&ctx.prog);
    if (st != MYNN_OK && st != MYNN_ERR_STOPPED) {
        cli_lib_error("training failed");
        goto out;
    }
    if (ctx.oom) {
        cli_error("out of memory");
        goto out;
    }
    if (!quiet && fo.patience > 0 && ctx.last_epoch > 0 && ctx.last_epoch < fo.epochs)
        printf("stopped early after epoch %d (no better validation loss for %d epochs)\n",
               ctx.last_epoch, fo.patience);

    /* ---- final figures of the model as it is saved ---- */
    if (test) {
        mynn_metrics m;
        if (mynn_evaluate(net, test, &m, NULL)) {
            cli_lib_error("%s", test_path);
            goto out;
        }
        if (m.accuracy >= 0)
            cli_printf("test accuracy: %.2f%% (loss %.4f)\n", 100.0 * m.accuracy, (double)m.loss);
        else
            cli_printf("test loss: %.6g (mse %.6g, mae %.6g)\n", (double)m.loss, (double)m.mse, (double)m.mae);
    }

    /* ---- outputs: model, then the log and the plot ---- */
    if (save && mynn_save(net, save)) {
        cli_lib_error("--save");
        goto out;
    }
    if (log_path) {
        cli_out *o;
        if (cli_out_open(&o, "--log", log_path)) goto out;
        cli_out_write(o, ctx.log, ctx.log_len);
        if (cli_out_commit(o)) goto out;
    }
    if (plot_path) {
        cli_out *o;
        if (cli_out_open(&o, "--plot", plot_path)) goto out;
        char title[512];
        snprintf(title, sizeof title, "mynn train %s --layers %s", data_path,
                 spec ? spec : "(from model)");
        cli_plot_svg(o, &ctx.hist, title);
        if (cli_out_commit(o)) goto out;
    }
    if (!quiet && save) printf("saved %s\n", save);
    rc = CLI_OK;
out:
    cli_progress_clear(&ctx.prog);
    cli_history_free(&ctx.hist);
    free(ctx.log);
    mynn_dataset_free(train);
    mynn_dataset_free(val);
    mynn_dataset_free(test);
    mynn_free(net);
    return rc;
}
