/* A minimal test harness: each tests/test_*.c is one program whose tests
 * are functions run by RUN(); the last line it prints is
 * "<prog>: N passed, N failed[, N skipped]", which tests/run.sh adds up. */
#ifndef MN_CHECK_H
#define MN_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ck_passed, ck_failed, ck_skipped, ck_cur_failed, ck_cur_skipped;
static const char *ck_prog = "test";

/* Inside a test: record a failure (the test goes on, so all failures show). */
#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            ck_cur_failed++;                                               \
            fprintf(stderr, "  FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
        }                                                                  \
    } while (0)

#define CHECK_OK(call)                                                     \
    do {                                                                   \
        mynn_status ck_s_ = (call);                                        \
        CHECK(ck_s_ == MYNN_OK, "%s -> %s: %s", #call,                     \
              mynn_status_name(ck_s_), mynn_last_error());                 \
    } while (0)

/* Mark the current test skipped (data missing, ...) with a reason. */
#define SKIP(...)                                                          \
    do {                                                                   \
        ck_cur_skipped = 1;                                                \
        printf("  SKIP: ");                                                \
        printf(__VA_ARGS__);                                               \
        printf("\n");                                                      \
        return;                                                            \
    } while (0)

#define RUN(fn)                                                            \
    do {                                                                   \
        ck_cur_failed = 0;                                                 \
        ck_cur_skipped = 0;                                                \
        fn();                                                              \
        if (ck_cur_failed) {                                               \
            ck_failed++;                                                   \
            printf("FAIL %s\n", #fn);                                      \
        } else if (ck_cur_skipped) {                                       \
            ck_skipped++;                                                  \
            printf("skip %s\n", #fn);                                      \
        } else {                                                           \
            ck_passed++;                                                   \
            printf("ok   %s\n", #fn);                                      \
        }                                                                  \
        fflush(stdout);                                                    \
    } while (0)

#define CK_BEGIN(name) (ck_prog = (name))
#define CK_END()                                                           \
    (printf("%s: %d passed, %d failed, %d skipped\n", ck_prog, ck_passed,  \
            ck_failed, ck_skipped),                                        \
     ck_failed ? 1 : 0)

/* Sanitizer builds are much slower: long tests may do less there. */
static inline int ck_sanitized(void) { return getenv("MYNN_SAN") != NULL; }

/* Under an emulator (make test-arm): wall-clock limits say nothing about
 * the code, and full-size training takes minutes. */
static inline int ck_emulated(void) { return getenv("MYNN_EMU") != NULL; }

#endif
