/* tokdct pruning and payload version 1: bytes that fall with the tokens
 * kept, exact kept positions, zeros for pruned tokens, round trips of odd
 * grids, damaged and truncated payloads, frames of the older layout, and
 * MiniLM hidden states (bytes and cosine). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codec.h"
#include "codecs/pipeline.h"
#include "harness.h"
#include "tpress_eval.h"

/* Token vectors like a transformer's hidden states: a mean shared by all
 * tokens, channels of very different scales (a few outliers), token norms
 * that vary, and no smoothness across the grid. */
static void make_hidden(float *x, size_t items, size_t T, size_t C, unsigned seed)
{
    float *g = malloc((items * T * C + 2 * C + items * T) * sizeof(float));
    th_gaussian(g, items * T * C + 2 * C + items * T, seed);
    const float *mu = g + items * T * C, *sg = mu + C, *rho = sg + C;
    for (size_t i = 0; i < items * T; i++)
        for (size_t c = 0; c < C; c++) {
            double scale = exp(0.35 * sg[c]) * (c % 97 == 5 ? 8.0 : 1.0) * exp(0.1 * rho[i]);
            x[i * C + c] = (float)(0.5 * mu[c] + scale * g[i * C + c]);
        }
    free(g);
}

static double energy(const float *row, size_t C)
{
    double e = 0;
    for (size_t c = 0; c < C; c++) e += (double)row[c] * row[c];
    return e;
}

/* Mean cosine over the tokens of items x T x C values whose mask is set
 * (mask NULL: all tokens; a zero token against a non-zero one counts 0). */
static double mean_cosine(const float *a, const float *b, size_t tokens, size_t C, const uint8_t *mask)
{
    double sum = 0;
    size_t n = 0;
    for (size_t t = 0; t < tokens; t++) {
        if (mask && !mask[t]) continue;
        double ab = 0, aa = 0, bb = 0;
        for (size_t c = 0; c < C; c++) {
            ab += (double)a[t * C + c] * b[t * C + c];
            aa += (double)a[t * C + c] * a[t * C + c];
            bb += (double)b[t * C + c] * b[t * C + c];
        }
        sum += aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0;
        n++;
    }
    return n ? sum / (double)n : 0;
}

static size_t spec_bytes(const char *spec, const tp_tensor *t, float **back, void **frame)
{
    return th_roundtrip(spec, t, (void **)back, frame);
}

TEST(tokdct_prune_pays_in_bytes)
{
    size_t items = 4, T = 144, C = 384, n = items * T * C;
    float *x = malloc(n * sizeof(float));
    make_hidden(x, items, T, C, 5);
    tp_tensor t = {TP_F32, 3, {items, T, C}, x};
    const char *base[] = {"tokdct", "tokdct:profile=mild", "tokdct:step=0.3", "tokdct:low=8,mid=4,high=0"};
    const double limit72[] = {0.6, 0.6, 0.6, 0.7};
    for (int i = 0; i < 4; i++) {
        size_t prev = 0, full = 0;
        double ratio72 = 0;
        const int keep[] = {36, 72, 108, 0};
        for (int j = 0; j < 4; j++) {
            char spec[96];
            snprintf(spec, sizeof spec, "%s%sprune=%d", base[i], strchr(base[i], ':') ? "," : ":", keep[j]);
            float *y;
            size_t b = spec_bytes(spec, &t, &y, NULL);
            CHECK_OK(b);
            free(y);
            CHECK(b > prev);
            prev = b;
            if (keep[j] == 0) full = b;
            if (keep[j] == 72) ratio72 = (double)b;
        }
        ratio72 /= (double)full;
        printf("    %s: prune=72 stores %.3f of the bytes of prune=0\n", base[i], ratio72);
        CHECK(ratio72 < limit72[i]);
    }
    free(x);
}

/* The k kept positions are the k tokens of largest input energy (ties:
 * lower index), every pruned token decodes to exact zeros and the kept
 * ones close to their input. */
