/* Model-level metrics and the MiniLM evaluation (tpress eval). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/error.h"
#include "eval/models.h"
#include "tpress_eval.h"

double tp_eval_cosine(const float *a, const float *b, size_t n)
{
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; i++) {
        sab += (double)a[i] * b[i];
        saa += (double)a[i] * a[i];
        sbb += (double)b[i] * b[i];
    }
    if (saa == 0 || sbb == 0) return 0.0;
    /* sqrt(s * s) == s exactly in IEEE arithmetic, so identical vectors
     * give exactly 1. */
    double c = sab / sqrt(saa * sbb);
    return c > 1.0 ? 1.0 : c < -1.0 ? -1.0 : c;
}

/* log sum exp of x, and the max. */
static double log_sum_exp(const float *x, size_t n)
{
    double mx = -INFINITY, s = 0;
    for (size_t i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    for (size_t i = 0; i < n; i++) s += exp((double)x[i] - mx);
    return mx + log(s);
}

double tp_eval_kl_logits(const float *p, const float *q, size_t n)
{
    if (!n) return 0.0;
    double lp = log_sum_exp(p, n), lq = log_sum_exp(q, n), kl = 0;
    for (size_t i = 0; i < n; i++) {
        double a = (double)p[i] - lp, b = (double)q[i] - lq;
        kl += exp(a) * (a - b);
    }
    return kl > 0 ? kl : 0.0; /* rounding can leave -1e-17 for equal inputs */
}

size_t tp_eval_argmax(const float *x, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

double tp_eval_nll(const float *logits, size_t n, size_t target)
{
    if (target >= n) return INFINITY;
    return log_sum_exp(logits, n) - (double)logits[target];
}

size_t tp_eval_read_lines(const char *path, char ***lines_out, size_t *n_out)
{
    if (!path || !lines_out || !n_out) return tp_fail(TP_ERR_ARG, "NULL argument");
    *lines_out = NULL;
    *n_out = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return tp_fail(TP_ERR_IO, "cannot open %s", path);
    size_t cap = 1 << 16, len = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) { free(buf); buf = NULL; }
            else buf = nb;
        }
    }
    int err = ferror(f);
    fclose(f);
    if (!buf) return tp_fail(TP_ERR_NOMEM, "%s", path);
    if (err) { free(buf); return tp_fail(TP_ERR_IO, "cannot read %s", path); }
    buf[len] = 0;
    size_t n = 0;
    for (size_t i = 0; i <= len; i++) n += (i == len || buf[i] == '\n');
    /* One block: the pointer array, then the text. */
    char **lines = malloc(n * sizeof *lines + len + 1);
    if (!lines) { free(buf); return tp_fail(TP_ERR_NOMEM, "%s", path); }
    char *text = (char *)(lines + n);
    memcpy(text, buf, len + 1);
    free(buf);
    size_t k = 0;
    for (char *p = text, *end = text + len; p <= end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        *nl = 0;
        if (nl > p && nl[-1] == '\r') nl[-1] = 0;
        const char *q = p;
        while (*q == ' ' || *q == '\t') q++;
        if (*q) lines[k++] = p;
        p = nl + 1;
    }
    if (!k) { free(lines); return tp_fail(TP_ERR_ARG, "%s has no text lines", path); }
    *lines_out = lines;
    *n_out = k;
    return 0;
}

