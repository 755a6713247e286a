/* Llama-architecture decoder (SmolLM2) forward pass with a KV cache and
 * OpenBLAS GEMMs: RMSNorm, rotary embeddings on adjacent pairs (GGUF files
 * store q/k rows permuted for this form), grouped-query attention, SwiGLU,
 * tied embeddings when there is no output.weight.
 *
 * Hyperparameters and the tokenizer come from a GGUF; the weights from the
 * same GGUF (dequantized to f32) or from any file tp_weights reads, named as
 * in the GGUF (a .safetensors written by `tpress dump --what weights`, or a
 * .tpz compressed from it), so a compressed candidate runs as stored. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "eval/bpe.h"
#include "format/gguf.h"
#include "eval/models.h"
#include "tpress_eval.h"

#define LLAMA_DEFAULT_CTX 2048

typedef struct {
    float *attn_norm, *wq, *wk, *wv, *wo, *ffn_norm, *wg, *wu, *wd;
} llama_layer;

struct tp_llama {
    tp_bpe *bpe;
    size_t n_vocab, dim, n_ff, n_layers, n_head, n_kv_head, head_dim, kv_dim, n_ctx, pos;
    float rope_base, eps;
    float *embd, *out_norm, *output; /* output == embd when tied */
    llama_layer *layers;
    float *kcache, *vcache; /* per layer n_ctx x kv_dim, after RoPE (k) */
    tp_llama_attention_fn attend; /* NULL: the built-in attention        */
    void *attend_ctx;
};

static size_t arch_u32(const tp_gguf *g, const char *key, uint32_t *v)
{
    char k[128];
    snprintf(k, sizeof k, "llama.%s", key);
    return tp_gguf_get_u32(g, k, v);
}

static size_t read_hparams(const tp_gguf *g, tp_llama *m)
{
    const char *s;
    size_t len;
    TP_TRY(tp_gguf_get_str(g, "general.architecture", &s, &len));
    if (len != 5 || memcmp(s, "llama", 5))
        return tp_fail(TP_ERR_UNSUPPORTED, "architecture '%.*s' (only llama)", (int)(len > 64 ? 64 : len), s);
    uint32_t nl, d, ff, nh, nkv, rd;
    TP_TRY(arch_u32(g, "block_count", &nl));
    TP_TRY(arch_u32(g, "embedding_length", &d));
    TP_TRY(arch_u32(g, "feed_forward_length", &ff));
    TP_TRY(arch_u32(g, "attention.head_count", &nh));
    if (tp_is_error(arch_u32(g, "attention.head_count_kv", &nkv))) nkv = nh;
    if (!nl || !d || !ff || !nh || !nkv || d % nh || nh % nkv || (d / nh) % 2)
        return tp_fail(TP_ERR_CORRUPT, "llama hyperparameters do not fit together");
    if (!tp_is_error(arch_u32(g, "rope.dimension_count", &rd)) && rd != d / nh)
        return tp_fail(TP_ERR_UNSUPPORTED, "partial rotary embeddings (%u of %u)", rd, d / nh);
    m->n_layers = nl; m->dim = d; m->n_ff = ff; m->n_head = nh; m->n_kv_head = nkv;
    m->head_dim = d / nh;
    m->kv_dim = m->head_dim * nkv;
    m->rope_base = 10000.0f;
    m->eps = 1e-5f;
    tp_gguf_get_f32(g, "llama.rope.freq_base", &m->rope_base);
    tp_gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &m->eps);
    if (!(m->rope_base > 0) || !(m->eps > 0)) return tp_fail(TP_ERR_CORRUPT, "rope base or epsilon not positive");
    return 0;
}

static size_t load_vec(tp_weights *w, const char *name, size_t n, float **out)
{
    uint64_t shape[1] = {n};
    return tp_weights_f32(w, name, 1, shape, out);
}

static size_t load_mat(tp_weights *w, const char *name, size_t rows, size_t cols, float **out)
{
    uint64_t shape[2] = {rows, cols};
    return tp_weights_f32(w, name, 2, shape, out);
}