TEST(tokdct_prune_keeps_exact_positions)
{
    size_t items = 3, T = 144, C = 24, n = items * T * C, k = 50;
    float *x = malloc(n * sizeof(float));
    make_hidden(x, items, T, C, 11);
    /* A tie at the boundary of item 0: the k-th largest token a is copied
     * over a smaller token b, so exactly one of them is kept, the lower index. */
    size_t ta = 0, tb = T;
    for (size_t tk = 0; tk < T; tk++) {
        size_t above = 0;
        for (size_t j = 0; j < T; j++) above += energy(x + j * C, C) > energy(x + tk * C, C);
        if (above == k - 1) ta = tk;
        if (above >= k + 5 && tb == T) tb = tk;
    }
    memcpy(x + tb * C, x + ta * C, C * sizeof(float));
    tp_tensor t = {TP_F32, 3, {items, T, C}, x};
    float *y;
    void *frame;
    size_t fn = spec_bytes("tokdct:prune=50,step=0.01", &t, &y, &frame);
    CHECK_OK(fn);
    uint32_t pos[3 * 50];
    CHECK(tp_frame_kept_positions(frame, fn, pos, 3 * 50) == 3 * 50);
    CHECK_ERR(tp_frame_kept_positions(frame, fn, pos, 3 * 50 - 1), TP_ERR_DST_TOO_SMALL);
    uint8_t *mask = calloc(items * T, 1);
    for (size_t b = 0; b < items; b++) {
        /* Selection by repeated maximum, independent of the codec's sort. */
        uint8_t want[144] = {0};
        for (size_t i = 0; i < k; i++) {
            size_t best = T;
            for (size_t tk = 0; tk < T; tk++)
                if (!want[tk] && (best == T || energy(x + (b * T + tk) * C, C) > energy(x + (b * T + best) * C, C)))
                    best = tk;
            want[best] = 1;
        }
        size_t j = 0;
        for (size_t tk = 0; tk < T; tk++)
            if (want[tk]) {
                CHECK(pos[b * k + j] == tk);
                j++;
            }
        for (size_t tk = 0; tk < T; tk++) {
            mask[b * T + tk] = want[tk];
            if (!want[tk])
                for (size_t c = 0; c < C; c++) CHECK(y[(b * T + tk) * C + c] == 0.0f);
        }
    }
    CHECK(mask[ta < tb ? ta : tb] && !mask[ta < tb ? tb : ta]);
    double cos_kept = mean_cosine(x, y, items * T, C, mask);
    printf("    kept tokens: mean cosine %.5f\n", cos_kept);
    CHECK(cos_kept > 0.999);
    free(y); free(frame); free(mask); free(x);
}

TEST(tokdct_prune_round_trips)
{
    size_t C = 5, n = 2 * 144 * C;
    float *x = malloc(n * sizeof(float)), *y;
    make_hidden(x, 2, 144, C, 3);
    tp_tensor t = {TP_F32, 3, {2, 144, C}, x};
    const char *specs[] = {"tokdct:grid=8,gw=18,prune=60,step=0.01", "tokdct:grid=0,prune=144,step=0.01",
                           "tokdct:grid=16,gw=9,prune=1,step=0.01", "tokdct:prune=72,low=8,mid=8,high=8",
                           "tokdct:prune=30,low=1,mid=0,high=2", "tokdct:prune=100,lo_edge=0,hi_edge=0,step=0.01"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        CHECK_OK(spec_bytes(specs[i], &t, &y, NULL));
        size_t kept = 0, k = (size_t)atoi(strstr(specs[i], "prune=") + 6);
        for (size_t tk = 0; tk < 2 * 144; tk++) kept += energy(y + tk * C, C) > 0;
        CHECK(kept == 2 * k || strstr(specs[i], "low=1"));
        if (strstr(specs[i], "step=0.01") && k > 1) {
            /* Kept tokens round-trip closely (zeros elsewhere). */
            uint8_t mask[288];
            for (size_t tk = 0; tk < 288; tk++) mask[tk] = energy(y + tk * C, C) > 0;
            CHECK(mean_cosine(x, y, 288, C, mask) > 0.999);
        }
        free(y);
    }
    /* prune = T keeps everything: same values as no pruning. */
    float *y0;
    CHECK_OK(spec_bytes("tokdct:step=0.01", &t, &y0, NULL));
    CHECK_OK(spec_bytes("tokdct:prune=144,step=0.01", &t, &y, NULL));
    CHECK(!memcmp(y0, y, n * sizeof(float)));
    free(y0); free(y);
    /* f16 input goes through the float conversion. */
    uint16_t *h = malloc(n * 2);
    CHECK_OK(tp_convert(h, TP_F16, x, TP_F32, n));
    tp_tensor th = {TP_F16, 3, {2, 144, C}, h};
    CHECK_OK(spec_bytes("tokdct:prune=72", &th, &y, NULL));
    free(y); free(h); free(x);
}

/* Payloads straight from the codec, to damage them. */
static size_t payload(const char *params, const tp_tensor *t, uint8_t **buf, tp_params *prm)
{
    const tp_codec *c = tp_codec_by_name("tokdct");
    TP_TRY(tp_params_parse(c, params, strlen(params), prm));
    tp_tensor out;
    size_t bound = c->bound(prm, t, &out);
    if (tp_is_error(bound)) return bound;
    *buf = malloc(bound);
    return c->encode(prm, t, *buf, bound, &out);
}

