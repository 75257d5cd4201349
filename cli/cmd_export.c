/* mynn export MODEL --format FMT --out DIR [--name NAME]: a saved model in
 * another form.  Each format is one entry of g_formats with its own
 * function; the common options are parsed once here. */
#include "cli.h"

#include <string.h>

static const char help[] =
    "usage: mynn export MODEL --format FMT --out DIR [--name NAME]\n"
    "\n"
    "Write a saved model (float or int8, see mynn quantize) in another form.\n"
    "  --format c       standalone C99 inference code: DIR/NAME.h and DIR/NAME.c\n"
    "                   (weights as exact const arrays, no heap, only <math.h>;\n"
    "                   the header states flash and RAM bytes)\n"
    "  --out DIR        the folder to write into (must exist)\n"
    "  --name NAME      file and symbol prefix, a C identifier (default: model)\n"
    "Exit status: 0 success, 1 runtime failure, 2 usage error.\n";

typedef struct export_args {
    const char *model, *out, *name;
} export_args;

/* --format c: standalone C through mynn_export_c, or mynn_qexport_c for
 * an int8 model. */
static int export_c(const export_args *a)
{
    cli_model m;
    if (cli_load_any_model(&m, a->model, 1)) return CLI_FAIL;
    int rc = CLI_OK;
    mynn_status s = m.q ? mynn_qexport_c(m.q, a->out, a->name) : mynn_export_c(m.net, a->out, a->name);
    if (s != MYNN_OK) {
        cli_lib_error("export: %s", a->out);
        rc = CLI_FAIL;
    }
    cli_model_free(&m);
    return rc;
}

/* A C identifier: the generated symbols start with it. */
static int c_identifier(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64) return 0;
    for (size_t i = 0; i < n; i++) {
        int ok = s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                 (i > 0 && s[i] >= '0' && s[i] <= '9');
        if (!ok) return 0;
    }
    return 1;
}

static const struct {
    const char *name;
    int (*run)(const export_args *a);
} g_formats[] = {
    {"c", export_c},
};

int cmd_export(int argc, char **argv)
{
    cli_opt opts[] = {{"--format", 1, NULL}, {"--out", 1, NULL}, {"--name", 1, NULL},
                      {NULL, 0, NULL}};
    const char *pos[1];
    int npos, rc = cli_parse("export", argc, argv, opts, pos, 1, &npos);
    if (rc == CLI_HELP) {
        fputs(help, stdout);
        return CLI_OK;
    }
    if (rc) return rc;
    export_args a = {npos ? pos[0] : NULL, cli_value(opts, "--out"), cli_value(opts, "--name")};
    const char *fmt = cli_value(opts, "--format");
    if (!a.model) {
        cli_error("export: missing MODEL (usage: mynn export MODEL --format c --out DIR)");
        return CLI_USAGE;
    }
    if (!fmt) {
        cli_error("export: missing --format (c)");
        return CLI_USAGE;
    }
    if (!a.out) {
        cli_error("export: missing --out DIR");
        return CLI_USAGE;
    }
    if (!a.name) a.name = "model";
    if (!c_identifier(a.name)) {
        cli_error("--name: \"%s\" must be a C identifier of at most 64 characters", a.name);
        return CLI_USAGE;
    }
    for (size_t i = 0; i < sizeof g_formats / sizeof *g_formats; i++) {
        if (strcmp(fmt, g_formats[i].name) != 0) continue;
        if (!cli_is_dir(a.out)) {
            cli_error("--out: \"%s\" is not an existing folder", a.out);
            return CLI_FAIL;
        }
        return g_formats[i].run(&a);
    }
    cli_error("--format: unknown format \"%s\" (c)", fmt);
    return CLI_USAGE;
}
