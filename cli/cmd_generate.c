/* mynn generate MODEL --prompt TEXT --length N [--temperature T] [--top-k K]
 * [--seed S]: text from a character-level language model (trained with
 * mynn train --text) through mynn_generate: the prompt is fed through a
 * stream of the model (the recurrent layers carry their state, so each
 * character costs one step, not a window), then each next character is
 * drawn from the softmax over the vocabulary and printed as it is drawn. */
#include "cli.h"

#include <string.h>

static const char help[] =
    "usage: mynn generate MODEL --prompt TEXT --length N [--temperature T]\n"
    "                     [--top-k K] [--seed S]\n"
    "\n"
    "Continue TEXT with N characters drawn from a language model trained by\n"
    "mynn train --text, printing each as it is drawn (the prompt first).\n"
    "  --prompt TEXT    the start; every character must be in the model's\n"
    "                   vocabulary (default: the vocabulary's first symbol)\n"
    "  --length N       characters to draw (default 200)\n"
    "  --temperature T  divides the log-probabilities before drawing (default 1;\n"
    "                   0: always the most likely character)\n"
    "  --top-k K        draw among the K most likely only (default: all)\n"
    "  --seed S         the random stream (default 1): the same seed, the same text\n"
    "Exit status: 0 success, 1 runtime failure, 2 usage error.\n";

/* Each character as it is drawn; a line at a time reaches the terminal. */
static int emit(const char *bytes, int n, void *user)
{
    (void)user;
    fwrite(bytes, 1, (size_t)n, stdout);
    if (n == 1 && bytes[0] == '\n') fflush(stdout);
    return ferror(stdout);
}

int cmd_generate(int argc, char **argv)
{
    cli_opt opts[] = {{"--prompt", 1, NULL}, {"--length", 1, NULL}, {"--temperature", 1, NULL},
                      {"--top-k", 1, NULL},  {"--seed", 1, NULL},   {NULL, 0, NULL}};
    const char *pos[1];
    int npos, rc = cli_parse("generate", argc, argv, opts, pos, 1, &npos);
    if (rc == CLI_HELP) {
        fputs(help, stdout);
        return CLI_OK;
    }
    if (rc) return rc;
    if (npos < 1) {
        cli_error("generate: missing MODEL (usage: mynn generate MODEL --prompt TEXT --length N)");
        return CLI_USAGE;
    }
    int length = 200, top_k = 0, seed = 1;
    float temp = 1.0f;
    const char *v, *prompt = cli_value(opts, "--prompt");
    if ((v = cli_value(opts, "--length")) && cli_int("--length", v, 0, 1 << 30, &length)) return CLI_USAGE;
    if ((v = cli_value(opts, "--top-k")) && cli_int("--top-k", v, 1, 1 << 30, &top_k)) return CLI_USAGE;
    if ((v = cli_value(opts, "--seed")) && cli_int("--seed", v, 0, 2147483647, &seed)) return CLI_USAGE;
    if ((v = cli_value(opts, "--temperature")) && cli_float("--temperature", v, 0.0, 0, &temp)) return CLI_USAGE;

    mynn_net *net = NULL;
    if (cli_load_model(&net, pos[0], 1)) return CLI_FAIL;
    mynn_vocab *voc = NULL;
    size_t n = 0;
    rc = CLI_OK;
    if (mynn_get_vocab(net, &voc)) {
        cli_lib_error("%s", pos[0]);
        rc = CLI_FAIL;
    } else if (prompt && mynn_vocab_encode(voc, prompt, strlen(prompt), NULL, &n)) {
        cli_lib_error("--prompt");   /* checked before anything is printed */
        rc = CLI_USAGE;
    }
    mynn_vocab_free(voc);
    if (!rc) {
        if (prompt) fputs(prompt, stdout);
        if (mynn_generate(net, prompt, length, temp, top_k, (uint64_t)seed, emit, NULL)) {
            fputc('\n', stdout);
            cli_lib_error("%s", pos[0]);
            rc = CLI_FAIL;
        } else {
            fputc('\n', stdout);
        }
    }
    mynn_free(net);
    return rc;
}
