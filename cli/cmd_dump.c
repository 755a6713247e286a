/* tpress dump MODEL --what hidden|embedding|kv|logits|tokens|weights ... */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "tpress_eval.h"

static const char help[] =
    "usage: tpress dump MODEL --what hidden|embedding --text FILE -o DIR [options]\n"
    "       tpress dump MODEL.gguf --what hidden|kv|logits|tokens --text FILE -o DIR [options]\n"
    "       tpress dump MODEL.gguf --what weights -o OUT.safetensors\n"
    "\n"
    "A GGUF MODEL (Llama architecture, e.g. SmolLM2; or its weights as\n"
    "safetensors/.tpz with --gguf naming the GGUF) reads the whole FILE as one\n"
    "text (at most --max-tokens tokens, default 2048) and writes\n"
    "  tokens.npy        i32 [T]\n"
    "  --what hidden:    hidden_00.npy .. hidden_LL.npy, f32 [T, dim] (00 = the\n"
    "                    embeddings, LL = the residual stream after layer LL)\n"
    "  --what kv:        k_LL.npy, v_LL.npy per layer, f32 [T, kv_heads,\n"
    "                    head_dim]: the KV cache (keys after RoPE)\n"
    "  --what logits:    logits.npy, f32 [T, vocab]\n"
    "  --what tokens:    tokens.npy only (no forward pass)\n"
    "  --what weights:   every tensor dequantized to f32, as one .safetensors\n"
    "                    (GGUF names, row-major shapes) for `tpress compress`\n"
    "\n"
    "Runs MiniLM (MODEL: .safetensors or .tpz; vocab.txt beside it or --vocab)\n"
    "on every non-blank line of FILE and writes real activations as .npy:\n"
    "  tokens.npy        i32 [T]      token ids of all lines, back to back\n"
    "  starts.npy        i64 [n+1]    where line i starts in tokens\n"
    "  --what hidden:    hidden_00.npy .. hidden_LL.npy, f32 [T, 384]: the\n"
    "                    embedding layer's output (00) and each layer's output\n"
    "  --what embedding: embeddings.npy, f32 [n, 384], the sentence embeddings\n"
    "\n"
    "options:\n"
    "      --what KIND     MiniLM: hidden or embedding; decoder: hidden, kv,\n"
    "                      logits, tokens or weights (required)\n"
    "      --text FILE     input text, one sentence per line (required)\n"
    "  -o, --output DIR    output directory (created if missing)\n"
    "      --vocab FILE    vocab.txt (default: beside MODEL)\n"
    "      --gguf FILE     decoder: hyperparameters and tokenizer (default: MODEL)\n"
    "      --max-tokens N  decoder: tokens of the text to run (default 2048)\n"
    "  -q, --quiet         print only errors\n"
    "  -h, --help          this help\n";

static int write_npy(const char *dir, const char *name, tp_dtype dt, uint32_t ndim, const uint64_t *shape,
                     const void *data)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    tp_tensor d = {.dtype = dt, .ndim = ndim};
    memcpy(d.shape, shape, ndim * sizeof *shape);
    tp_tensor_writer *w;
    size_t r = tp_tensor_writer_open(path, NULL, &d, 1, &w);
    if (tp_is_error(r)) return cli_fail_result(path, r);
    r = tp_tensor_writer_put(w, 0, data, tp_tensor_nbytes(&d));
    if (tp_is_error(r)) { tp_tensor_writer_abort(w); return cli_fail_result(path, r); }
    r = tp_tensor_writer_finish(w);
    return tp_is_error(r) ? cli_fail_result(path, r) : 0;
}

static int read_text(const char *path, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return cli_fail("cannot open %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0, got;
    char *b = malloc(cap);
    while (b && (got = fread(b + n, 1, cap - n, f)) > 0)
        if ((n += got) == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) free(b);
            b = nb;
        }
    fclose(f);
    if (!b) return cli_fail("out of memory");
    *buf = b;
    *len = n;
    return 0;
}

