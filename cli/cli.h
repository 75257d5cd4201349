/* The mynn command-line tool: shared declarations of the cli/ files.
 * The tool uses only the public API (mynn.h) plus two internal helpers:
 * locale-independent numbers (core/numparse.h) and the atomic file writer
 * (io/atomic_file.h), both wrapped in output.c. */
#ifndef MN_CLI_H
#define MN_CLI_H

#include "mynn.h"
#include <stdarg.h>
#include <stdio.h>

#if defined(__GNUC__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_PRINTF(a, b)
#endif

/* Exit codes. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };
/* Returned by cli_parse when --help was asked for (print help, exit 0). */
#define CLI_HELP (-1)

/* ---- errors (main.c) --------------------------------------------------- */
/* Print "mynn: <message>" as one line on stderr (newlines in the message
 * become spaces).  Only the first call prints: one error, one line. */
void cli_error(const char *fmt, ...) CLI_PRINTF(1, 2);
/* cli_error with ": " and mynn_last_error() appended (when it says anything). */
void cli_lib_error(const char *what, ...) CLI_PRINTF(1, 2);
/* Stop (1) or resume (0) printing errors: ranks > 0 of an MPI run keep
 * quiet about what every rank finds alike (usage errors, a mismatch). */
void cli_error_silence(void);
void cli_error_unsilence(void);

/* ---- options (args.c) -------------------------------------------------- */
typedef struct cli_opt {
    const char *name;     /* "--lr" */
    int has_value;        /* 1: takes a value ("--lr 0.1" or "--lr=0.1"); 2: a flag that
                             may take one of cli_optional_values ("--text bytes") */
    const char *value;    /* the last value given (or "1" for a flag); NULL if absent */
} cli_opt;

/* The words an option with has_value 2 takes as its value when one
 * follows it: --text's utf8 and bytes. */
extern const char *const cli_optional_values[];

/* Parse argv[0..argc) (argv[0] is the subcommand's first argument) against
 * opts (terminated by a NULL name).  Positional arguments go to pos[] (at most
 * max_pos, else a usage error).  Returns CLI_OK, CLI_USAGE (message printed)
 * or CLI_HELP. */
int cli_parse(const char *cmd, int argc, char **argv, cli_opt *opts,
              const char **pos, int max_pos, int *n_pos);
/* The option named name in opts (must exist). */
cli_opt *cli_find(cli_opt *opts, const char *name);
const char *cli_value(cli_opt *opts, const char *name);

/* Checked conversions; on error print one line and return CLI_USAGE. */
int cli_int(const char *opt, const char *v, long min, long max, int *out);
/* kind: 0 any finite number >= min, 1: > min. */
int cli_float(const char *opt, const char *v, double min, int strict, float *out);
/* A fraction strictly between 0 and 1. */
int cli_fraction(const char *opt, const char *v, float *out);

/* Options common to the commands that read data. */
#define CLI_DATA_OPTS                                                      \
    {"--label", 1, NULL}, {"--targets", 1, NULL}, {"--sep", 1, NULL},      \
    {"--header", 0, NULL}, {"--no-header", 0, NULL},                       \
    {"--skip-nonfinite", 0, NULL}, {"--shape", 1, NULL},                   \
    {"--categorical", 1, NULL}, {"--missing", 1, NULL}, {"--strict", 0, NULL}, \
    {"--npz-x", 1, NULL}, {"--npz-y", 1, NULL}
/* Fill o from those options; CLI_OK or CLI_USAGE. */
int cli_load_options(cli_opt *opts, mynn_load_options *o);
extern const char cli_data_help[];

/* ---- data and models (data.c) ------------------------------------------ */
/* mynn_dataset_load with one clear error line; CLI_OK or CLI_FAIL. */
int cli_load_data(mynn_dataset **out, const char *path, const mynn_load_options *o, int which);
/* Non-zero if path is a directory. */
int cli_is_dir(const char *path);
/* mynn_load with one clear error line. */
int cli_load_model(mynn_net **out, const char *path, int max_batch);
/* A float or an int8 model file (mynn quantize), recognised from its
 * metadata: shape is the architecture either way (the float net, or the
 * int8 model's float view), for the inputs, outputs, layers and metadata. */
