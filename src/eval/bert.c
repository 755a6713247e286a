/* all-MiniLM-L6-v2 (BERT encoder) forward pass with OpenBLAS GEMMs.
 *
 * Sentences of a batch are packed back to back without padding: the dense
 * layers see one [tokens x hidden] matrix, attention runs per sentence, so
 * no padded position is ever computed or masked. */
#include <cblas.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "eval/models.h"
#include "eval/wordpiece.h"
#include "tpress_eval.h"

#define BERT_DEFAULT_HEADS 12 /* all-MiniLM-L6-v2: 12 heads of 32 */
#define BERT_LN_EPS 1e-12f
#define BERT_MAX_HEAD_DIM 256
#define BERT_BATCH_TOKENS 4096 /* tokens per packed batch */

typedef struct {
    float *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo, *ln1_g, *ln1_b;
    float *wi, *bi, *wo2, *bo2, *ln2_g, *ln2_b;
} bert_layer;

struct tp_minilm {
    tp_wordpiece *wp;
    size_t vocab, hidden, inter, n_layers, n_pos, n_heads, head_dim, max_tokens;
    float *word, *pos, *type, *emb_g, *emb_b;
    bert_layer *layers;
};

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

static size_t load_layer(tp_weights *w, size_t l, size_t h, size_t in, bert_layer *L)
{
    char n[128];
#define P(suffix) (snprintf(n, sizeof n, "encoder.layer.%zu.%s", l, suffix), n)
    TP_TRY(load_mat(w, P("attention.self.query.weight"), h, h, &L->wq));
    TP_TRY(load_vec(w, P("attention.self.query.bias"), h, &L->bq));
    TP_TRY(load_mat(w, P("attention.self.key.weight"), h, h, &L->wk));
    TP_TRY(load_vec(w, P("attention.self.key.bias"), h, &L->bk));
    TP_TRY(load_mat(w, P("attention.self.value.weight"), h, h, &L->wv));
    TP_TRY(load_vec(w, P("attention.self.value.bias"), h, &L->bv));
    TP_TRY(load_mat(w, P("attention.output.dense.weight"), h, h, &L->wo));
    TP_TRY(load_vec(w, P("attention.output.dense.bias"), h, &L->bo));
    TP_TRY(load_vec(w, P("attention.output.LayerNorm.weight"), h, &L->ln1_g));
    TP_TRY(load_vec(w, P("attention.output.LayerNorm.bias"), h, &L->ln1_b));
    TP_TRY(load_mat(w, P("intermediate.dense.weight"), in, h, &L->wi));
    TP_TRY(load_vec(w, P("intermediate.dense.bias"), in, &L->bi));
    TP_TRY(load_mat(w, P("output.dense.weight"), h, in, &L->wo2));
    TP_TRY(load_vec(w, P("output.dense.bias"), h, &L->bo2));
    TP_TRY(load_vec(w, P("output.LayerNorm.weight"), h, &L->ln2_g));
    TP_TRY(load_vec(w, P("output.LayerNorm.bias"), h, &L->ln2_b));
#undef P
    return 0;
}

/* Some exports prefix every name with "bert." or "0.auto_model.". */
static const char *find_prefix(const tp_weights *w)
{
    static const char *const prefixes[] = {"", "bert.", "model.", "0.auto_model."};
    char n[96];
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        snprintf(n, sizeof n, "%sembeddings.word_embeddings.weight", prefixes[i]);
        if (tp_weights_has(w, n)) return prefixes[i];
    }
    return NULL;
}