/* Decoder: runs the text once and writes tokens + hidden states or KV. */
static int dump_llama(const char *model, const char *gguf, const char *what, const char *text, const char *out,
                      size_t max_tokens, int quiet)
{
    int kv = !strcmp(what, "kv"), lg = !strcmp(what, "logits"), tok = !strcmp(what, "tokens");
    if (!kv && !lg && !tok && strcmp(what, "hidden"))
        return cli_fail("dump: --what %s is not supported for a decoder (hidden, kv, logits, tokens or weights)", what);
    char *buf = NULL;
    size_t len = 0;
    if (read_text(text, &buf, &len)) return EXIT_BAD;
    tp_llama *m;
    size_t r = tp_llama_load(model, gguf, &m);
    if (tp_is_error(r)) { free(buf); return cli_fail_result(model, r); }
    int32_t *ids = NULL;
    size_t T = 0;
    float *hid = NULL, *logits = NULL;
    int rc = 0;
    r = tp_llama_tokenize(m, buf, len, &ids, &T);
    if (tp_is_error(r)) rc = cli_fail_result(text, r);
    if (!rc && T > max_tokens) T = max_tokens;
    if (!rc && !T) rc = cli_fail("%s has no tokens", text);
    if (!rc && !tok && tp_is_error(r = tp_llama_set_context(m, T))) rc = cli_fail_result("context", r);
    size_t D = tp_llama_dim(m), S = tok ? 0 : tp_llama_layers(m) + 1;
    size_t NV = tp_llama_vocab(m);
    if (!rc && !kv && !lg && !tok && !(hid = malloc(S * T * D * sizeof *hid))) rc = cli_fail("out of memory");
    if (!rc && lg && !(logits = malloc(T * NV * sizeof *logits))) rc = cli_fail("out of memory");
    if (!rc && !tok && tp_is_error(r = tp_llama_forward(m, ids, T, logits, hid))) rc = cli_fail_result(model, r);
    if (!rc && mkdir(out, 0777) && errno != EEXIST) rc = cli_fail("cannot create %s: %s", out, strerror(errno));
    if (!rc) {
        uint64_t st[1] = {T};
        rc = write_npy(out, "tokens.npy", TP_I32, 1, st, ids);
    }
    if (!rc && lg) {
        uint64_t sh[2] = {T, NV};
        rc = write_npy(out, "logits.npy", TP_F32, 2, sh, logits);
        S = 0;
    }
    for (size_t l = 0; !rc && l < S; l++) {
        char name[32];
        if (!kv) {
            uint64_t sh[2] = {T, D};
            snprintf(name, sizeof name, "hidden_%02zu.npy", l);
            rc = write_npy(out, name, TP_F32, 2, sh, hid + l * T * D);
            continue;
        }
        if (l + 1 == S) break;
        const float *K, *V;
        tp_llama_kv(m, l, &K, &V);
        uint64_t sh[3] = {T, tp_llama_kv_heads(m), tp_llama_kv_dim(m) / tp_llama_kv_heads(m)};
        snprintf(name, sizeof name, "k_%02zu.npy", l);
        rc = write_npy(out, name, TP_F32, 3, sh, K);
        snprintf(name, sizeof name, "v_%02zu.npy", l);
        if (!rc) rc = write_npy(out, name, TP_F32, 3, sh, V);
    }
    if (!rc && !quiet)
        printf("wrote %s of %zu tokens to %s\n", tok ? "the ids" : kv ? "the KV cache" : lg ? "logits" : "hidden states", T, out);
    free(logits);
    free(hid); free(ids); free(buf);
    tp_llama_free(m);
    return rc;
}

