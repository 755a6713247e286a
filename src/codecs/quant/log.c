/* log: sign + log-magnitude quantization for heavy-tailed data, 2-8 bits.
 *
 * A b-bit code is s.mmm (sign bit on top, b-1 magnitude bits m). With
 * L = 2^(b-1) - 1 and a group scale M (the group's absmax, rounded up to the
 * scale format):
 *   m = 0      -> exactly 0 (the sign-1 twin of 0 is never written and also
 *                 decodes to 0);
 *   m = 1..L   -> (-1)^s * M * 2^(-(L - m) * step),
 * so the largest level is M and each smaller one is 2^step (the "base")
 * times smaller. step is one per tensor: given by step=, or with step=0
 * chosen by the encoder from a geometric grid (0.02 * 1.1^k, k = 0..60) to
 * minimise the squared error on up to 65536 evenly spaced values. Values
 * go to the nearest level in the linear domain.
 * At 2 bits the table above has 3 levels {-M, 0, M} and wastes a code;
 * encoders since format note "log 2-bit four levels" (docs/FORMAT.md) use
 * {±M, ±M * 2^-step} instead (no exact zero; step fitted as above), and
 * mark it by storing -step: a negative step field at bits=2 selects the
 * four-level table, a positive one (older frames) the three-level one.
 * Payload: step (f32), M[n_groups] (f16/f32), then the codes bit-packed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/quant/lut_quant.h"
#include "codecs/quant/quant_family.h"
#include "core/bytes.h"

enum { P_BITS, P_GROUP, P_AXIS, P_SCALE, P_STEP, P_SEARCH, N_PARAMS };
static const char *const scale_types[] = {"f16", "f32", NULL};

static const tp_param_def log_params[N_PARAMS] = {
    [P_BITS] = {"bits", TP_PARAM_INT, 4, 2, 8, NULL, "bits per value: 1 sign bit + bits-1 log-magnitude bits"},
    [P_GROUP] = {"group", TP_PARAM_INT, 64, 0, 1 << 20, NULL, "values per group along the last axis (0: no groups)", "axis"},
    [P_AXIS] = {"axis", TP_PARAM_INT, -1, -1, TP_MAX_DIMS - 1, NULL, "per-channel scales along this axis (given alone, group becomes 0)"},
    [P_SCALE] = {"scale", TP_PARAM_ENUM, 0, 0, 1, scale_types, "storage of the group maxima"},
    [P_STEP] = {"step", TP_PARAM_FLOAT, 0, 0, 16, NULL, "log2 ratio between adjacent levels (0: fitted per tensor)"},
    [P_SEARCH] = {"search", TP_PARAM_INT, 1, 0, 1, NULL, "1: shrink each group's scale by the least-squared-error ratio in 0.5..1 (0: plain absmax)"},
};

#define STEP_MAX 64.0f
#define FIT_SAMPLES 65536
#define FIT_STEPS 61

void tp_log_levels(unsigned bits, float step, float *lut)
{
    if (bits == 2) { /* four levels: (-1)^s * M * (m ? 1 : 2^-step) */
        float inner = exp2f(-step);
        lut[0] = inner; lut[1] = 1.0f; lut[2] = -inner; lut[3] = -1.0f;
        return;
    }
    unsigned L = (1u << (bits - 1)) - 1;
    for (unsigned s = 0; s < 2; s++) {
        lut[s << (bits - 1)] = 0.0f;
        for (unsigned m = 1; m <= L; m++) {
            float v = exp2f(-(float)(L - m) * step);
            lut[(s << (bits - 1)) | m] = s ? -v : v;
        }
    }
}

static size_t log_validate(const tp_params *p)
{
    return tp_grouping_validate("log", tp_param_int(p, P_GROUP), tp_param_int(p, P_AXIS));
}

typedef struct {
    tp_grouping G;
    tp_lut_quant Q;
    float lut[256];
    tp_nearest_table near;
} log_ctx;

/* The table a stored step field selects (see the top comment): older
 * 2-bit frames (positive field) have levels {0, M, 0, -M}. */
static void levels_of_field(unsigned bits, float field, float *lut)
{
    static const float three[4] = {0.0f, 1.0f, 0.0f, -1.0f};
    if (bits == 2 && field > 0.0f) memcpy(lut, three, sizeof three);
    else tp_log_levels(bits, bits == 2 ? -field : field, lut);
}

static void set_step(log_ctx *c, float step)
{
    tp_log_levels(c->Q.bits, step, c->lut);
    tp_nearest_build(&c->near, c->lut, c->Q.bits);
}