static size_t load_weights(tp_minilm *m, tp_weights *w)
{
    const char *pre = find_prefix(w);
    if (!pre) return tp_fail(TP_ERR_NOT_FOUND, "not a BERT model: no embeddings.word_embeddings.weight");
    if (*pre) return tp_fail(TP_ERR_UNSUPPORTED, "tensor names prefixed with '%s' are not supported yet", pre);
    tp_tensor t;
    TP_TRY(tp_weights_desc(w, "embeddings.word_embeddings.weight", &t));
    if (t.ndim != 2) return tp_fail(TP_ERR_SHAPE, "word embeddings are not a matrix");
    m->vocab = (size_t)t.shape[0];
    m->hidden = (size_t)t.shape[1];
    if (!m->n_heads || m->hidden % m->n_heads || m->hidden / m->n_heads > BERT_MAX_HEAD_DIM)
        return tp_fail(TP_ERR_SHAPE, "hidden size %zu does not split into %zu heads", m->hidden, m->n_heads);
    m->head_dim = m->hidden / m->n_heads;
    TP_TRY(tp_weights_desc(w, "embeddings.position_embeddings.weight", &t));
    if (t.ndim != 2 || t.shape[1] != m->hidden) return tp_fail(TP_ERR_SHAPE, "position embeddings do not match");
    m->n_pos = (size_t)t.shape[0];
    TP_TRY(tp_weights_desc(w, "encoder.layer.0.intermediate.dense.weight", &t));
    if (t.ndim != 2) return tp_fail(TP_ERR_SHAPE, "intermediate weight is not a matrix");
    m->inter = (size_t)t.shape[0];
    char n[96];
    for (m->n_layers = 0;; m->n_layers++) {
        snprintf(n, sizeof n, "encoder.layer.%zu.output.dense.weight", m->n_layers);
        if (!tp_weights_has(w, n)) break;
    }
    if (!m->n_layers) return tp_fail(TP_ERR_NOT_FOUND, "no encoder layers");
    size_t h = m->hidden;
    TP_TRY(load_mat(w, "embeddings.word_embeddings.weight", m->vocab, h, &m->word));
    TP_TRY(load_mat(w, "embeddings.position_embeddings.weight", m->n_pos, h, &m->pos));
    TP_TRY(tp_weights_desc(w, "embeddings.token_type_embeddings.weight", &t));
    TP_TRY(load_mat(w, "embeddings.token_type_embeddings.weight", t.ndim == 2 ? (size_t)t.shape[0] : 0, h, &m->type));
    TP_TRY(load_vec(w, "embeddings.LayerNorm.weight", h, &m->emb_g));
    TP_TRY(load_vec(w, "embeddings.LayerNorm.bias", h, &m->emb_b));
    m->layers = calloc(m->n_layers, sizeof *m->layers);
    if (!m->layers) return tp_fail(TP_ERR_NOMEM, "layers");
    for (size_t l = 0; l < m->n_layers; l++) TP_TRY(load_layer(w, l, h, m->inter, &m->layers[l]));
    return 0;
}

/* Head count from config.json beside the vocabulary (the tensors do not
 * tell it); the default when there is none. */
static size_t read_heads(const char *vocab_path, size_t *heads)
{
    *heads = BERT_DEFAULT_HEADS;
    char path[4096];
    const char *slash = strrchr(vocab_path, '/');
    int dl = slash ? (int)(slash - vocab_path) + 1 : 0;
    if (snprintf(path, sizeof path, "%.*sconfig.json", dl, vocab_path) >= (int)sizeof path) return 0;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    cJSON *j = cJSON_Parse(buf);
    if (!j) return tp_fail(TP_ERR_CORRUPT, "%s is not JSON", path);
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "num_attention_heads");
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(j, "hidden_act");
    size_t r = 0;
    if (cJSON_IsNumber(h) && h->valuedouble >= 1 && h->valuedouble <= 1024) *heads = (size_t)h->valuedouble;
    else if (h) r = tp_fail(TP_ERR_CORRUPT, "%s: bad num_attention_heads", path);
    if (cJSON_IsString(act) && strcmp(act->valuestring, "gelu"))
        r = tp_fail(TP_ERR_UNSUPPORTED, "%s: hidden_act '%s' (only gelu)", path, act->valuestring);
    cJSON_Delete(j);
    return r;
}

