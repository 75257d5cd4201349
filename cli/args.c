/* Option parsing: "--name value", "--name=value", flags, positionals, and
 * checked number conversions (locale-independent) that print one line. */
#include "cli.h"
#include "core/numparse.h"

#include <limits.h>
#include <math.h>
#include <string.h>

const char *const cli_optional_values[] = {"utf8", "bytes", NULL};

cli_opt *cli_find(cli_opt *opts, const char *name)
{
    for (cli_opt *o = opts; o->name; o++)
        if (!strcmp(o->name, name)) return o;
    return NULL;
}

const char *cli_value(cli_opt *opts, const char *name)
{
    cli_opt *o = cli_find(opts, name);
    return o ? o->value : NULL;
}

int cli_parse(const char *cmd, int argc, char **argv, cli_opt *opts,
              const char **pos, int max_pos, int *n_pos)
{
    *n_pos = 0;
    int only_pos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {   /* "-" is a positional */
            if (*n_pos >= max_pos) {
                cli_error("%s: unexpected argument \"%s\" (try mynn %s --help)", cmd, a, cmd);
                return CLI_USAGE;
            }
            pos[(*n_pos)++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return CLI_HELP;
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        cli_opt *o = NULL;
        for (cli_opt *p = opts; p->name; p++)
            if (strlen(p->name) == len && !strncmp(p->name, a, len)) o = p;
        if (!o) {
            cli_error("%s: unknown option \"%.*s\" (try mynn %s --help)", cmd, (int)len, a, cmd);
            return CLI_USAGE;
        }
        if (o->has_value == 2) {   /* a flag, or one of its choices */
            const char *next = eq ? eq + 1 : i + 1 < argc ? argv[i + 1] : NULL;
            int ok = 0;
            for (const char *const *c = cli_optional_values; next && *c; c++) ok |= !strcmp(next, *c);
            if (eq && !ok) {
                cli_error("%s: option %s: unknown value \"%s\"", cmd, o->name, eq + 1);
                return CLI_USAGE;
            }
            o->value = ok ? next : "1";
            i += ok && !eq;
            continue;
        }
        if (!o->has_value) {
            if (eq) {
                cli_error("%s: option %s takes no value", cmd, o->name);
                return CLI_USAGE;
            }
            o->value = "1";
            continue;
        }
        if (eq) {
            o->value = eq + 1;
        } else {
            if (i + 1 >= argc) {
                cli_error("%s: option %s needs a value", cmd, o->name);
                return CLI_USAGE;
            }
            o->value = argv[++i];
        }
        if (o->value[0] == '\0') {
            cli_error("%s: option %s needs a value", cmd, o->name);
            return CLI_USAGE;
        }
    }
    return CLI_OK;
}

int cli_int(const char *opt, const char *v, long min, long max, int *out)
{
    long long x;
    const char *end;
    int ok = mn_parse_ll(v, &end, &x) == 0 && *end == '\0' && x >= min && x <= max;
    if (!ok) {
        if (max >= INT_MAX)
            cli_error("%s: \"%s\" must be an integer >= %ld", opt, v, min);
        else
            cli_error("%s: \"%s\" must be an integer from %ld to %ld", opt, v, min, max);
        return CLI_USAGE;
    }
    *out = (int)x;
    return CLI_OK;
}

int cli_float(const char *opt, const char *v, double min, int strict, float *out)
{
    double x;
    int ok = mn_parse_double_str(v, &x) == 0 && (strict ? x > min : x >= min) &&
             isfinite((float)x);
    if (!ok) {
        cli_error("%s: \"%s\" must be a number %s %g", opt, v, strict ? ">" : ">=", min);
        return CLI_USAGE;
    }
    *out = (float)x;
    return CLI_OK;
}

int cli_fraction(const char *opt, const char *v, float *out)
{
    double x;
    if (mn_parse_double_str(v, &x) != 0 || !(x > 0.0 && x < 1.0)) {
        cli_error("%s: \"%s\" must be a number between 0 and 1 (exclusive)", opt, v);
        return CLI_USAGE;
    }
    *out = (float)x;
    return CLI_OK;
}

const char cli_data_help[] =
    "Data options (CSV; other formats are recognised from their content):\n"
    "  --label N        0-based label column (default: the last)\n"
    "  --targets N      regression: N target columns starting at --label\n"
    "  --sep C          column separator: a character, \"tab\", \"space\" or \"auto\"\n"
    "                   (default ,)\n"
    "  --header         the first row is a header\n"
    "  --no-header      the first row is data (default: detected)\n"
    "  --skip-nonfinite drop rows (FANN: pairs) holding NaN or inf instead of\n"
    "                   failing (default: fail naming file:line:column)\n"
    "  --shape CxHxW    per-sample input shape, channel-major (or CxL for 1-D\n"
    "                   signals, TxF for T steps of F features: a recurrent\n"
    "                   first layer); IDX images give their own (1xROWSxCOLS);\n"
    "                   --shape 28x28 reads them as 28 rows of 28\n"
    "  --categorical auto|none|COLS  input columns of strings, one-hot encoded:\n"
    "                   auto (default) those holding a non-number, none, or\n"
    "                   0-based column numbers such as 0,3\n"
    "  --missing error|drop|mean|median  empty, NA, NaN and ? cells (default\n"
    "                   error; a model trained with mean/median imputes them)\n"
    "  --strict         eval/predict: a category the model never saw is an\n"
    "                   error (default: all-zero encoding and a warning)\n"
    "  --npz-x NAME, --npz-y NAME  .npz arrays of inputs and labels/targets\n"
    "                   (default x and y)\n";

int cli_load_options(cli_opt *opts, mynn_load_options *o)
{
    mynn_load_options_default(o);
    const char *v;
    if ((v = cli_value(opts, "--label")) && cli_int("--label", v, 0, 1 << 24, &o->label_column))
        return CLI_USAGE;
    if ((v = cli_value(opts, "--targets")) && cli_int("--targets", v, 1, 1 << 24, &o->n_targets))
        return CLI_USAGE;
    if ((v = cli_value(opts, "--sep"))) {
        if (!strcmp(v, "tab") || !strcmp(v, "\\t")) o->separator = '\t';
        else if (!strcmp(v, "space")) o->separator = ' ';
        else if (!strcmp(v, "auto")) o->separator = 0;
        else if (strlen(v) == 1 && v[0] != '"' && v[0] != '.' && v[0] != '-' &&
                 !(v[0] >= '0' && v[0] <= '9'))
            o->separator = v[0];
        else {
            cli_error("--sep: \"%s\" must be one character (not a digit, '.', '-' or '\"'), "
                      "\"tab\", \"space\" or \"auto\"", v);
            return CLI_USAGE;
        }
    }
    int h = cli_value(opts, "--header") != NULL, nh = cli_value(opts, "--no-header") != NULL;
    if (h && nh) {
        cli_error("--header and --no-header exclude each other");
        return CLI_USAGE;
    }
    if (h) o->header = 1;
    if (nh) o->header = 0;
    o->skip_nonfinite = cli_value(opts, "--skip-nonfinite") != NULL;
    o->strict = cli_value(opts, "--strict") != NULL;
    o->npz_x = cli_value(opts, "--npz-x");
    o->npz_y = cli_value(opts, "--npz-y");
    if ((v = cli_value(opts, "--categorical"))) {
        int ok = !strcmp(v, "auto") || !strcmp(v, "none");
        for (const char *p = v; !ok && *p; p++) {
            if (!(*p >= '0' && *p <= '9') && !(*p == ',' && p > v && p[1] && p[-1] != ',')) break;
            ok = !p[1];
        }
        if (!ok) {
            cli_error("--categorical: \"%s\" must be auto, none or 0-based column numbers such "
                      "as 0,3", v);
            return CLI_USAGE;
        }
        o->categorical = v;
    }
    if ((v = cli_value(opts, "--missing")) && mynn_missing_from_name(v, &o->missing)) {
        cli_error("--missing: \"%s\" must be error, drop, mean or median", v);
        return CLI_USAGE;
    }
    if ((v = cli_value(opts, "--shape")) && mn_parse_shape(v, o->shape, &o->shape_dims)) {
        cli_error("--shape: \"%s\" is not CxHxW or CxL (as 1x28x28 or 3x100)", v);
        return CLI_USAGE;
    }
    return CLI_OK;
}