static size_t load_weights(tp_weights *w, tp_llama *m)
{
    tp_tensor t;
    TP_TRY(tp_weights_desc(w, "token_embd.weight", &t));
    if (t.ndim != 2 || t.shape[1] != m->dim || !t.shape[0]) return tp_fail(TP_ERR_SHAPE, "token_embd.weight is not [vocab, %zu]", m->dim);
    m->n_vocab = (size_t)t.shape[0];
    TP_TRY(load_mat(w, "token_embd.weight", m->n_vocab, m->dim, &m->embd));
    TP_TRY(load_vec(w, "output_norm.weight", m->dim, &m->out_norm));
    if (tp_weights_has(w, "output.weight")) TP_TRY(load_mat(w, "output.weight", m->n_vocab, m->dim, &m->output));
    else m->output = m->embd;
    m->layers = calloc(m->n_layers, sizeof *m->layers);
    if (!m->layers) return tp_fail(TP_ERR_NOMEM, "layers");
    size_t d = m->dim, kv = m->kv_dim, ff = m->n_ff;
    char n[96];
    for (size_t l = 0; l < m->n_layers; l++) {
        llama_layer *L = &m->layers[l];
#define P(s) (snprintf(n, sizeof n, "blk.%zu.%s.weight", l, s), n)
        TP_TRY(load_vec(w, P("attn_norm"), d, &L->attn_norm));
        TP_TRY(load_mat(w, P("attn_q"), d, d, &L->wq));
        TP_TRY(load_mat(w, P("attn_k"), kv, d, &L->wk));
        TP_TRY(load_mat(w, P("attn_v"), kv, d, &L->wv));
        TP_TRY(load_mat(w, P("attn_output"), d, d, &L->wo));
        TP_TRY(load_vec(w, P("ffn_norm"), d, &L->ffn_norm));
        TP_TRY(load_mat(w, P("ffn_gate"), ff, d, &L->wg));
        TP_TRY(load_mat(w, P("ffn_up"), ff, d, &L->wu));
        TP_TRY(load_mat(w, P("ffn_down"), d, ff, &L->wd));
#undef P
    }
    return 0;
}

void tp_llama_free(tp_llama *m)
{
    if (!m) return;
    if (m->layers)
        for (size_t l = 0; l < m->n_layers; l++) {
            llama_layer *L = &m->layers[l];
            free(L->attn_norm); free(L->wq); free(L->wk); free(L->wv); free(L->wo);
            free(L->ffn_norm); free(L->wg); free(L->wu); free(L->wd);
        }
    free(m->layers);
    if (m->output != m->embd) free(m->output);
    free(m->embd);
    free(m->out_norm);
    free(m->kcache);
    free(m->vcache);
    tp_bpe_free(m->bpe);
    free(m);
}

size_t tp_llama_set_context(tp_llama *m, size_t n_ctx)
{
    if (!m || n_ctx < 1 || n_ctx > (1u << 20)) return tp_fail(TP_ERR_PARAM, "context of %zu tokens (1..2^20)", n_ctx);
    size_t n = m->n_layers * n_ctx * m->kv_dim;
    float *k = malloc(n * sizeof *k), *v = malloc(n * sizeof *v);
    if (!k || !v) { free(k); free(v); return tp_fail(TP_ERR_NOMEM, "KV cache of %zu tokens", n_ctx); }
    free(m->kcache);
    free(m->vcache);
    m->kcache = k;
    m->vcache = v;
    m->n_ctx = n_ctx;
    m->pos = 0;
    return 0;
}

size_t tp_llama_load_from(tp_weights *w, const char *gguf_path, tp_llama **out)
{
    if (!w || !out) return tp_fail(TP_ERR_ARG, "NULL argument");
    *out = NULL;
    tp_llama *m = calloc(1, sizeof *m);
    if (!m) return tp_fail(TP_ERR_NOMEM, "llama");
    tp_gguf *g = NULL;
    const tp_gguf *cfg = NULL;
    size_t r = 0;
    if (gguf_path) {
        r = tp_gguf_open(gguf_path, &g);
        cfg = g;
    } else if (!(cfg = tp_weights_gguf(w))) {
        r = tp_fail(TP_ERR_ARG, "the weights are not a GGUF: name the GGUF that holds the hyperparameters and tokenizer");
    }
    if (!tp_is_error(r)) r = read_hparams(cfg, m);
    if (!tp_is_error(r)) r = tp_bpe_load(cfg, &m->bpe);
    if (!tp_is_error(r)) r = load_weights(w, m);
    if (!tp_is_error(r) && tp_bpe_vocab_size(m->bpe) > m->n_vocab)
        r = tp_fail(TP_ERR_SHAPE, "tokenizer has %zu tokens, embeddings %zu", tp_bpe_vocab_size(m->bpe), m->n_vocab);
    if (!tp_is_error(r)) r = tp_llama_set_context(m, LLAMA_DEFAULT_CTX);
    tp_gguf_close(g);
    if (tp_is_error(r)) { tp_llama_free(m); return r; }
    *out = m;
    return 0;
}