size_t tp_minilm_load_from(tp_weights *w, const char *vocab_path, tp_minilm **out)
{
    if (!w || !vocab_path || !out) return tp_fail(TP_ERR_ARG, "NULL argument");
    *out = NULL;
    tp_minilm *m = calloc(1, sizeof *m);
    if (!m) return tp_fail(TP_ERR_NOMEM, "model");
    m->max_tokens = 256;
    size_t r = tp_wordpiece_load(vocab_path, &m->wp);
    if (!tp_is_error(r)) r = read_heads(vocab_path, &m->n_heads);
    if (!tp_is_error(r)) r = load_weights(m, w);
    if (!tp_is_error(r) && tp_wordpiece_vocab_size(m->wp) > m->vocab)
        r = tp_fail(TP_ERR_SHAPE, "vocabulary has %zu tokens, the model %zu", tp_wordpiece_vocab_size(m->wp), m->vocab);
    if (tp_is_error(r)) { tp_minilm_free(m); return r; }
    if (m->max_tokens > m->n_pos) m->max_tokens = m->n_pos;
    *out = m;
    return 0;
}

size_t tp_minilm_load(const char *weights_path, const char *vocab_path, tp_minilm **out)
{
    if (!weights_path || !out) return tp_fail(TP_ERR_ARG, "NULL argument");
    *out = NULL;
    char vpath[4096];
    if (!vocab_path) {
        const char *slash = strrchr(weights_path, '/');
        int dl = slash ? (int)(slash - weights_path) + 1 : 0;
        if (snprintf(vpath, sizeof vpath, "%.*svocab.txt", dl, weights_path) >= (int)sizeof vpath)
            return tp_fail(TP_ERR_ARG, "path too long");
        vocab_path = vpath;
    }
    tp_weights *w;
    TP_TRY(tp_weights_open(weights_path, &w));
    size_t r = tp_minilm_load_from(w, vocab_path, out);
    tp_weights_close(w);
    return r;
}

void tp_minilm_free(tp_minilm *m)
{
    if (!m) return;
    tp_wordpiece_free(m->wp);
    free(m->word); free(m->pos); free(m->type); free(m->emb_g); free(m->emb_b);
    for (size_t l = 0; m->layers && l < m->n_layers; l++) {
        bert_layer *L = &m->layers[l];
        float *all[] = {L->wq, L->bq, L->wk, L->bk, L->wv, L->bv, L->wo, L->bo, L->ln1_g, L->ln1_b,
                        L->wi, L->bi, L->wo2, L->bo2, L->ln2_g, L->ln2_b};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]);
    }
    free(m->layers);
    free(m);
}

size_t tp_minilm_dim(const tp_minilm *m) { return m->hidden; }
size_t tp_minilm_layers(const tp_minilm *m) { return m->n_layers; }

size_t tp_minilm_set_max_tokens(tp_minilm *m, size_t max_tokens)
{
    if (!m || max_tokens < 2 || max_tokens > m->n_pos)
        return tp_fail(TP_ERR_PARAM, "max tokens must be in 2..%zu", m ? m->n_pos : 0);
    m->max_tokens = max_tokens;
    return 0;
}

size_t tp_minilm_tokenize(const tp_minilm *m, const char *text, int32_t *ids, size_t cap)
{
    if (!m || !text || !ids) return tp_fail(TP_ERR_ARG, "NULL argument");
    int32_t *tmp = malloc(m->max_tokens * sizeof *tmp);
    if (!tmp) return tp_fail(TP_ERR_NOMEM, "tokens");
    size_t n = tp_wordpiece_encode(m->wp, text, strlen(text), tmp, m->max_tokens);
    if (!tp_is_error(n) && n > cap) n = tp_fail(TP_ERR_DST_TOO_SMALL, "%zu tokens, room for %zu", n, cap);
    if (!tp_is_error(n)) memcpy(ids, tmp, n * sizeof *ids);
    free(tmp);
    return n;
}