int cmd_dump(int argc, char **argv)
{
    const char *model = NULL, *what = NULL, *text = NULL, *out = NULL, *vocab = NULL, *gguf = NULL, *v;
    int quiet = 0, k;
    size_t max_tokens = 2048;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(help, stdout); return 0; }
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) quiet = 1;
        else if ((k = cli_opt(argc, argv, &i, "--what", &v))) { if (k < 0) return cli_fail("%s needs a value", a); what = v; }
        else if ((k = cli_opt(argc, argv, &i, "--text", &v))) { if (k < 0) return cli_fail("%s needs a value", a); text = v; }
        else if ((k = cli_opt(argc, argv, &i, "--vocab", &v))) { if (k < 0) return cli_fail("%s needs a value", a); vocab = v; }
        else if ((k = cli_opt(argc, argv, &i, "--gguf", &v))) { if (k < 0) return cli_fail("%s needs a value", a); gguf = v; }
        else if ((k = cli_opt(argc, argv, &i, "--max-tokens", &v))) {
            char *end;
            if (k < 0) return cli_fail("%s needs a value", a);
            unsigned long long x = strtoull(v, &end, 10);
            if (*end || !*v || !x || x > (1u << 20)) return cli_fail("%s needs a number of tokens (1..1048576)", a);
            max_tokens = (size_t)x;
        }
        else if ((k = cli_opt(argc, argv, &i, "-o", &v)) || (k = cli_opt(argc, argv, &i, "--output", &v))) {
            if (k < 0) return cli_fail("%s needs a value", a);
            out = v;
        } else if (a[0] == '-' && a[1]) return cli_fail("dump: unknown option '%s' (see tpress dump --help)", a);
        else if (!model) model = a;
        else return cli_fail("dump: unexpected argument '%s'", a);
    }
    if (what && !strcmp(what, "weights")) {
        if (!model || !out) { fputs(help, stderr); return EXIT_BAD; }
        uint64_t nv = 0;
        size_t r = tp_weights_export_f32(model, out, &nv);
        if (tp_is_error(r)) return cli_fail_result(model, r);
        if (!quiet) printf("wrote %llu f32 values of %s to %s\n", (unsigned long long)nv, model, out);
        return 0;
    }
    if (!model || !what || !text || !out) { fputs(help, stderr); return EXIT_BAD; }
    if (gguf || cli_is_gguf(model)) return dump_llama(model, gguf, what, text, out, max_tokens, quiet);
    int hidden = !strcmp(what, "hidden");
    if (!hidden && strcmp(what, "embedding"))
        return cli_fail("dump: --what %s is not supported (hidden or embedding for MiniLM; kv needs a decoder GGUF)", what);
    if (mkdir(out, 0777) && errno != EEXIST) return cli_fail("cannot create %s: %s", out, strerror(errno));

    char **lines;
    size_t n;
    size_t r = tp_eval_read_lines(text, &lines, &n);
    if (tp_is_error(r)) return cli_fail_result(text, r);
    tp_minilm *m;
    r = tp_minilm_load(model, vocab, &m);
    if (tp_is_error(r)) { free(lines); return cli_fail_result(model, r); }
    int32_t *ids = NULL;
    uint64_t *starts = NULL;
    size_t T = 0, H = tp_minilm_dim(m), S = tp_minilm_layers(m) + 1;
    float *hid = NULL, *emb = NULL;
    int rc = 0;
    r = tp_minilm_hidden(m, (const char *const *)lines, n, &ids, &starts, &T, &hid);
    if (tp_is_error(r)) rc = cli_fail_result(model, r);
    if (!rc) {
        uint64_t st[1] = {T}, ss[1] = {n + 1};
        rc = write_npy(out, "tokens.npy", TP_I32, 1, st, ids);
        if (!rc) rc = write_npy(out, "starts.npy", TP_I64, 1, ss, starts);
    }
    if (!rc && hidden) {
        for (size_t l = 0; l < S && !rc; l++) {
            char name[32];
            snprintf(name, sizeof name, "hidden_%02zu.npy", l);
            uint64_t sh[2] = {T, H};
            rc = write_npy(out, name, TP_F32, 2, sh, hid + l * T * H);
        }
    } else if (!rc) {
        emb = malloc(n * H * sizeof *emb);
        if (!emb) rc = cli_fail("out of memory");
        if (!rc) { r = tp_minilm_embed(m, (const char *const *)lines, n, emb); if (tp_is_error(r)) rc = cli_fail_result(model, r); }
        uint64_t sh[2] = {n, H};
        if (!rc) rc = write_npy(out, "embeddings.npy", TP_F32, 2, sh, emb);
    }
    if (!rc && !quiet)
        printf("wrote %s of %zu lines (%zu tokens) to %s\n", hidden ? "hidden states" : "embeddings", n, T, out);
    free(emb); free(hid); free(ids); free(starts); free(lines);
    tp_minilm_free(m);
    return rc;
}