static size_t log_setup(const tp_params *p, const tp_tensor *t, log_ctx *c)
{
    TP_TRY(tp_grouping_init(&c->G, "log", t, (uint64_t)tp_param_int(p, P_GROUP), tp_param_int(p, P_AXIS)));
    memset(&c->Q, 0, sizeof c->Q);
    c->Q.name = "log";
    c->Q.bits = (unsigned)tp_param_int(p, P_BITS);
    c->Q.f32 = tp_param_int(p, P_SCALE);
    c->Q.qmax = 1.0f;
    c->Q.lut = c->lut;
    c->Q.near = &c->near;
    c->Q.head = 4;
    c->Q.search = tp_param_int(p, P_SEARCH);
    return 0;
}

static size_t log_bound(const tp_params *p, const tp_tensor *in, tp_tensor *out)
{
    log_ctx c;
    TP_TRY(log_setup(p, in, &c));
    size_t n = tp_lut_quant_payload(&c.Q, &c.G);
    tp_desc_bytes(out, n);
    return n;
}

/* Step of least squared error on a sample of x (scales as stored). */
static float fit_step(log_ctx *c, const float *x)
{
    if (c->G.numel == 0) return 1.0f;
    tp_lut_quant plain = c->Q; /* absmax scales: the search needs the table being fitted */
    plain.search = 0;
    float *s = tp_lut_quant_scales(&plain, &c->G, x);
    if (!s) return 0.0f;
    uint64_t n = c->G.numel < FIT_SAMPLES ? c->G.numel : FIT_SAMPLES;
    float *u = malloc(n * sizeof *u), *w = malloc(n * sizeof *w);
    float best = 1.0f;
    if (u && w) {
        for (uint64_t k = 0; k < n; k++) {
            uint64_t i = k * c->G.numel / n;
            float sc = s[tp_grouping_gid(&c->G, i)];
            u[k] = sc > 0 ? x[i] / sc : 0.0f;
            w[k] = sc * sc;
        }
        double best_e = INFINITY;
        float step = 0.02f;
        for (int k = 0; k < FIT_STEPS; k++, step *= 1.1f) {
            set_step(c, step);
            double e = 0;
            for (uint64_t j = 0; j < n; j++) {
                float d = u[j] - c->lut[c->near.code[tp_nearest_level(c->near.bnd, c->Q.bits, u[j])]];
                e += (double)w[j] * d * d;
            }
            if (e < best_e) { best_e = e; best = step; }
        }
    } else best = 0.0f;
    free(u); free(w); free(s);
    return best;
}

static size_t log_encode(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    log_ctx c;
    TP_TRY(log_setup(p, in, &c));
    size_t n = tp_lut_quant_payload(&c.Q, &c.G);
    if (cap < n) return tp_fail(TP_ERR_DST_TOO_SMALL, "log needs %zu bytes", n);
    TP_TRY(tp_check_finite("log", in->data, c.G.numel));
    float step = (float)p->v[P_STEP];
    if (step == 0.0f) {
        step = fit_step(&c, in->data);
        if (step == 0.0f) return tp_fail(TP_ERR_NOMEM, "log: step search buffers");
    }
    set_step(&c, step);
    float field = c.Q.bits == 2 ? -step : step;
    uint32_t bits;
    memcpy(&bits, &field, 4);
    tp_put_u32(dst, bits);
    TP_TRY(tp_lut_quant_encode(&c.Q, &c.G, in->data, dst));
    tp_desc_bytes(out, n);
    return n;
}

static size_t log_decode(const tp_params *p, const void *src, size_t n, const tp_tensor *src_desc,
                         const tp_tensor *dst_desc, void *dst)
{
    log_ctx c;
    size_t r = log_setup(p, dst_desc, &c);
    if (tp_is_error(r)) return tp_fail(TP_ERR_CORRUPT, "log stage: %s", tp_last_error_detail());
    if (n < 4) return tp_fail(TP_ERR_CORRUPT, "log payload of %zu bytes has no step", n);
    uint32_t bits = tp_get_u32(src);
    float step;
    memcpy(&step, &bits, 4);
    float mag = c.Q.bits == 2 ? fabsf(step) : step;
    if (!(mag > 0.0f && mag <= STEP_MAX)) return tp_fail(TP_ERR_CORRUPT, "log step %g out of range", (double)step);
    levels_of_field(c.Q.bits, step, c.lut);
    return tp_lut_quant_decode(&c.Q, &c.G, src, n, dst);
}

const tp_codec tp_codec_log = {
    .info = {.id = TP_CODEC_ID_log, .name = "log", .flags = TP_CODEC_LOSSY | TP_CODEC_FLOAT_IN,
             .summary = "sign + log-magnitude levels M*2^(-k*step), 2-8 bits, max per group, exact zero",
             .n_params = N_PARAMS, .params = log_params},
    .validate = log_validate, .bound = log_bound, .encode = log_encode, .decode = log_decode,
};