/* ---- forward ---- */

/* y[T x N] = x[T x K] W^T + b, W stored [N x K] (torch Linear). */
static void linear(const float *x, size_t T, size_t K, const float *W, const float *b, size_t N, float *y)
{
    for (size_t t = 0; t < T; t++) memcpy(y + t * N, b, N * sizeof *y);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)N, (int)K, 1.0f, x, (int)K, W, (int)K, 1.0f, y,
                (int)N);
}

static void layer_norm(float *x, size_t T, size_t H, const float *g, const float *b)
{
    for (size_t t = 0; t < T; t++) {
        float *r = x + t * H;
        double mean = 0, var = 0;
        for (size_t i = 0; i < H; i++) mean += r[i];
        mean /= (double)H;
        for (size_t i = 0; i < H; i++) var += (r[i] - mean) * (r[i] - mean);
        var /= (double)H;
        float inv = (float)(1.0 / sqrt(var + BERT_LN_EPS)), mu = (float)mean;
        for (size_t i = 0; i < H; i++) r[i] = (r[i] - mu) * inv * g[i] + b[i];
    }
}

typedef struct {
    float *x, *q, *k, *v, *ctx, *tmp, *ffn, *scores;
} bert_scratch;

/* Self-attention of one sentence (L tokens starting at row s0). */
static void attention(const tp_minilm *m, bert_scratch *s, size_t s0, size_t L)
{
    size_t H = m->hidden, D = m->head_dim;
    const float scale = 1.0f / sqrtf((float)D);
    for (size_t h = 0; h < m->n_heads; h++) {
        const float *q = s->q + s0 * H + h * D, *k = s->k + s0 * H + h * D, *v = s->v + s0 * H + h * D;
        float *sc = s->scores;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)L, (int)L, (int)D, scale, q, (int)H, k, (int)H, 0.0f,
                    sc, (int)L);
        for (size_t i = 0; i < L; i++) {
            float *r = sc + i * L, mx = r[0];
            for (size_t j = 1; j < L; j++) mx = r[j] > mx ? r[j] : mx;
            double sum = 0;
            for (size_t j = 0; j < L; j++) { r[j] = expf(r[j] - mx); sum += r[j]; }
            float inv = (float)(1.0 / sum);
            for (size_t j = 0; j < L; j++) r[j] *= inv;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)L, (int)D, (int)L, 1.0f, sc, (int)L, v, (int)H, 0.0f,
                    s->ctx + s0 * H + h * D, (int)H);
    }
}

/* Runs T packed tokens (n sentences, sentence i at rows starts[i]..starts[i+1])
 * through the encoder; leaves the last hidden state in s->x. If hidden is
 * given, state l goes to hidden + l * T * H. */
static void forward(const tp_minilm *m, bert_scratch *s, const int32_t *ids, const size_t *starts, size_t n,
                    float *hidden)
{
    size_t H = m->hidden, FF = m->inter, T = starts[n];
    for (size_t i = 0; i < n; i++)
        for (size_t t = starts[i]; t < starts[i + 1]; t++) {
            const float *we = m->word + (size_t)ids[t] * H, *pe = m->pos + (t - starts[i]) * H;
            float *r = s->x + t * H;
            for (size_t j = 0; j < H; j++) r[j] = we[j] + pe[j] + m->type[j];
        }
    layer_norm(s->x, T, H, m->emb_g, m->emb_b);
    if (hidden) memcpy(hidden, s->x, T * H * sizeof *hidden);
    for (size_t l = 0; l < m->n_layers; l++) {
        const bert_layer *L = &m->layers[l];
        linear(s->x, T, H, L->wq, L->bq, H, s->q);
        linear(s->x, T, H, L->wk, L->bk, H, s->k);
        linear(s->x, T, H, L->wv, L->bv, H, s->v);
        for (size_t i = 0; i < n; i++) attention(m, s, starts[i], starts[i + 1] - starts[i]);
        linear(s->ctx, T, H, L->wo, L->bo, H, s->tmp);
        for (size_t j = 0; j < T * H; j++) s->x[j] += s->tmp[j];
        layer_norm(s->x, T, H, L->ln1_g, L->ln1_b);
        linear(s->x, T, H, L->wi, L->bi, FF, s->ffn);
        for (size_t j = 0; j < T * FF; j++) {
            float a = s->ffn[j];
            s->ffn[j] = 0.5f * a * (1.0f + erff(a * 0.70710678118654752f));
        }
        linear(s->ffn, T, FF, L->wo2, L->bo2, H, s->tmp);
        for (size_t j = 0; j < T * H; j++) s->x[j] += s->tmp[j];
        layer_norm(s->x, T, H, L->ln2_g, L->ln2_b);
        if (hidden) memcpy(hidden + (l + 1) * T * H, s->x, T * H * sizeof *hidden);
    }
}

