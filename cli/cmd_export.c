/* mynn export MODEL OUT [--format F] and mynn export MODEL --format c --out
 * DIR [--name NAME]: a saved model in another form.  Formats are rows of
 * one table (name, file extension, writer), so a new one is one row and one
 * function; the common arguments are parsed once here. */
#include "cli.h"

#include <string.h>

typedef struct export_args {
    const char *model, *out, *name;
} export_args;

/* The exported graph takes the network's inputs: a model whose CSV
 * columns are one-hot encoded or imputed first cannot be exported as if it
 * took the file's columns.  (Class names only name the outputs: fine.) */
static int refuse_encoding(const mynn_net *net, const char *path)
{
    mynn_encoding *enc = NULL;
    if (cli_model_encoding(net, path, &enc)) return CLI_FAIL;
    int cat = 0, fill = 0;
    for (int j = 0; j < mynn_encoding_n_columns(enc); j++) {
        cat += mynn_encoding_n_categories(enc, j) > 0;
        fill += mynn_encoding_fill(enc, j, NULL);
    }
    mynn_encoding_free(enc);
    if (!cat && !fill) return CLI_OK;
    cli_error("export: %s: the model %s of its CSV data before the network, which the exported "
              "graph would not do (export a model trained on numeric columns, without --missing "
              "mean/median)", path, cat ? "one-hot encodes categorical columns" : "imputes missing values");
    return CLI_FAIL;
}

/* ONNX: one file, float models only. */
static int export_onnx(const export_args *a)
{
    if (cli_check_writable("export", a->out)) return CLI_FAIL;
    mynn_net *net = NULL;
    if (cli_load_model(&net, a->model, 1)) return CLI_FAIL;
    if (refuse_encoding(net, a->model)) {
        mynn_free(net);
        return CLI_FAIL;
    }
    int rc = CLI_OK;
    if (mynn_export_onnx(net, a->out) != MYNN_OK) {
        cli_lib_error("export: %s", a->out);
        rc = CLI_FAIL;
    }
    mynn_free(net);
    return rc;
}

/* C: NAME.h and NAME.c in the folder, through mynn_export_c, or
 * mynn_qexport_c for an int8 model. */
static int export_c(const export_args *a)
{
    if (!cli_is_dir(a->out)) {
        cli_error("--out: \"%s\" is not an existing folder", a->out);
        return CLI_FAIL;
    }
    cli_model m;
    if (cli_load_any_model(&m, a->model, 1)) return CLI_FAIL;
    if (refuse_encoding(m.shape, a->model)) {
        cli_model_free(&m);
        return CLI_FAIL;
    }
    int rc = CLI_OK;
    mynn_status s = m.q ? mynn_qexport_c(m.q, a->out, a->name) : mynn_export_c(m.net, a->out, a->name);
    if (s != MYNN_OK) {
        cli_lib_error("export: %s", a->out);
        rc = CLI_FAIL;
    }
    cli_model_free(&m);
    return rc;
}

typedef struct export_format {
    const char *name;      /* --format value */
    const char *ext;       /* recognised file extension, or NULL */
    const char *what;      /* for the help text */
    int (*run)(const export_args *a);
} export_format;

static const export_format formats[] = {
    {"onnx", ".onnx", "ONNX model (IR version 7, opset 13), for any ONNX runtime", export_onnx},
    {"c", NULL, "standalone C99 code: OUT/NAME.h and OUT/NAME.c (OUT a folder; no heap,\n"
                "                                only <math.h>; the header states flash and RAM bytes)",
     export_c},
};
enum { N_FORMATS = sizeof formats / sizeof formats[0] };

static const char help[] =
    "usage: mynn export MODEL OUT [--format FORMAT]\n"
    "       mynn export MODEL --format c --out DIR [--name NAME]\n"
    "\n"
    "Write the saved model MODEL (float, or int8 from mynn quantize for C) in\n"
    "another format, atomically.  The format is --format or, without it, OUT's\n"
    "extension.  OUT may also be given as --out.\n"
    "  --name NAME      C: file and symbol prefix, a C identifier (default: model)\n"
    "  --format FORMAT  one of:\n";

static void print_help(void)
{
    fputs(help, stdout);
    for (int i = 0; i < N_FORMATS; i++)
        printf("                     %-6s %s\n", formats[i].name, formats[i].what);
    fputs("Exit status: 0 success, 1 runtime failure (unreadable model, a layer the\n"
          "format cannot express, OUT not writable), 2 usage error.\n", stdout);
}

/* "onnx, c" for messages. */
static void format_names(char *buf, size_t n)
{
    buf[0] = '\0';
    for (int i = 0; i < N_FORMATS; i++) {
        if (i) strncat(buf, ", ", n - strlen(buf) - 1);
        strncat(buf, formats[i].name, n - strlen(buf) - 1);
    }
}

static const export_format *choose_format(const char *name, const char *out)
{
    char names[256];
    format_names(names, sizeof names);
    if (name) {
        for (int i = 0; i < N_FORMATS; i++)
            if (!strcmp(formats[i].name, name)) return &formats[i];
        cli_error("export: --format: unknown format \"%s\" (%s)", name, names);
        return NULL;
    }
    size_t len = strlen(out);
    for (int i = 0; i < N_FORMATS; i++) {
        size_t el = formats[i].ext ? strlen(formats[i].ext) : 0;
        if (el && len > el && !strcmp(out + len - el, formats[i].ext)) return &formats[i];
    }
    cli_error("export: cannot tell the format of \"%s\" from its extension; give --format (%s)", out,
              names);
    return NULL;
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

int cmd_export(int argc, char **argv)
{
    cli_opt opts[] = {{"--format", 1, NULL}, {"--out", 1, NULL}, {"--name", 1, NULL},
                      {NULL, 0, NULL}};
    const char *pos[2];
    int npos, rc = cli_parse("export", argc, argv, opts, pos, 2, &npos);
    if (rc == CLI_HELP) {
        print_help();
        return CLI_OK;
    }
    if (rc) return rc;
    export_args a = {npos > 0 ? pos[0] : NULL, npos > 1 ? pos[1] : cli_value(opts, "--out"),
                     cli_value(opts, "--name")};
    if (npos > 1 && cli_value(opts, "--out")) {
        cli_error("export: OUT given twice (as an argument and as --out)");
        return CLI_USAGE;
    }
    if (!a.model || !a.out) {
        cli_error("export: missing %s (usage: mynn export MODEL OUT [--format FORMAT])",
                  a.model ? "OUT" : "MODEL and OUT");
        return CLI_USAGE;
    }
    if (!a.name) a.name = "model";
    if (!c_identifier(a.name)) {
        cli_error("--name: \"%s\" must be a C identifier of at most 64 characters", a.name);
        return CLI_USAGE;
    }
    const export_format *f = choose_format(cli_value(opts, "--format"), a.out);
    return f ? f->run(&a) : CLI_USAGE;
}