typedef struct cli_model {
    mynn_net *net;        /* float model, or NULL */
    mynn_qnet *q;         /* int8 model, or NULL */
    const mynn_net *shape;
} cli_model;
int cli_load_any_model(cli_model *m, const char *path, int max_batch);
mynn_status cli_model_predict(cli_model *m, const float *x, int n, float *y);
mynn_status cli_model_evaluate(cli_model *m, const mynn_dataset *ds, mynn_metrics *mt, int *confusion);
void cli_model_free(cli_model *m);
/* Check that a file can be created at path (its folder exists, is
 * writable); CLI_OK or CLI_FAIL (message printed). */
int cli_check_writable(const char *opt, const char *path);
/* A per-sample shape as "(None, 32, 28, 28)" (flat: "(None, 10)"; 1-D
 * nets: "(None, C, L)"). */
void cli_shape_text(char *buf, size_t n, const int shape[3], int flat, int dims);
/* The output activation of net's last dense layer. */
mynn_activation cli_output_activation(const mynn_net *net);
/* Load data for a trained model: as the model's input count needs (label
 * columns dropped, or none), through the model's feature encoding when it
 * has one (strictly numeric otherwise).  n_classes (>0) fixes the one-hot
 * width.  Prints the unseen-category warning line, if any. */
int cli_load_for_model(mynn_dataset **out, const char *path, const mynn_load_options *o,
                       const mynn_net *net, int need_labels);

/* One warning line on stderr when ds holds categories the encoding lacked. */
void cli_warn_unseen(const mynn_dataset *ds);
/* A second file of a training run (test, validation) through the training
 * data's encoding enc (NULL: strictly numeric, class indices). */
int cli_load_like(mynn_dataset **out, const char *path, const mynn_load_options *o,
                  const mynn_encoding *enc, int which);
/* The class names of net's encoding (NULL if none; free with
 * mynn_encoding_free); CLI_OK or CLI_FAIL (message printed). */
int cli_model_encoding(const mynn_net *net, const char *path, mynn_encoding **enc);
/* ---- output (output.c): stdout or an atomically written file ----------- */
typedef struct cli_out cli_out;
/* path NULL or "-": stdout.  CLI_OK or CLI_FAIL (message printed). */
int cli_out_open(cli_out **out, const char *opt, const char *path);
void cli_out_write(cli_out *o, const char *s, size_t n);
void cli_out_puts(cli_out *o, const char *s);
/* s as one CSV cell: quoted ("" for a quote) when it holds a comma, quote,
 * line break or blank at either end, or is empty. */
void cli_out_csv_cell(cli_out *o, const char *s);
void cli_out_printf(cli_out *o, const char *fmt, ...) CLI_PRINTF(2, 3);
/* A float formatted locale-independently (shortest round-trip form). */
void cli_out_float(cli_out *o, float v);
/* Finish: commit (rename into place) or, on failure, remove the temporary.
 * Returns CLI_OK or CLI_FAIL (message printed). */
int cli_out_commit(cli_out *o);
void cli_out_abort(cli_out *o);
/* Locale-independent float into buf (MN_NUM_BUFSZ = 32 bytes suffice). */
void cli_format_float(char *buf, size_t n, float v);
/* printf, fprintf and vsnprintf with the "C" locale's number format ('.'
 * as the decimal point) on this thread, whatever setlocale() chose: the
 * human-readable lines read the same under every locale. */
void cli_printf(const char *fmt, ...) CLI_PRINTF(1, 2);
void cli_fprintf(FILE *f, const char *fmt, ...) CLI_PRINTF(2, 3);
int cli_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);

/* ---- progress (progress.c) --------------------------------------------- */
typedef struct cli_progress {
    int enabled;          /* bar on stderr */
    int epochs, batch;    /* totals, for the display */
    int n_samples;
    double epoch_start, last_draw;
    float loss_avg;
    int loss_count;
    int drawn;
} cli_progress;
void cli_progress_init(cli_progress *p, int enabled, int epochs, int batch, int n_samples);
void cli_progress_batch(cli_progress *p, int epoch, int b, int n_batches, float loss);
/* Erase the bar (before a summary line). */
void cli_progress_clear(cli_progress *p);
double cli_now(void);

