/* nf: normal-float quantization (QLoRA's NF4, Dettmers et al. 2023,
 * generalised to 2-8 bits) with one absmax scale per group.
 *
 * Levels for b bits, K = 2^b codes, Phi^-1 the standard normal quantile:
 *   delta = 1 - (1/(2K) + 1/(2(K-1))) / 2      (0.9677083 for b = 4)
 *   P = K/2 positive levels  Phi^-1(delta - (delta - 1/2) j / P),      j = 0..P-1
 *   N = K/2-1 negative levels -Phi^-1(delta - (delta - 1/2) j / N),    j = 0..N-1
 *   the level 0 (so 0 is exactly representable),
 * all divided by Phi^-1(delta), so the extremes are exactly -1 and +1. For
 * b = 4 this is bitsandbytes' create_normal_map() table. Codes are the
 * indices of the levels sorted ascending. A group with absmax m stores
 * s = m rounded up to the scale format and decodes code c as level[c] * s.
 * Payload: s[n_groups] (f16/f32), then the codes bit-packed. */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "codecs/quant/lut_quant.h"
#include "codecs/quant/quant_family.h"

enum { P_BITS, P_GROUP, P_AXIS, P_SCALE, P_SEARCH, N_PARAMS };
static const char *const scale_types[] = {"f16", "f32", NULL};

static const tp_param_def nf_params[N_PARAMS] = {
    [P_BITS] = {"bits", TP_PARAM_INT, 4, 2, 8, NULL, "bits per value (2^bits normal-quantile levels)"},
    [P_GROUP] = {"group", TP_PARAM_INT, 64, 0, 1 << 20, NULL, "values per absmax group along the last axis (0: no groups)", "axis"},
    [P_AXIS] = {"axis", TP_PARAM_INT, -1, -1, TP_MAX_DIMS - 1, NULL, "per-channel scales along this axis (given alone, group becomes 0)"},
    [P_SCALE] = {"scale", TP_PARAM_ENUM, 0, 0, 1, scale_types, "storage of the group scales"},
    [P_SEARCH] = {"search", TP_PARAM_INT, 1, 0, 1, NULL, "1: shrink each group's scale by the least-squared-error ratio in 0.5..1 (0: plain absmax)"},
};

static float nf_lut[9][256];
static tp_nearest_table nf_near[9];
static pthread_once_t nf_once = PTHREAD_ONCE_INIT;

/* Standard normal quantile by bisection on Phi(x) = erfc(-x/sqrt2)/2:
 * slow but exact to double precision, and run once per process. */
static double norm_ppf(double p)
{
    double lo = -40, hi = 40;
    for (int i = 0; i < 200 && hi - lo > 1e-15; i++) {
        double mid = 0.5 * (lo + hi);
        if (0.5 * erfc(-mid / sqrt(2.0)) < p) lo = mid; else hi = mid;
    }
    return 0.5 * (lo + hi);
}

void tp_nf_levels(unsigned bits, double *lv)
{
    unsigned K = 1u << bits, P = K / 2, N = K / 2 - 1, n = 0;
    double delta = 1.0 - 0.5 * (1.0 / (2.0 * K) + 1.0 / (2.0 * (K - 1))), top = norm_ppf(delta);
    for (unsigned j = 0; j < N; j++) lv[n++] = -norm_ppf(delta - (delta - 0.5) * j / N) / top;
    lv[n++] = 0.0;
    for (unsigned j = 0; j < P; j++) lv[n++] = norm_ppf(delta - (delta - 0.5) * (P - 1 - j) / P) / top;
    lv[0] = -1.0; /* exact by construction; avoid a last-ulp wobble */
    lv[K - 1] = 1.0;
}

static void nf_init(void)
{
    double lv[256];
    for (unsigned b = 2; b <= 8; b++) {
        tp_nf_levels(b, lv);
        for (unsigned c = 0; c < (1u << b); c++) nf_lut[b][c] = (float)lv[c];
        tp_nearest_build(&nf_near[b], nf_lut[b], b);
    }
}

static size_t nf_validate(const tp_params *p)
{
    return tp_grouping_validate("nf", tp_param_int(p, P_GROUP), tp_param_int(p, P_AXIS));
}

static size_t nf_setup(const tp_params *p, const tp_tensor *t, tp_grouping *G, tp_lut_quant *Q)
{
    pthread_once(&nf_once, nf_init);
    TP_TRY(tp_grouping_init(G, "nf", t, (uint64_t)tp_param_int(p, P_GROUP), tp_param_int(p, P_AXIS)));
    unsigned bits = (unsigned)tp_param_int(p, P_BITS);
    memset(Q, 0, sizeof *Q);
    Q->name = "nf";
    Q->bits = bits;
    Q->f32 = tp_param_int(p, P_SCALE);
    Q->qmax = 1.0f;
    Q->lut = nf_lut[bits];
    Q->near = &nf_near[bits];
    Q->search = tp_param_int(p, P_SEARCH);
    return 0;
}

static size_t nf_bound(const tp_params *p, const tp_tensor *in, tp_tensor *out)
{
    tp_grouping G;
    tp_lut_quant Q;
    TP_TRY(nf_setup(p, in, &G, &Q));
    size_t n = tp_lut_quant_payload(&Q, &G);
    tp_desc_bytes(out, n);
    return n;
}

static size_t nf_encode(const tp_params *p, const tp_tensor *in, void *dst, size_t cap, tp_tensor *out)
{
    tp_grouping G;
    tp_lut_quant Q;
    TP_TRY(nf_setup(p, in, &G, &Q));
    size_t n = tp_lut_quant_payload(&Q, &G);
    if (cap < n) return tp_fail(TP_ERR_DST_TOO_SMALL, "nf needs %zu bytes", n);
    TP_TRY(tp_lut_quant_encode(&Q, &G, in->data, dst));
    tp_desc_bytes(out, n);
    return n;
}

static size_t nf_decode(const tp_params *p, const void *src, size_t n, const tp_tensor *src_desc,
                        const tp_tensor *dst_desc, void *dst)
{
    tp_grouping G;
    tp_lut_quant Q;
    size_t r = nf_setup(p, dst_desc, &G, &Q);
    if (tp_is_error(r)) return tp_fail(TP_ERR_CORRUPT, "nf stage: %s", tp_last_error_detail());
    return tp_lut_quant_decode(&Q, &G, src, n, dst);
}

const tp_codec tp_codec_nf = {
    .info = {.id = TP_CODEC_ID_nf, .name = "nf", .flags = TP_CODEC_LOSSY | TP_CODEC_FLOAT_IN,
             .summary = "normal-float (NF4-style) codebook, 2-8 bits, absmax scale per group",
             .n_params = N_PARAMS, .params = nf_params},
    .validate = nf_validate, .bound = nf_bound, .encode = nf_encode, .decode = nf_decode,
};