static int file_exists(const char *p)
{
    FILE *f = fopen(p, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* vocab.txt beside path, if there is one. */
static int vocab_beside(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    int dl = slash ? (int)(slash - path) + 1 : 0;
    if (snprintf(out, cap, "%.*svocab.txt", dl, path) >= (int)cap) return 0;
    return file_exists(out);
}

/* Embeds lines with model m; *emb gets n * dim floats. */
static size_t embed_lines(const tp_minilm *m, char **lines, size_t n, float **emb, size_t *dim, double *secs,
                          uint64_t *n_tokens)
{
    *dim = tp_minilm_dim(m);
    int32_t ids[512];
    *n_tokens = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = tp_minilm_tokenize(m, lines[i], ids, sizeof ids / sizeof *ids);
        if (tp_is_error(k)) return k;
        *n_tokens += k;
    }
    *emb = malloc(n * *dim * sizeof **emb);
    if (!*emb) return tp_fail(TP_ERR_NOMEM, "embeddings");
    double t0 = tp_now_seconds();
    size_t r = tp_minilm_embed(m, (const char *const *)lines, n, *emb);
    *secs = tp_now_seconds() - t0;
    if (tp_is_error(r)) { free(*emb); *emb = NULL; }
    return r;
}

/* Loads the model from w and embeds lines. */
static size_t embed_weights(tp_weights *w, const char *vocab, char **lines, size_t n, float **emb, size_t *dim,
                            double *secs, uint64_t *n_tokens)
{
    tp_minilm *m;
    TP_TRY(tp_minilm_load_from(w, vocab, &m));
    size_t r = embed_lines(m, lines, n, emb, dim, secs, n_tokens);
    tp_minilm_free(m);
    return r;
}

/* Nearest other sentence of each sentence by dot product of the unit
 * embeddings (first index on ties). */
static void nearest(const float *e, size_t n, size_t d, size_t *nn)
{
    for (size_t i = 0; i < n; i++) {
        double best = -INFINITY;
        nn[i] = i;
        for (size_t j = 0; j < n; j++) {
            if (j == i) continue;
            double s = 0;
            for (size_t k = 0; k < d; k++) s += (double)e[i * d + k] * e[j * d + k];
            if (s > best) { best = s; nn[i] = j; }
        }
    }
}

size_t tp_eval_minilm_from(const char *ref_path, tp_weights *cand, const char *vocab, const char *text_path,
                           tp_eval_result *out)
{
    if (!ref_path || !cand || !text_path || !out) return tp_fail(TP_ERR_ARG, "NULL argument");
    memset(out, 0, sizeof *out);
    char vbuf[4096];
    if (!vocab && !(vocab = vocab_beside(ref_path, vbuf, sizeof vbuf) ? vbuf : NULL))
        return tp_fail(TP_ERR_NOT_FOUND, "no vocab.txt beside %s", ref_path);
    char **lines;
    size_t n;
    TP_TRY(tp_eval_read_lines(text_path, &lines, &n));
    float *er = NULL, *ec = NULL;
    size_t dr = 0, dc = 0, *nr = NULL, *nc = NULL;
    uint64_t tokens_c = 0;
    tp_weights *ref = NULL;
    size_t r = tp_weights_open(ref_path, &ref);
    if (!tp_is_error(r)) r = embed_weights(ref, vocab, lines, n, &er, &dr, &out->ref_seconds, &out->n_tokens);
    tp_weights_close(ref);
    if (!tp_is_error(r)) r = embed_weights(cand, vocab, lines, n, &ec, &dc, &out->cand_seconds, &tokens_c);
    if (!tp_is_error(r) && dr != dc) r = tp_fail(TP_ERR_SHAPE, "embedding widths differ (%zu vs %zu)", dr, dc);
    if (!tp_is_error(r)) {
        nr = malloc(n * sizeof *nr);
        nc = malloc(n * sizeof *nc);
        out->sentence_cosine = malloc(n * sizeof *out->sentence_cosine);
        if (!nr || !nc || !out->sentence_cosine) r = tp_fail(TP_ERR_NOMEM, "retrieval");
    }
    if (!tp_is_error(r)) {
        out->n_sentences = n;
        out->min_cosine = INFINITY;
        double sum = 0;
        for (size_t i = 0; i < n; i++) {
            double c = tp_eval_cosine(er + i * dr, ec + i * dr, dr);
            out->sentence_cosine[i] = c;
            sum += c;
            if (c < out->min_cosine) { out->min_cosine = c; out->min_index = i; }
        }
        out->mean_cosine = sum / (double)n;
        if (n > 1) {
            nearest(er, n, dr, nr);
            nearest(ec, n, dr, nc);
            size_t agree = 0;
            for (size_t i = 0; i < n; i++) agree += nr[i] == nc[i];
            out->top1_agreement = (double)agree / (double)n;
        } else {
            out->top1_agreement = 1.0;
        }
    }
    free(nr); free(nc); free(er); free(ec);
    free(lines);
    if (tp_is_error(r)) tp_eval_result_free(out);
    return tp_is_error(r) ? r : 0;
}

size_t tp_eval_minilm(const char *ref_path, const char *cand_path, const char *text_path, tp_eval_result *out)
{
    if (!ref_path || !cand_path || !text_path || !out) return tp_fail(TP_ERR_ARG, "NULL argument");
    memset(out, 0, sizeof *out);
    char vocab[4096];
    if (!vocab_beside(ref_path, vocab, sizeof vocab) && !vocab_beside(cand_path, vocab, sizeof vocab))
        return tp_fail(TP_ERR_NOT_FOUND, "no vocab.txt beside %s or %s", ref_path, cand_path);
    tp_weights *cand;
    TP_TRY(tp_weights_open(cand_path, &cand));
    size_t r = tp_eval_minilm_from(ref_path, cand, vocab, text_path, out);
    tp_weights_close(cand);
    return r;
}

void tp_eval_result_free(tp_eval_result *r)
{
    if (!r) return;
    free(r->sentence_cosine);
    r->sentence_cosine = NULL;
}