/* ---- SVG plot (plot_svg.c) --------------------------------------------- */
typedef struct cli_history {
    int n, cap;
    float *train_loss, *train_acc, *val_loss, *val_acc, *test_loss, *test_acc;
} cli_history;
int cli_history_add(cli_history *h, float tl, float ta, float vl, float va, float xl, float xa);
void cli_history_free(cli_history *h);
/* Write the learning curves as an SVG document into o. */
void cli_plot_svg(cli_out *o, const cli_history *h, const char *title);

/* ---- FANN's recipe (recipe_fann.c) ------------------------------------- */
typedef struct cli_fann {
    int on;                 /* --recipe fann */
    int nguyen_widrow;      /* --init nguyen-widrow */
    mynn_fann_options o;
} cli_fann;
#define CLI_FANN_OPTS                                                      \
    {"--recipe", 1, NULL}, {"--steepness", 1, NULL},                       \
    {"--error-function", 1, NULL}, {"--desired-error", 1, NULL}
/* --recipe fann and its switches (CLI_OK or CLI_USAGE, message printed);
 * refuses the options of mynn's own training loop alongside it. */
int cli_fann_parse(cli_opt *opts, cli_fann *f);
/* What trains under --recipe fann, for the run's first line:
 * "FANN iRprop- (tanh error function, steepness 0.5 hidden, 0.5 output; stops at MSE <= 0)". */
void cli_fann_describe(const cli_fann *f, char *buf, size_t n);
/* FANN's initial weights for a new network. */
int cli_fann_init(const cli_fann *f, mynn_net *net, const mynn_dataset *train, uint64_t seed);
/* A FANN user's class targets: -1/1 instead of 0/1 before a tanh output
 * (spec: the --layers text, NULL for --from). */
int cli_fann_targets(const char *spec, mynn_dataset *train, mynn_dataset *test);
extern const char cli_fann_help[];

/* ---- data-parallel runs (dist.c; MPI only with make MPI=1) -------------- */
/* The rank an MPI launcher gave this process (0 when none), before MPI starts. */
int cli_dist_env_rank(void);
/* Start MPI when an MPI launcher started the tool (collectives time out
 * after timeout seconds); CLI_OK or CLI_FAIL. */
int cli_dist_start(double timeout);
int cli_dist_rank(void);          /* 0 when alone */
int cli_dist_world(void);         /* 1 when alone */
int cli_dist_local_ranks(void);   /* ranks on this machine */
/* The reducer for mynn_fit and mynn_evaluate_reduced; NULL when alone. */
const mynn_reducer *cli_dist_reducer(void);
/* Collective: all ranks have the same network, options and data (else
 * rank 0 prints which differs); then, after training, the same weights. */
int cli_dist_check(mynn_net *net, const mynn_fit_options *o, const mynn_dataset *train,
                   const mynn_dataset *val, const mynn_dataset *test);
int cli_dist_check_weights(mynn_net *net);
/* One line of all-reduce figures on stdout (nothing when alone). */
void cli_dist_report(void);
/* Finalize MPI; after a failure with several ranks, abort them all (does
 * not return then).  Returns rc. */
int cli_dist_end(int rc);

/* ---- subcommands -------------------------------------------------------- */
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_generate(int argc, char **argv);

/* ---- text data (text.c) ----------------------------------------------------- */
/* path's text (a file or a folder) read, its vocabulary and token ids
 * (free() them); errors printed. */
int cli_text_load(const char *path, int bytes, mynn_vocab **vocab, float **ids, size_t *n_ids);
int cli_text_encode_file(const char *path, const mynn_vocab *vocab, float **ids, size_t *n_ids);
/* --layers with "vocab" fields replaced by the vocabulary's size (free()). */
char *cli_text_spec(const char *spec, int vocab);

#endif
