/* Helpers shared by the bench programs (header-only: each bench program is one
 * program). Not part of the library. */
#ifndef TP_BENCH_UTIL_H
#define TP_BENCH_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/rng.h"
#include "tpress.h"

/* Deterministic standard normal values (xorshift64 + Box-Muller), the same
 * generator as the tests' th_gaussian, so figures are reproducible. */
static inline void bench_gaussian(float *x, size_t n, unsigned seed)
{
    tp_rng s = {0x9E3779B97F4A7C15ull ^ seed};
    for (size_t i = 0; i < n; i += 2) {
        double u0 = tp_rng_uniform(&s), u1 = tp_rng_uniform(&s);
        double r = sqrt(-2.0 * log(u0)), t = 6.283185307179586 * u1;
        x[i] = (float)(r * cos(t));
        if (i + 1 < n) x[i + 1] = (float)(r * sin(t));
    }
}

typedef struct { double min, med, max; } bench_summary;

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* min / median / max of n samples (sorts v). */
static inline bench_summary bench_summarize(double *v, size_t n)
{
    bench_summary s = {0, 0, 0};
    if (!n) return s;
    qsort(v, n, sizeof *v, bench_cmp_double);
    s.min = v[0];
    s.max = v[n - 1];
    s.med = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    return s;
}

/* Stops the program on a library error: a benchmark of a failing call
 * would measure nothing. */
static inline size_t bench_check(size_t r, const char *what)
{
    if (tp_is_error(r)) {
        fprintf(stderr, "bench: %s failed: %s: %s\n", what, tp_error_name(r), tp_last_error_detail());
        exit(1);
    }
    return r;
}

static inline void *bench_alloc(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? n : 1)) {
        fprintf(stderr, "bench: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    memset(p, 0, n); /* fault the pages in before any timing */
    return p;
}

/* The memory baselines every bench program shares, so that "% of the write
 * loop" means one thing in every section of docs/BENCHMARKS.md:
 *  - bench_write_plain: a store loop over n floats with ordinary 256-bit
 *    stores (AVX2; scalar stores elsewhere). Each destination line is read
 *    for ownership before it is written, so beyond the caches it moves
 *    about twice the bytes it writes.
 *  - bench_write_stream: the same loop with non-temporal (streaming)
 *    256-bit stores and an sfence: no read-for-ownership, the fastest
 *    plain write this CPU does to memory. dst must be 32-byte aligned
 *    (bench_alloc gives 64).
 * Decoders that stream their outputs are measured against the second one;
 * the tables print both. */
#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx2"), noinline)) static void bench_write_plain_avx2(float *dst, size_t n, float v)
{
    __m256 x = _mm256_set1_ps(v);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, x);
    for (; i < n; i++) dst[i] = v;
}

__attribute__((target("avx2"), noinline)) static void bench_write_stream_avx2(float *dst, size_t n, float v)
{
    __m256 x = _mm256_set1_ps(v);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_stream_ps(dst + i, x);
    _mm_sfence();
    for (; i < n; i++) dst[i] = v;
}
#endif

__attribute__((noinline)) static void bench_write_scalar(float *dst, size_t n, float v)
{
    for (size_t i = 0; i < n; i++) dst[i] = v;
}

/* 1 when the wide (and streaming) loops run, 0 when both fall back to scalar. */
static inline int bench_write_wide(void)
{
#if defined(__x86_64__)
    return __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

static inline void bench_write_plain(float *dst, size_t n, float v)
{
#if defined(__x86_64__)
    if (bench_write_wide()) { bench_write_plain_avx2(dst, n, v); return; }
#endif
    bench_write_scalar(dst, n, v);
}

static inline void bench_write_stream(float *dst, size_t n, float v)
{
#if defined(__x86_64__)
    if (bench_write_wide() && (uintptr_t)dst % 32 == 0) { bench_write_stream_avx2(dst, n, v); return; }
#endif
    bench_write_scalar(dst, n, v);
}

#endif