static size_t decode_payload(const tp_params *prm, const uint8_t *buf, size_t n, const tp_tensor *t, float *out)
{
    tp_tensor desc;
    tp_desc_bytes(&desc, n);
    return tp_codec_by_name("tokdct")->decode(prm, buf, n, &desc, t, out);
}

TEST(tokdct_damaged_payloads_rejected)
{
    size_t C = 64, n = 2 * 25 * C;
    float *x = malloc(n * sizeof(float)), *out = malloc(n * sizeof(float));
    make_hidden(x, 2, 25, C, 8);
    tp_tensor t = {TP_F32, 3, {2, 25, C}, x};
    /* 5x5 grid: 7 padding bits in each kept bitmap. Raw and rANS sections
     * both appear (1-bit codes and per-band scales stay raw). */
    const char *cases[] = {"grid=5,prune=12", "grid=5,prune=9,low=1,mid=1,high=1", "grid=5", "grid=5,step=0.02",
                           "grid=5,prune=20,low=2,mid=8,high=8"};
    int modes_seen[2][2] = {{0, 0}, {0, 0}};
    unsigned s = 7;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        uint8_t *buf = NULL;
        tp_params prm;
        size_t nb = payload(cases[ci], &t, &buf, &prm);
        CHECK_OK(nb);
        CHECK(buf[0] == 1 && buf[1] == 0xff && buf[2] <= 1 && buf[3] <= 1);
        modes_seen[0][buf[2]] = modes_seen[1][buf[3]] = 1;
        CHECK(decode_payload(&prm, buf, nb, &t, out) == n * sizeof(float));
        for (size_t cut = 0; cut < nb; cut++) CHECK(tp_is_error(decode_payload(&prm, buf, cut, &t, out)));
        uint8_t *bad = malloc(nb + 1);
        memcpy(bad, buf, nb);
        bad[nb] = 0;
        CHECK_ERR(decode_payload(&prm, bad, nb + 1, &t, out), TP_ERR_CORRUPT);
        for (int k = 0; k < 400; k++) {
            memcpy(bad, buf, nb);
            for (int j = 0; j < 1 + k % 3; j++) {
                s = s * 1103515245u + 12345u;
                bad[(s >> 8) % nb] ^= (uint8_t)(1u << ((s >> 4) % 8));
            }
            size_t r = decode_payload(&prm, bad, nb, &t, out);
            CHECK(tp_is_error(r) || r == n * sizeof(float));
        }
        memcpy(bad, buf, nb);
        bad[0] = 2;
        CHECK_ERR(decode_payload(&prm, bad, nb, &t, out), TP_ERR_VERSION);
        bad[0] = 0;
        CHECK_ERR(decode_payload(&prm, bad, nb, &t, out), TP_ERR_CORRUPT);
        for (int m = 2; m <= 3; m++) {
            memcpy(bad, buf, nb);
            bad[m] = 2;
            CHECK_ERR(decode_payload(&prm, bad, nb, &t, out), TP_ERR_CORRUPT);
        }
        if (strstr(cases[ci], "prune")) {
            memcpy(bad, buf, nb);
            bad[4 + 3] |= 0x80; /* a padding bit of item 0 */
            CHECK_ERR(decode_payload(&prm, bad, nb, &t, out), TP_ERR_CORRUPT);
            memcpy(bad, buf, nb);
            bad[4] ^= 1; /* one token more or less */
            CHECK_ERR(decode_payload(&prm, bad, nb, &t, out), TP_ERR_CORRUPT);
            uint32_t pos[32];
            CHECK_ERR(tp_codec_by_name("tokdct")->kept(&prm, bad, nb, &t, pos, 32), TP_ERR_CORRUPT);
        }
        free(bad);
        free(buf);
    }
    CHECK(modes_seen[0][0] && modes_seen[0][1] && modes_seen[1][0] && modes_seen[1][1]);
    /* Through a frame: every truncation is an error. */
    void *frame;
    float *y;
    size_t fn = spec_bytes("tokdct:grid=5,prune=12", &t, &y, &frame);
    CHECK_OK(fn);
    for (size_t cut = 0; cut < fn; cut++) CHECK(tp_is_error(tp_frame_decode(frame, cut, out, n * sizeof(float))));
    free(frame); free(y); free(x); free(out);
}

/* Frames of the layout before payload versions (tokdct's golden frames
 * until then, tests/data/golden/tokdct_v0_*, input of tests/test_golden.c)
 * still decode, to the values decoded then within float rounding (the
 * inverse transform now runs along H first). */
