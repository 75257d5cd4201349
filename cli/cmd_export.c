/* mynn export MODEL OUT [--format F]: write a saved model in another
 * format.  Formats are rows of one table (name, file extension, writer),
 * so a new one is one row and one function. */
#include "cli.h"

#include <string.h>

typedef struct export_format {
    const char *name;      /* --format value */
    const char *ext;       /* recognised file extension */
    const char *what;      /* for the help text */
    mynn_status (*write)(const mynn_net *net, const char *path);
} export_format;

static const export_format formats[] = {
    {"onnx", ".onnx", "ONNX model (IR version 7, opset 13), for any ONNX runtime", mynn_export_onnx},
};
enum { N_FORMATS = sizeof formats / sizeof formats[0] };

static const char help[] =
    "usage: mynn export MODEL OUT [--format FORMAT]\n"
    "\n"
    "Write the saved model MODEL to OUT in another format (atomically).  The\n"
    "format is --format or, without it, OUT's extension.\n"
    "  --format FORMAT  one of:\n";

static void print_help(void)
{
    fputs(help, stdout);
    for (int i = 0; i < N_FORMATS; i++)
        printf("                     %-6s (%s) %s\n", formats[i].name, formats[i].ext, formats[i].what);
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
        size_t el = strlen(formats[i].ext);
        if (len > el && !strcmp(out + len - el, formats[i].ext)) return &formats[i];
    }
    cli_error("export: cannot tell the format of \"%s\" from its extension; give --format (%s)", out,
              names);
    return NULL;
}

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

int cmd_export(int argc, char **argv)
{
    cli_opt opts[] = {{"--format", 1, NULL}, {NULL, 0, NULL}};
    const char *pos[2];
    int npos, rc = cli_parse("export", argc, argv, opts, pos, 2, &npos);
    if (rc == CLI_HELP) {
        print_help();
        return CLI_OK;
    }
    if (rc) return rc;
    if (npos < 2) {
        cli_error("export: missing %s (usage: mynn export MODEL OUT [--format FORMAT])",
                  npos ? "OUT" : "MODEL and OUT");
        return CLI_USAGE;
    }
    const export_format *f = choose_format(cli_value(opts, "--format"), pos[1]);
    if (!f) return CLI_USAGE;
    if (cli_check_writable("export", pos[1])) return CLI_FAIL;
    mynn_net *net = NULL;
    if (cli_load_model(&net, pos[0], 1)) return CLI_FAIL;
    if (refuse_encoding(net, pos[0])) {
        mynn_free(net);
        return CLI_FAIL;
    }
    rc = CLI_OK;
    if (f->write(net, pos[1]) != MYNN_OK) {
        cli_lib_error("export: %s", pos[1]);
        rc = CLI_FAIL;
    }
    mynn_free(net);
    return rc;
}
