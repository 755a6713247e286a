/* Minimal test harness: TEST(name) registers a function, CHECK stops the
 * current test on failure. Every test file links into one binary
 * (build/unit_tests), which runs all tests or those whose name contains the
 * first argument, and ends with "N passed, N failed". */
#ifndef TP_TEST_HARNESS_H
#define TP_TEST_HARNESS_H

#include <math.h>
#include <stdio.h>
#include "tpress.h"

/* model: 1 for tests that load a real model (MODEL_TEST), skipped by the
 * quick loop (TP_QUICK=1, `make check`). */
void th_register(const char *name, void (*fn)(void), int model);
void th_fail(const char *file, int line, const char *what);
/* Directory of test data (tests/data), overridable by TP_TEST_DATA. */
const char *th_data_dir(void);
/* th_data_dir()/name (one of four rotating static buffers). */
const char *th_data_path(const char *name);
/* A model file: $env_var if set, else the first line printed by script
 * (e.g. scripts/minilm_path.sh); NULL if neither gives one. Cached per
 * script (at most four). */
const char *th_model_path(const char *env_var, const char *script);
/* The whole file at path in a new buffer (caller frees) with a NUL after
 * its *n bytes, or NULL. */
unsigned char *th_read_file(const char *path, size_t *n);
/* Writes n bytes to path; 1 on success. */
int th_write_file(const char *path, const void *data, size_t n);
/* Path of a fresh temporary file name ending in suffix (not created). */
const char *th_tmp_path(const char *suffix);
/* Encodes t through spec and decodes it into *back (malloc'd, caller
 * frees; NULL on failure); *frame_out gets the frame if not NULL. Returns
 * the frame size or an error. */
size_t th_roundtrip(const char *spec, const tp_tensor *t, void **back, void **frame_out);
/* SNR in dB of b against a (f32). */
double th_snr(const float *a, const float *b, size_t n);
/* Deterministic standard normal values (xorshift + Box-Muller). */
void th_gaussian(float *x, size_t n, unsigned seed);

#define TEST(name) TH_TEST(name, 0)
/* A test that loads MiniLM or SmolLM2: left out of the quick loop. */
#define MODEL_TEST(name) TH_TEST(name, 1)
#define TH_TEST(name, model)                                                 \
    static void name(void);                                                  \
    __attribute__((constructor)) static void th_reg_##name(void) { th_register(#name, name, model); } \
    static void name(void)

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) { th_fail(__FILE__, __LINE__, #cond); return; }         \
    } while (0)

/* CHECK that a size_t result is not an error, printing its detail if so. */
#define CHECK_OK(expr)                                                       \
    do {                                                                     \
        size_t th_r_ = (expr);                                               \
        if (tp_is_error(th_r_)) {                                            \
            char th_msg_[640];                                               \
            snprintf(th_msg_, sizeof th_msg_, "%s -> %s: %s", #expr,         \
                     tp_error_name(th_r_), tp_last_error_detail());          \
            th_fail(__FILE__, __LINE__, th_msg_);                            \
            return;                                                          \
        }                                                                    \
    } while (0)

/* CHECK that a size_t result is the given error code. */
#define CHECK_ERR(expr, code) CHECK(tp_error_code(expr) == (code))

#endif