TEST(tokdct_v0_frames_decode)
{
    const char *names[] = {"golden/tokdct_v0_g12", "golden/tokdct_v0_g12_prune72", "golden/tokdct_v0_g12_step"};
    for (int i = 0; i < 3; i++) {
        char path[96];
        size_t nf = 0, nv = 0, nval = 144 * 16;
        snprintf(path, sizeof path, "%s.tpf", names[i]);
        uint8_t *frame = th_read_file(th_data_path(path), &nf);
        snprintf(path, sizeof path, "%s.f32", names[i]);
        float *want = (float *)th_read_file(th_data_path(path), &nv);
        CHECK(frame && want && nv == nval * sizeof(float));
        float *y = malloc(nval * sizeof(float));
        CHECK(tp_frame_decode(frame, nf, y, nval * sizeof(float)) == nval * sizeof(float));
        for (size_t j = 0; j < nval; j++) {
            CHECK(fabsf(y[j] - want[j]) <= 1e-5f * (1 + fabsf(want[j])));
            CHECK((y[j] == 0) == (want[j] == 0));
        }
        uint32_t pos[72];
        size_t kr = tp_frame_kept_positions(frame, nf, pos, 72);
        if (i == 1) {
            CHECK(kr == 72);
            for (size_t j = 0; j < 72; j++) {
                CHECK(j == 0 || pos[j] > pos[j - 1]);
                CHECK(energy(y + pos[j] * 16, 16) > 0);
            }
        } else CHECK_ERR(kr, TP_ERR_NOT_FOUND);
        free(frame); free(want); free(y);
    }
}

/* all-MiniLM-L6-v2 hidden states (layer 3) of data/eval_sentences.txt as
 * 12 x 12 token grids: pruning half the tokens stores under 0.6 of the
 * bytes, and each profile is at least as good as the uniform step= whose
 * bytes are closest below its own, and better than fixed band bits. */
MODEL_TEST(tokdct_minilm_hidden_states)
{
    const char *mp = th_model_path("TP_MINILM", "scripts/minilm_path.sh");
    tp_minilm *m = NULL;
    CHECK(mp && !tp_is_error(tp_minilm_load(mp, NULL, &m)));
    char **lines;
    size_t nl, T;
    CHECK_OK(tp_eval_read_lines(th_data_path("../../data/eval_sentences.txt"), &lines, &nl));
    int32_t *ids;
    uint64_t *starts;
    float *h;
    size_t nuse = nl < 80 ? nl : 80;
    CHECK_OK(tp_minilm_hidden(m, (const char *const *)lines, nuse, &ids, &starts, &T, &h));
    size_t items = T / 144, C = 384, n = items * 144 * C;
    CHECK(items >= 4);
    const float *x = h + 3 * T * C;
    tp_tensor t = {TP_F32, 3, {items, 144, C}, (void *)x};
    float *y;
    size_t b0 = spec_bytes("tokdct", &t, &y, NULL), b72;
    CHECK_OK(b0);
    free(y);
    CHECK_OK(b72 = spec_bytes("tokdct:prune=72", &t, &y, NULL));
    free(y);
    printf("    MiniLM: prune=72 stores %.3f of the bytes\n", (double)b72 / (double)b0);
    CHECK((double)b72 < 0.6 * (double)b0);
    const char *profiles[] = {"tokdct:profile=mild", "tokdct:profile=aggressive", "tokdct:profile=extreme"};
    const char *fixed[] = {"tokdct:low=8,mid=4,high=2", "tokdct:low=8,mid=4,high=0", "tokdct:low=8,mid=3,high=0"};
    for (int i = 0; i < 3; i++) {
        size_t bp = spec_bytes(profiles[i], &t, &y, NULL);
        CHECK_OK(bp);
        double cp = mean_cosine(x, y, items * 144, C, NULL);
        free(y);
        double best = -1;
        for (double st = 0.25; st <= 4.0; st *= 1.1) {
            char spec[64];
            snprintf(spec, sizeof spec, "tokdct:step=%.4f", st);
            size_t bs = spec_bytes(spec, &t, &y, NULL);
            CHECK_OK(bs);
            if (bs <= bp && best < 0) best = mean_cosine(x, y, items * 144, C, NULL);
            free(y);
        }
        size_t bf = spec_bytes(fixed[i], &t, &y, NULL);
        CHECK_OK(bf);
        double cf = mean_cosine(x, y, items * 144, C, NULL);
        free(y);
        printf("    %s: %zu bytes, cosine %.4f; step= at <= bytes %.4f; %s %zu bytes, %.4f\n", profiles[i], bp, cp, best,
               fixed[i], bf, cf);
        CHECK(best >= 0 && cp >= best);
        CHECK(bf >= bp && cf < cp);
    }
    (void)n;
    free(ids); free(starts); free(h); free(lines);
    tp_minilm_free(m);
}
