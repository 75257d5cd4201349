/* mynn train --recipe fann: FANN 2.2's training (mynn_fann_train) in
 * place of mynn_fit, with FANN's switches; options that belong to mynn's
 * own training loop are refused rather than silently ignored. */
#include "cli.h"

#include <string.h>

const char cli_fann_help[] =
    "FANN's recipe (FANN 2.2's fann_train_on_data with its defaults, exactly):\n"
    "  --recipe fann        full-batch FANN iRprop- with FANN's error function,\n"
    "                       steepness and initial weights; layers identity,\n"
    "                       sigmoid or tanh (FANN_LINEAR, FANN_SIGMOID,\n"
    "                       FANN_SIGMOID_SYMMETRIC); --normalize defaults to none\n"
    "  --steepness S[,SO]   hidden (and output) steepness (default 0.5)\n"
    "  --error-function tanh|linear  FANN's train error function (default tanh)\n"
    "  --desired-error X|off  stop after an epoch whose MSE is <= X, as FANN does\n"
    "                       (default 0: FANN's, an epoch of MSE 0); off: never\n"
    "  --init fann|nguyen-widrow  FANN's U(-0.1, 0.1) (default) or its\n"
    "                       fann_init_weights\n";

/* Options of mynn_fit's loop, meaningless in FANN's recipe. */
static const char *const g_foreign[] = {"--optimizer", "--lr", "--momentum", "--nesterov",
                                        "--weight-decay", "--clip-norm", "--schedule",
                                        "--step-size", "--gamma", "--min-lr", "--warmup",
                                        "--batch", "--val", "--patience", "--checkpoint",
                                        "--resume", "--no-shuffle", NULL};

int cli_fann_parse(cli_opt *opts, cli_fann *f)
{
    memset(f, 0, sizeof *f);
    mynn_fann_options_default(&f->o);
    const char *v = cli_value(opts, "--recipe");
    const char *own[] = {"--steepness", "--error-function", "--desired-error", NULL};
    if (!v) {
        for (int i = 0; own[i]; i++)
            if (cli_value(opts, own[i])) {
                cli_error("%s: only with --recipe fann", own[i]);
                return CLI_USAGE;
            }
        return CLI_OK;
    }
    if (strcmp(v, "fann") != 0) {
        cli_error("--recipe: unknown recipe \"%s\" (fann)", v);
        return CLI_USAGE;
    }
    f->on = 1;
    for (int i = 0; g_foreign[i]; i++)
        if (cli_value(opts, g_foreign[i])) {
            cli_error("%s: not part of --recipe fann (FANN trains on the whole set per epoch)",
                      g_foreign[i]);
            return CLI_USAGE;
        }
    if ((v = cli_value(opts, "--steepness"))) {
        char h[64];
        const char *comma = strchr(v, ',');
        size_t n = comma ? (size_t)(comma - v) : strlen(v);
        if (n >= sizeof h) n = sizeof h - 1;
        memcpy(h, v, n);
        h[n] = '\0';
        if (cli_float("--steepness", h, 0, 1, &f->o.steepness_hidden)) return CLI_USAGE;
        f->o.steepness_output = f->o.steepness_hidden;
        if (comma && cli_float("--steepness", comma + 1, 0, 1, &f->o.steepness_output))
            return CLI_USAGE;
    }
    if ((v = cli_value(opts, "--error-function"))) {
        if (!strcmp(v, "tanh")) f->o.error_function = MYNN_FANN_ERRORFUNC_TANH;
        else if (!strcmp(v, "linear")) f->o.error_function = MYNN_FANN_ERRORFUNC_LINEAR;
        else {
            cli_error("--error-function: \"%s\" must be tanh or linear", v);
            return CLI_USAGE;
        }
    }
    if ((v = cli_value(opts, "--desired-error"))) {
        if (!strcmp(v, "off")) f->o.desired_error = -1.0f;   /* an MSE is never below 0 */
        else if (cli_float("--desired-error", v, 0, 0, &f->o.desired_error)) return CLI_USAGE;
    }
    if ((v = cli_value(opts, "--init"))) {
        if (!strcmp(v, "nguyen-widrow")) f->nguyen_widrow = 1;
        else if (strcmp(v, "fann") != 0) {
            cli_error("--init: with --recipe fann, \"%s\" must be fann or nguyen-widrow", v);
            return CLI_USAGE;
        }
    }
    return CLI_OK;
}

void cli_fann_describe(const cli_fann *f, char *buf, size_t n)
{
    const mynn_fann_options *o = &f->o;
    int len = snprintf(buf, n, "FANN iRprop- (%s error function, steepness %g hidden, %g output; ",
                       o->error_function == MYNN_FANN_ERRORFUNC_TANH ? "tanh" : "linear",
                       (double)o->steepness_hidden, (double)o->steepness_output);
    if (len < 0 || (size_t)len >= n) return;
    if (o->desired_error < 0) snprintf(buf + len, n - (size_t)len, "no desired error)");
    else snprintf(buf + len, n - (size_t)len, "stops at MSE <= %g)", (double)o->desired_error);
}

int cli_fann_init(const cli_fann *f, mynn_net *net, const mynn_dataset *train, uint64_t seed)
{
    if (mynn_fann_init_weights(net, &f->o, train, f->nguyen_widrow, seed) == MYNN_OK) return CLI_OK;
    cli_lib_error("--recipe fann");
    return CLI_FAIL;
}

/* One-hot 0/1 targets become -1/1 (FANN's symmetric convention). */
static void symmetric_targets(mynn_dataset *ds)
{
    if (!ds || ds->n_classes <= 0 || !ds->y) return;
    size_t n = (size_t)ds->n * ds->n_outputs;
    for (size_t i = 0; i < n; i++)
        if (ds->y[i] != 0.0f && ds->y[i] != 1.0f) return;
    for (size_t i = 0; i < n; i++) ds->y[i] = 2.0f * ds->y[i] - 1.0f;
}

int cli_fann_targets(const char *spec, mynn_dataset *train, mynn_dataset *test)
{
    const char *last = spec ? strrchr(spec, ',') : NULL;
    last = last ? last + 1 : spec;
    if (!last || !strstr(last, ":tanh")) return CLI_OK;
    symmetric_targets(train);
    symmetric_targets(test);
    return CLI_OK;
}