size_t tp_llama_load(const char *weights_path, const char *gguf_path, tp_llama **out)
{
    if (!weights_path || !out) return tp_fail(TP_ERR_ARG, "NULL argument");
    *out = NULL;
    tp_weights *w;
    TP_TRY(tp_weights_open(weights_path, &w));
    size_t r = !gguf_path && !tp_weights_gguf(w)
                   ? tp_fail(TP_ERR_ARG, "%s is not a GGUF: name the GGUF that holds the hyperparameters and tokenizer", weights_path)
                   : tp_llama_load_from(w, gguf_path, out);
    tp_weights_close(w);
    return r;
}

size_t tp_llama_dim(const tp_llama *m) { return m->dim; }
size_t tp_llama_layers(const tp_llama *m) { return m->n_layers; }
size_t tp_llama_vocab(const tp_llama *m) { return m->n_vocab; }
size_t tp_llama_kv_dim(const tp_llama *m) { return m->kv_dim; }
size_t tp_llama_kv_heads(const tp_llama *m) { return m->n_kv_head; }
size_t tp_llama_position(const tp_llama *m) { return m->pos; }
void tp_llama_reset(tp_llama *m) { m->pos = 0; }

size_t tp_llama_tokenize(const tp_llama *m, const char *text, size_t len, int32_t **ids, size_t *n)
{
    return tp_bpe_encode(m->bpe, text, len, ids, n);
}

size_t tp_llama_detokenize(const tp_llama *m, const int32_t *ids, size_t n, char *out, size_t cap)
{
    return tp_bpe_decode(m->bpe, ids, n, out, cap);
}

void tp_llama_set_attention(tp_llama *m, tp_llama_attention_fn fn, void *ctx)
{
    if (!m) return;
    m->attend = fn;
    m->attend_ctx = fn ? ctx : NULL;
}

size_t tp_llama_heads(const tp_llama *m) { return m->n_head; }

size_t tp_llama_kv(const tp_llama *m, size_t layer, const float **k, const float **v)
{
    if (layer >= m->n_layers) return tp_fail(TP_ERR_PARAM, "layer %zu of %zu", layer, m->n_layers);
    *k = m->kcache + layer * m->n_ctx * m->kv_dim;
    *v = m->vcache + layer * m->n_ctx * m->kv_dim;
    return 0;
}

/* y[n x out] = x[n x in] W^T, W row-major [out x in]. */
static void matmul(const float *x, const float *W, float *y, size_t n, size_t in, size_t out)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)out, (int)in, 1.0f, x, (int)in, W, (int)in, 0.0f, y,
                (int)out);
}

static void rmsnorm(const float *x, const float *w, float *y, size_t n, size_t d, float eps)
{
    for (size_t i = 0; i < n; i++, x += d, y += d) {
        double s = 0;
        for (size_t j = 0; j < d; j++) s += (double)x[j] * x[j];
        float scale = (float)(1.0 / sqrt(s / (double)d + eps));
        for (size_t j = 0; j < d; j++) y[j] = x[j] * scale * w[j];
    }
}

/* Rotates pairs (x[2i], x[2i+1]) of every head by pos * base^(-2i/hd). */
static void rope(float *x, size_t n, size_t heads, size_t hd, size_t pos0, float base)
{
    for (size_t t = 0; t < n; t++)
        for (size_t i = 0; i < hd / 2; i++) {
            double theta = (double)(pos0 + t) * pow((double)base, -2.0 * (double)i / (double)hd);
            float c = (float)cos(theta), s = (float)sin(theta);
            for (size_t h = 0; h < heads; h++) {
                float *p = x + (t * heads + h) * hd + 2 * i;
                float a = p[0], b = p[1];
                p[0] = a * c - b * s;
                p[1] = a * s + b * c;
            }
        }
}

