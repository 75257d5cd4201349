/* mynn info MODEL: a summary of a saved model, in the manner of Keras'
 * summary(): layers, output shapes, activations, parameter counts. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char help[] =
    "usage: mynn info MODEL\n"
    "\n"
    "Print a saved model's layers (index, kind, output shape, activation,\n"
    "parameters), the total parameter count, the loss, the input size, the\n"
    "input normalisation and the file's metadata; for an int8 model (mynn\n"
    "quantize) also how it was quantised and calibrated.\n"
    "Exit status: 0 success, 1 runtime failure, 2 usage error.\n";

/* A layer's output is flat after dense, flatten and global pooling, and
 * whenever the whole net's input is. */
static int is_flat(const mynn_layer_info *li, int dims)
{
    return dims == 0 || (li->out_shape[1] == 1 && li->out_shape[2] == 1 &&
                         (li->kind == MYNN_LAYER_DENSE || li->kind == MYNN_LAYER_FLATTEN ||
                          li->kind == MYNN_LAYER_GLOBAL_AVGPOOL ||
                          li->in_shape[1] * li->in_shape[2] == 1));
}

/* The settings column: activation, rate, kernel/stride/padding. */
static void layer_settings(const mynn_layer_info *li, char *buf, size_t n)
{
    char num[32];
    switch (li->kind) {
    case MYNN_LAYER_DENSE:
    case MYNN_LAYER_ACTIVATION:
        snprintf(buf, n, "%s", mynn_activation_name(li->activation));
        break;
    case MYNN_LAYER_DROPOUT:
        cli_format_float(num, sizeof num, li->rate);
        snprintf(buf, n, "rate %s", num);
        break;
    case MYNN_LAYER_CONV:
        if (li->dims == 1)
            snprintf(buf, n, "k%d s%d p%d %s", li->kernel[1], li->stride[1], li->pad[1],
                     mynn_activation_name(li->activation));
        else
            snprintf(buf, n, "%dx%d s%d p%d %s", li->kernel[0], li->kernel[1], li->stride[1],
                     li->pad[1], mynn_activation_name(li->activation));
        break;
    case MYNN_LAYER_MAXPOOL:
    case MYNN_LAYER_AVGPOOL:
        if (li->dims == 1) snprintf(buf, n, "k%d s%d", li->kernel[1], li->stride[1]);
        else snprintf(buf, n, "%dx%d s%d", li->kernel[0], li->kernel[1], li->stride[1]);
        break;
    default:
        snprintf(buf, n, "-");
    }
}

static void rule(char c)
{
    for (int i = 0; i < 70; i++) putchar(c);
    putchar('\n');
}

/* Class names, categorical columns and imputation values, if any. */
static void print_encoding(const mynn_encoding *enc)
{
    if (!enc) return;
    int nc = mynn_encoding_n_classes(enc);
    if (nc) {
        printf("Classes: %d (", nc);
        for (int k = 0; k < nc; k++) printf(k ? ", %s" : "%s", mynn_encoding_class_name(enc, k));
        printf(")\n");
    }
    printf("Input columns: %d (encoded as %d inputs)\n", mynn_encoding_n_columns(enc),
           mynn_encoding_n_inputs(enc));
    for (int j = 0; j < mynn_encoding_n_columns(enc); j++) {
        int n = mynn_encoding_n_categories(enc, j);
        float fill;
        if (n) {
            printf("  column %d: categorical, %d categories (", j, n);
            for (int k = 0; k < n && k < 8; k++) printf(k ? ", %s" : "%s", mynn_encoding_category(enc, j, k));
            printf(n > 8 ? ", ...)\n" : ")\n");
        } else if (mynn_encoding_fill(enc, j, &fill)) {
            char num[32];
            cli_format_float(num, sizeof num, fill);
            printf("  column %d: numeric, missing values filled with %s\n", j, num);
        }
    }
}

int cmd_info(int argc, char **argv)
{
    cli_opt opts[] = {{NULL, 0, NULL}};
    const char *pos[1];
    int npos, rc = cli_parse("info", argc, argv, opts, pos, 1, &npos);
    if (rc == CLI_HELP) {
        fputs(help, stdout);
        return CLI_OK;
    }
    if (rc) return rc;
    if (npos < 1) {
        cli_error("info: missing MODEL (usage: mynn info MODEL)");
        return CLI_USAGE;
    }
    cli_model model;
    if (cli_load_any_model(&model, pos[0], 1)) return CLI_FAIL;
    const mynn_net *net = model.shape;

    printf("Model: %s\n", pos[0]);
    rule('_');
    printf(" %-4s %-10s %-22s %-16s %10s\n", "#", "Layer", "Output shape", "Settings", "Params");
    rule('=');
    size_t total = 0;
    int in_shape[3], dims = mynn_input_shape(net, in_shape);
    for (int i = 0; i < mynn_n_layers(net); i++) {
        mynn_layer_info li;
        if (mynn_layer_get_info(net, i, &li)) continue;
        char shape[48], set[64];
        layer_settings(&li, set, sizeof set);
        cli_shape_text(shape, sizeof shape, li.out_shape, is_flat(&li, dims), dims);
        printf(" %-4d %-10s %-22s %-16s %10zu\n", i, li.kind_name, shape, set, li.n_params);
        total += li.n_params;
    }
    rule('=');
    if (model.q)
        cli_printf("Total params: %zu (int8 weights, float32 biases and scales)\n", total);
    else
        cli_printf("Total params: %zu (%.1f KiB as float32)\n", total, total * 4.0 / 1024.0);
    char ins[48];
    cli_shape_text(ins, sizeof ins, in_shape, dims == 0, dims);
    printf("Inputs: %d %s\n", mynn_n_inputs(net), ins);
    printf("Outputs: %d\n", mynn_n_outputs(net));
    printf("Loss: %s\n", mynn_loss_name(mynn_get_loss(net)));
    const char *norm = mynn_metadata(net, "normalize");
    printf("Normalisation: %s\n", norm && *norm ? norm : "none");
    if (model.q) {
        printf("Quantization: %s\n", mynn_metadata(net, "quantization"));
        printf("Calibration: %s\n", mynn_metadata(net, "calibration"));
    }
    mynn_encoding *enc = NULL;
    if (cli_model_encoding(net, pos[0], &enc)) {
        cli_model_free(&model);
        return CLI_FAIL;
    }
    print_encoding(enc);
    mynn_encoding_free(enc);
    static const char *const keys[] = {"format", "format_version", "layers", "description",
                                       "created_by", "dataset", NULL};
    int any = 0;
    for (int i = 0; keys[i]; i++) {
        const char *v = mynn_metadata(net, keys[i]);
        if (!v || !*v) continue;
        printf(any ? "  %s: %s\n" : "Metadata:\n  %s: %s\n", keys[i], v);
        any = 1;
    }
    cli_model_free(&model);
    return CLI_OK;
}