static void scratch_free(bert_scratch *s)
{
    free(s->x); free(s->q); free(s->k); free(s->v); free(s->ctx); free(s->tmp); free(s->ffn); free(s->scores);
}

static size_t scratch_alloc(const tp_minilm *m, bert_scratch *s, size_t T)
{
    size_t H = m->hidden;
    memset(s, 0, sizeof *s);
    s->x = malloc(T * H * sizeof(float));
    s->q = malloc(T * H * sizeof(float));
    s->k = malloc(T * H * sizeof(float));
    s->v = malloc(T * H * sizeof(float));
    s->ctx = malloc(T * H * sizeof(float));
    s->tmp = malloc(T * H * sizeof(float));
    s->ffn = malloc(T * m->inter * sizeof(float));
    s->scores = malloc(m->max_tokens * m->max_tokens * sizeof(float));
    if (!s->x || !s->q || !s->k || !s->v || !s->ctx || !s->tmp || !s->ffn || !s->scores) {
        scratch_free(s);
        return tp_fail(TP_ERR_NOMEM, "forward buffers for %zu tokens", T);
    }
    return 0;
}

/* Tokenizes all texts: ids back to back, starts[n + 1]. */
static size_t tokenize_all(const tp_minilm *m, const char *const *texts, size_t n, int32_t **ids_out, size_t **starts_out)
{
    size_t cap = 1024, T = 0;
    int32_t *ids = malloc(cap * sizeof *ids);
    size_t *starts = malloc((n + 1) * sizeof *starts);
    if (!ids || !starts) { free(ids); free(starts); return tp_fail(TP_ERR_NOMEM, "tokens"); }
    for (size_t i = 0; i < n; i++) {
        starts[i] = T;
        if (T + m->max_tokens > cap) {
            while (T + m->max_tokens > cap) cap *= 2;
            int32_t *ni = realloc(ids, cap * sizeof *ids);
            if (!ni) { free(ids); free(starts); return tp_fail(TP_ERR_NOMEM, "tokens"); }
            ids = ni;
        }
        if (!texts[i]) { free(ids); free(starts); return tp_fail(TP_ERR_ARG, "text %zu is NULL", i); }
        size_t k = tp_wordpiece_encode(m->wp, texts[i], strlen(texts[i]), ids + T, m->max_tokens);
        if (tp_is_error(k)) { free(ids); free(starts); return k; }
        T += k;
    }
    starts[n] = T;
    *ids_out = ids;
    *starts_out = starts;
    return 0;
}

/* Calls fn for consecutive groups of sentences of at most BERT_BATCH_TOKENS
 * tokens (a longer sentence goes alone). */
static size_t batches(const size_t *starts, size_t n, size_t *first, size_t *count)
{
    size_t i = *first + *count, j = i + 1;
    if (i >= n) return 0;
    while (j < n && starts[j + 1] - starts[i] <= BERT_BATCH_TOKENS) j++;
    *first = i;
    *count = j - i;
    return 1;
}

