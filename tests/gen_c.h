/* Tests of generated C code (test_export, test_quant): write a driver
 * that runs dir/m.c (from mynn_export_c / mynn_qexport_c with name "m")
 * on in.bin, compile both with cc at -std=c99 -Wall -Wextra -Wpedantic
 * -Werror, run it and read its outputs.  The driver also checks that
 * m_predict_scratch agrees with m_predict_batch and that a NaN input
 * gives -1; for a model that streams, another driver runs m_step. */
#ifndef GEN_C_H
#define GEN_C_H

#include <stddef.h>

extern const char *const gen_c_cc[2];   /* "gcc", "clang" */
/* 1 if cc is on PATH (else prints that its compile is skipped). */
int gen_c_have(const char *cc);
int gen_c_write(const char *path, const void *p, size_t n);
int gen_c_read(const char *path, void *p, size_t n);
/* x [n × d] in, y [n × k] out; 0 on success, < 0 on failure (logged). */
int gen_c_compile_run(const char *dir, const char *cc, const float *x, int n, int d, int k, float *y);
/* The stream (m_step) of dir's m.c on x [n × d]: y [n × k], k = steps ×
 * outputs per step, every step's outputs; after: what one more step after
 * the last must return (0, or -2 with a per-step input transform).  The
 * driver also checks m_step_scratch, m_reset and a NaN step. */
int gen_c_compile_run_steps(const char *dir, const char *cc, const float *x, int n, int d, int after, long k,
                            float *y);

#endif
