/* KV cache speed (docs/BENCHMARKS.md, KV section): per method, append and
 * read throughput of f16 keys and values, and tp_kv_attend over a T-token
 * cache against the baseline of reading the cache to f32 and attending
 * over that with the same kernels, in the same run (median of rounds).
 *   bench_kv [TOKENS] [ROUNDS] METHOD...
 * SmolLM2-135M's shape: 3 kv heads of 64, 9 query heads. */
#include "bench_util.h"
#include "runtime/kv_kernels.h"

enum { HEADS = 3, DIM = 64, QHEADS = 9, ROW = HEADS * DIM };

/* Attention over read-back f32 keys and values with the same vector
 * kernels tp_kv_attend uses: the baseline it must beat. */
static void attend_f32(const float *K, const float *V, size_t T, const float *q, float *out, float *s, float *kh_rows,
                       float *vh_rows)
{
    const kv_kernels *kern = kv_kernels_get();
    for (int kh = 0; kh < HEADS; kh++) {
        for (size_t t = 0; t < T; t++) {
            memcpy(kh_rows + t * DIM, K + t * ROW + kh * DIM, DIM * sizeof *kh_rows);
            memcpy(vh_rows + t * DIM, V + t * ROW + kh * DIM, DIM * sizeof *vh_rows);
        }
        for (int g = 0; g < QHEADS / HEADS; g++) {
            const int h = kh * (QHEADS / HEADS) + g;
            kern->scores(q + h * DIM, kh_rows, T, DIM, 0.125f, s);
            float mx = -INFINITY, sum = 0;
            for (size_t t = 0; t < T; t++) mx = fmaxf(mx, s[t]);
            for (size_t t = 0; t < T; t++) sum += (s[t] = expf(s[t] - mx));
            float *o = out + h * DIM;
            memset(o, 0, DIM * sizeof *o);
            kern->accumulate(s, vh_rows, T, DIM, o);
            for (int i = 0; i < DIM; i++) o[i] /= sum;
        }
    }
}

static tp_kv *filled(const char *method, const uint16_t *k, const uint16_t *v, size_t T)
{
    tp_kv_config c = {1, HEADS, DIM, TP_F16, method, 0, NULL};
    tp_kv *kv;
    bench_check(tp_kv_create(&c, &kv), method);
    bench_check(tp_kv_append(kv, 0, k, v, T, NULL), "append");
    return kv;
}

int main(int argc, char **argv)
{
    size_t T = argc > 1 ? strtoul(argv[1], NULL, 10) : 4096;
    int rounds = argc > 2 ? atoi(argv[2]) : 7;
    if (T < 1 || rounds < 1 || argc < 4) {
        fprintf(stderr, "usage: bench_kv TOKENS ROUNDS METHOD...\n");
        return 2;
    }
    float *kf = bench_alloc(T * ROW * 4), *vf = bench_alloc(T * ROW * 4);
    bench_gaussian(kf, T * ROW, 1);
    bench_gaussian(vf, T * ROW, 2);
    uint16_t *k = bench_alloc(T * ROW * 2), *v = bench_alloc(T * ROW * 2);
    tp_convert(k, TP_F16, kf, TP_F32, T * ROW);
    tp_convert(v, TP_F16, vf, TP_F32, T * ROW);
    float q[QHEADS * DIM], out[QHEADS * DIM], ref[QHEADS * DIM], *s = bench_alloc(T * 4);
    float *kh_rows = bench_alloc(T * DIM * 4), *vh_rows = bench_alloc(T * DIM * 4);
    bench_gaussian(q, QHEADS * DIM, 3);
    double *ta = malloc(rounds * sizeof *ta), *tr = malloc(rounds * sizeof *tr), *tn = malloc(rounds * sizeof *tn),
           *tb = malloc(rounds * sizeof *tb);
    const double in_gb = 2.0 * T * ROW * 2 / 1e9;
    printf("| method | bits/element | append GB/s | read GB/s | attend us | read + f32 attend us | attend speedup |\n"
           "|---|---|---|---|---|---|---|\n");
    for (int m = 3; m < argc; m++) {
        tp_kv_stats st;
        for (int r = 0; r < rounds; r++) {
            double t0 = tp_now_seconds();
            tp_kv *kv = filled(argv[m], k, v, T);
            ta[r] = tp_now_seconds() - t0;
            t0 = tp_now_seconds();
            bench_check(tp_kv_read(kv, 0, kf, vf), "read");
            tr[r] = tp_now_seconds() - t0;
            /* alternate the two attention paths inside the round */
            t0 = tp_now_seconds();
            bench_check(tp_kv_attend(kv, 0, q, QHEADS, out), "attend");
            tn[r] = tp_now_seconds() - t0;
            t0 = tp_now_seconds();
            bench_check(tp_kv_read(kv, 0, kf, vf), "read");
            attend_f32(kf, vf, T, q, ref, s, kh_rows, vh_rows);
            tb[r] = tp_now_seconds() - t0;
            tp_kv_stats_get(kv, &st);
            tp_kv_free(kv);
        }
        double err = 0;
        for (int i = 0; i < QHEADS * DIM; i++) err = fmax(err, fabs(out[i] - ref[i]));
        if (err > 1e-3) fprintf(stderr, "bench_kv: %s attend differs from the baseline by %g\n", argv[m], err);
        bench_summary a = bench_summarize(ta, rounds), r = bench_summarize(tr, rounds), n = bench_summarize(tn, rounds),
                      b = bench_summarize(tb, rounds);
        printf("| `%s` | %.3f | %.2f | %.2f | %.0f | %.0f | %.2fx |\n", argv[m], st.bits_per_element, in_gb / a.med,
               in_gb / r.med, 1e6 * n.med, 1e6 * b.med, b.med / n.med);
    }
    return 0;
}