size_t tp_minilm_embed(const tp_minilm *m, const char *const *texts, size_t n, float *out)
{
    if (!m || (n && (!texts || !out))) return tp_fail(TP_ERR_ARG, "NULL argument");
    if (!n) return 0;
    int32_t *ids;
    size_t *starts;
    TP_TRY(tokenize_all(m, texts, n, &ids, &starts));
    size_t H = m->hidden, maxT = BERT_BATCH_TOKENS > m->max_tokens ? BERT_BATCH_TOKENS : m->max_tokens;
    bert_scratch s;
    size_t r = scratch_alloc(m, &s, maxT);
    if (tp_is_error(r)) { free(ids); free(starts); return r; }
    size_t first = 0, count = 0, local[BERT_BATCH_TOKENS + 1];
    while (batches(starts, n, &first, &count)) {
        for (size_t i = 0; i <= count; i++) local[i] = starts[first + i] - starts[first];
        forward(m, &s, ids + starts[first], local, count, NULL);
        for (size_t i = 0; i < count; i++) {
            float *e = out + (first + i) * H;
            size_t L = local[i + 1] - local[i];
            for (size_t j = 0; j < H; j++) {
                double acc = 0;
                for (size_t t = local[i]; t < local[i + 1]; t++) acc += s.x[t * H + j];
                e[j] = (float)(acc / (double)L);
            }
            double nn = 0;
            for (size_t j = 0; j < H; j++) nn += (double)e[j] * e[j];
            double inv = 1.0 / fmax(sqrt(nn), 1e-12);
            for (size_t j = 0; j < H; j++) e[j] = (float)(e[j] * inv);
        }
    }
    scratch_free(&s);
    free(ids);
    free(starts);
    return 0;
}

size_t tp_minilm_hidden(const tp_minilm *m, const char *const *texts, size_t n, int32_t **ids_out, uint64_t **starts_out,
                        size_t *n_tokens, float **hidden_out)
{
    if (!m || !ids_out || !starts_out || !n_tokens || !hidden_out || (n && !texts))
        return tp_fail(TP_ERR_ARG, "NULL argument");
    *ids_out = NULL; *starts_out = NULL; *hidden_out = NULL; *n_tokens = 0;
    int32_t *ids;
    size_t *starts;
    TP_TRY(tokenize_all(m, texts, n, &ids, &starts));
    size_t H = m->hidden, T = starts[n], S = m->n_layers + 1;
    float *hidden = malloc((T ? T : 1) * H * S * sizeof *hidden);
    float *one = malloc(((size_t)BERT_BATCH_TOKENS > m->max_tokens ? BERT_BATCH_TOKENS : m->max_tokens) * H * S * sizeof *one);
    uint64_t *st = malloc((n + 1) * sizeof *st);
    bert_scratch s;
    size_t r = hidden && one && st ? scratch_alloc(m, &s, BERT_BATCH_TOKENS > m->max_tokens ? BERT_BATCH_TOKENS : m->max_tokens)
                                   : tp_fail(TP_ERR_NOMEM, "hidden states");
    if (tp_is_error(r)) { free(hidden); free(one); free(st); free(ids); free(starts); return r; }
    size_t first = 0, count = 0, local[BERT_BATCH_TOKENS + 1];
    while (batches(starts, n, &first, &count)) {
        size_t t0 = starts[first], bt = starts[first + count] - t0;
        for (size_t i = 0; i <= count; i++) local[i] = starts[first + i] - t0;
        forward(m, &s, ids + t0, local, count, one);
        for (size_t l = 0; l < S; l++) memcpy(hidden + (l * T + t0) * H, one + l * bt * H, bt * H * sizeof *hidden);
    }
    for (size_t i = 0; i <= n; i++) st[i] = starts[i];
    scratch_free(&s);
    free(one);
    free(starts);
    *ids_out = ids;
    *starts_out = st;
    *n_tokens = T;
    *hidden_out = hidden;
    return 0;
}