size_t tp_llama_forward(tp_llama *m, const int32_t *ids, size_t n, float *logits, float *hidden)
{
    if (!m || (!ids && n)) return tp_fail(TP_ERR_ARG, "NULL argument");
    if (!n) return 0;
    if (n > m->n_ctx - m->pos) return tp_fail(TP_ERR_PARAM, "%zu tokens past the context of %zu (at %zu)", n, m->n_ctx, m->pos);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || (size_t)ids[i] >= m->n_vocab) return tp_fail(TP_ERR_PARAM, "token id %d outside the vocabulary", ids[i]);
    size_t d = m->dim, kv = m->kv_dim, ff = m->n_ff, hd = m->head_dim, p0 = m->pos, T = p0 + n;
    size_t group = m->n_head / m->n_kv_head;
    float *x = malloc(n * d * sizeof *x), *h = malloc(n * d * sizeof *h), *q = malloc(n * d * sizeof *q);
    float *att = malloc(n * d * sizeof *att), *g = malloc(n * ff * sizeof *g), *u = malloc(n * ff * sizeof *u);
    float *sc = malloc(n * T * sizeof *sc);
    if (!x || !h || !q || !att || !g || !u || !sc) {
        free(x); free(h); free(q); free(att); free(g); free(u); free(sc);
        return tp_fail(TP_ERR_NOMEM, "activations of %zu tokens", n);
    }
    for (size_t i = 0; i < n; i++) memcpy(x + i * d, m->embd + (size_t)ids[i] * d, d * sizeof *x);
    if (hidden) memcpy(hidden, x, n * d * sizeof *x);
    const float scale = 1.0f / sqrtf((float)hd);
    for (size_t l = 0; l < m->n_layers; l++) {
        const llama_layer *L = &m->layers[l];
        float *K = m->kcache + l * m->n_ctx * kv, *V = m->vcache + l * m->n_ctx * kv;
        rmsnorm(x, L->attn_norm, h, n, d, m->eps);
        matmul(h, L->wq, q, n, d, d);
        matmul(h, L->wk, K + p0 * kv, n, d, kv);
        matmul(h, L->wv, V + p0 * kv, n, d, kv);
        rope(q, n, m->n_head, hd, p0, m->rope_base);
        rope(K + p0 * kv, n, m->n_kv_head, hd, p0, m->rope_base);
        size_t r = m->attend ? m->attend(m->attend_ctx, l, K + p0 * kv, V + p0 * kv, q, n, att) : 0;
        if (tp_is_error(r)) {
            free(x); free(h); free(q); free(att); free(g); free(u); free(sc);
            return r;
        }
        for (size_t hh = 0; hh < m->n_head && !m->attend; hh++) {
            size_t kh = hh / group;
            /* sc[n x T] = Q_h K_h^T * scale; causal: query i sees 0..p0+i. */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)T, (int)hd, scale, q + hh * hd, (int)d,
                        K + kh * hd, (int)kv, 0.0f, sc, (int)T);
            for (size_t i = 0; i < n; i++) {
                float *row = sc + i * T;
                size_t vis = p0 + i + 1;
                float mx = row[0];
                for (size_t j = 1; j < vis; j++) mx = row[j] > mx ? row[j] : mx;
                double sum = 0;
                for (size_t j = 0; j < vis; j++) { row[j] = expf(row[j] - mx); sum += row[j]; }
                float inv = (float)(1.0 / sum);
                for (size_t j = 0; j < vis; j++) row[j] *= inv;
                for (size_t j = vis; j < T; j++) row[j] = 0.0f;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)hd, (int)T, 1.0f, sc, (int)T, V + kh * hd,
                        (int)kv, 0.0f, att + hh * hd, (int)d);
        }
        matmul(att, L->wo, h, n, d, d);
        for (size_t i = 0; i < n * d; i++) x[i] += h[i];
        rmsnorm(x, L->ffn_norm, h, n, d, m->eps);
        matmul(h, L->wg, g, n, d, ff);
        matmul(h, L->wu, u, n, d, ff);
        for (size_t i = 0; i < n * ff; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
        matmul(g, L->wd, h, n, ff, d);
        for (size_t i = 0; i < n * d; i++) x[i] += h[i];
        if (hidden) memcpy(hidden + (l + 1) * n * d, x, n * d * sizeof *x);
    }
    if (logits) {
        rmsnorm(x, m->out_norm, h, n, d, m->eps);
        matmul(h, m->output, logits, n, d, m->n_vocab);
    }
    m->pos = T;
    free(x); free(h); free(q); free(att); free(g); free(u); free(sc);
    return 0;
}
