/* A program's own codec through the public contract: mu-law companding of
 * floats to 8-bit codes (G.711's curve, here with a per-tensor scale),
 * registered with tp_codec_register, used in a pipeline spec beside the
 * built-in zstd, and compared with the built-in int8 with one scale per
 * tensor (as mulaw8 has) on the same data.
 * Exits non-zero if anything fails or the codec loses more than it should.
 * Build: cc -Iinclude examples/custom_codec.c build/libtpress.a $(LIBS) -lm   (make builds it) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tpress.h>

enum { P_MU };

static const tp_param_def mulaw_params[] = {
    {"mu", TP_PARAM_FLOAT, 255, 1, 65535, NULL, "compression of the curve (255: G.711)", NULL},
};

static size_t mulaw_bound(const tp_params *p, const tp_tensor *in, tp_tensor *out)
{
    (void)p;
    uint64_t n = 1;
    for (uint32_t d = 0; d < in->ndim; d++) n *= in->shape[d];
    *out = (tp_tensor){.dtype = TP_U8, .ndim = 1, .shape = {4 + n}};
    return (size_t)(4 + n);
}

static size_t mulaw_encode(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    size_t n = mulaw_bound(p, in, out) - 4;
    if (cap < n + 4) return tp_fail(TP_ERR_DST_TOO_SMALL, "mulaw8: %zu bytes needed", n + 4);
    const float *x = in->data, mu = (float)p->v[P_MU];
    float scale = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) return tp_fail(TP_ERR_NONFINITE, "mulaw8: value %zu is not finite", i);
        scale = fmaxf(scale, fabsf(x[i]));
    }
    uint8_t *q = dst;
    memcpy(q, &scale, 4);
    const float inv = scale > 0 ? 1.0f / scale : 0, norm = 1.0f / log1pf(mu);
    for (size_t i = 0; i < n; i++) {
        float y = copysignf(log1pf(mu * fabsf(x[i]) * inv) * norm, x[i]); /* in [-1, 1] */
        q[4 + i] = (uint8_t)lrintf((y + 1.0f) * 127.5f);
    }
    return n + 4;
}

static size_t mulaw_decode(const tp_params *p, const void *src, size_t n, const tp_tensor *src_desc,
                           const tp_tensor *dst_desc, void *dst)
{
    (void)src_desc;
    uint64_t count = 1;
    for (uint32_t d = 0; d < dst_desc->ndim; d++) count *= dst_desc->shape[d];
    if (dst_desc->dtype != TP_F32 || n != 4 + count) return tp_fail(TP_ERR_CORRUPT, "mulaw8: %zu payload bytes", n);
    const uint8_t *q = src;
    float scale, *x = dst, mu = (float)p->v[P_MU];
    memcpy(&scale, q, 4);
    if (!isfinite(scale) || scale < 0) return tp_fail(TP_ERR_CORRUPT, "mulaw8: bad scale");
    for (uint64_t i = 0; i < count; i++) {
        float y = (float)q[4 + i] / 127.5f - 1.0f;
        x[i] = copysignf(scale * expm1f(fabsf(y) * log1pf(mu)) / mu, y);
    }
    return (size_t)count * sizeof(float);
}

static const tp_codec mulaw8 = {
    .info = {.id = TP_CODEC_USER_MIN + 1, .name = "mulaw8", .flags = TP_CODEC_LOSSY | TP_CODEC_FLOAT_IN,
             .summary = "mu-law companded 8-bit codes with a per-tensor scale (example)",
             .n_params = 1, .params = mulaw_params},
    .bound = mulaw_bound,
    .encode = mulaw_encode,
    .decode = mulaw_decode,
};

/* Encodes t with spec, decodes it, prints bytes and SNR; the SNR or -1. */
static double try_spec(const char *spec, const tp_tensor *t, float *back, size_t n)
{
    tp_pipeline *p;
    size_t r = tp_pipeline_parse(spec, &p);
    if (tp_is_error(r)) { fprintf(stderr, "%s: %s\n", spec, tp_last_error_detail()); return -1; }
    void *frame;
    size_t bytes = tp_frame_encode_alloc(p, t, NULL, &frame);
    tp_pipeline_free(p);
    if (tp_is_error(bytes)) { fprintf(stderr, "%s: %s\n", spec, tp_last_error_detail()); return -1; }
    r = tp_frame_decode(frame, bytes, back, n * sizeof(float));
    free(frame);
    if (tp_is_error(r)) { fprintf(stderr, "%s: decode: %s\n", spec, tp_last_error_detail()); return -1; }
    tp_metrics m;
    tp_metrics_compute(t->data, TP_F32, back, TP_F32, n, &m);
    printf("%-22s %8zu bytes  %.2f bits/value  SNR %6.2f dB\n", spec, bytes, 8.0 * (double)bytes / (double)n, m.snr_db);
    return m.snr_db;
}

int main(void)
{
    enum { N = 1 << 18 };
    size_t r = tp_codec_register(&mulaw8);
    if (tp_is_error(r)) { fprintf(stderr, "register: %s\n", tp_last_error_detail()); return 1; }
    if (!tp_is_error(tp_codec_register(&mulaw8))) { fprintf(stderr, "a second registration was accepted\n"); return 1; }
    const tp_codec_info *info = tp_codec_find("mulaw8");
    if (!info || info->id != TP_CODEC_USER_MIN + 1) { fprintf(stderr, "mulaw8 is not in the registry\n"); return 1; }

    /* Laplacian values, heavy-tailed like weights and activations. */
    float *x = malloc(N * sizeof *x), *back = malloc(N * sizeof *back);
    uint64_t s = 88172645463325252ull;
    for (int i = 0; i < N; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double u = ((double)(s >> 11) + 0.5) / 9007199254740992.0 - 0.5;
        x[i] = (float)(u < 0 ? log(1 + 2 * u) : -log(1 - 2 * u));
    }
    tp_tensor t = {.dtype = TP_F32, .ndim = 2, .shape = {512, N / 512}, .data = x};
    double ours = try_spec("mulaw8", &t, back, N);
    double zst = try_spec("mulaw8:mu=64 | zstd", &t, back, N);
    double int8 = try_spec("int:bits=8,group=0", &t, back, N);
    free(x);
    free(back);
    /* Companding spends its levels where a Laplacian's mass is. */
    return ours > 30 && zst > 30 && int8 > 0 && ours > int8 ? 0 : 1;
}
