/* mynn: train, evaluate, run and inspect neural networks from the shell.
 * main() dispatches to the subcommands (cmd_*.c); every error is one line
 * "mynn: ..." on stderr and an exit code: 0 success, 1 runtime failure,
 * 2 usage error. */
#include "cli.h"

#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int error_printed;

static void verror(const char *fmt, va_list ap, const char *suffix)
{
    if (error_printed) return;
    error_printed = 1;
    char buf[2048];
    int n = cli_vsnprintf(buf, sizeof buf, fmt, ap);
    if (n < 0) buf[0] = '\0';
    size_t len = strlen(buf);
    if (suffix && *suffix && len + 2 < sizeof buf) {
        snprintf(buf + len, sizeof buf - len, ": %s", suffix);
        len = strlen(buf);
    }
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\n' || buf[i] == '\r') buf[i] = ' ';
    fflush(stdout);
    int rank = cli_dist_env_rank();
    if (rank > 0) fprintf(stderr, "mynn: rank %d: %s\n", rank, buf);
    else fprintf(stderr, "mynn: %s\n", buf);
}

void cli_error_silence(void) { error_printed = 1; }
void cli_error_unsilence(void) { error_printed = 0; }

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(fmt, ap, NULL);
    va_end(ap);
}

void cli_lib_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(fmt, ap, mynn_last_error());
    va_end(ap);
}

static const char usage[] =
    "usage: mynn COMMAND [ARGS...]\n"
    "\n"
    "Commands:\n"
    "  train DATA --layers SPEC [options]   train a network, optionally save it\n"
    "  eval MODEL DATA [--json]             accuracy, loss, MSE, MAE, confusion matrix\n"
    "  predict MODEL DATA [--out FILE]      one CSV row of outputs per sample\n"
    "  info MODEL                           layers, parameters, loss, normalisation\n"
    "  export MODEL OUT [--format onnx|c]   the model as ONNX, or standalone C99 code (--format c --out DIR)\n"
    "  quantize MODEL --calib DATA --out F  int8 model (post-training quantisation)\n"
    "  generate MODEL --prompt TEXT         text from a language model (train --text)\n"
    "\n"
    "Options: -h, --help (also after a command), --version.\n"
    "Exit status: 0 success, 1 runtime failure (bad data or model file, training\n"
    "diverged), 2 usage error (unknown option, bad value).\n"
    "Example: mynn train data.csv --layers 16:relu,3:softmax --epochs 50 --save m.safetensors\n";

int main(int argc, char **argv)
{
    /* The user's locale, as any C program (messages, character classes);
     * every number the tool reads or writes stays locale-independent
     * (core/numparse.h, cli_printf). */
    setlocale(LC_ALL, "");
    /* Over a file-size limit (ulimit -f) write() must fail with EFBIG, so
     * the save is reported and rolled back, not killed silently. */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        cli_error("no command given (train, eval, predict, info, export, quantize, generate; try mynn --help)");
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("mynn %s\n", MYNN_VERSION_STRING);
        return CLI_OK;
    }
    int rc;
    if (!strcmp(cmd, "train")) rc = cmd_train(argc - 2, argv + 2);
    else if (!strcmp(cmd, "eval")) rc = cmd_eval(argc - 2, argv + 2);
    else if (!strcmp(cmd, "predict")) rc = cmd_predict(argc - 2, argv + 2);
    else if (!strcmp(cmd, "info")) rc = cmd_info(argc - 2, argv + 2);
    else if (!strcmp(cmd, "export")) rc = cmd_export(argc - 2, argv + 2);
    else if (!strcmp(cmd, "quantize")) rc = cmd_quantize(argc - 2, argv + 2);
    else if (!strcmp(cmd, "generate")) rc = cmd_generate(argc - 2, argv + 2);
    else if (cmd[0] == '-') {
        cli_error("unknown option \"%s\" (try mynn --help)", cmd);
        rc = CLI_USAGE;
    } else {
        cli_error("unknown command \"%s\" (train, eval, predict, info, export, quantize, generate; try mynn --help)", cmd);
        rc = CLI_USAGE;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write to standard output");
        if (rc == CLI_OK) rc = CLI_FAIL;
    }
    return rc;
}
