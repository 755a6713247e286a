/* tpress dump MODEL --what hidden|embedding --text FILE -o DIR */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char help[] =
    "usage: tpress dump MODEL --what hidden|embedding --text FILE -o DIR [options]\n"
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
    "      --what KIND     hidden or embedding (required)\n"
    "      --text FILE     input text, one sentence per line (required)\n"
    "  -o, --output DIR    output directory (created if missing)\n"
    "      --vocab FILE    vocab.txt (default: beside MODEL)\n"
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

int cmd_dump(int argc, char **argv)
{
    const char *model = NULL, *what = NULL, *text = NULL, *out = NULL, *vocab = NULL, *v;
    int quiet = 0, k;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(help, stdout); return 0; }
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) quiet = 1;
        else if ((k = cli_opt(argc, argv, &i, "--what", &v))) { if (k < 0) return cli_fail("%s needs a value", a); what = v; }
        else if ((k = cli_opt(argc, argv, &i, "--text", &v))) { if (k < 0) return cli_fail("%s needs a value", a); text = v; }
        else if ((k = cli_opt(argc, argv, &i, "--vocab", &v))) { if (k < 0) return cli_fail("%s needs a value", a); vocab = v; }
        else if ((k = cli_opt(argc, argv, &i, "-o", &v)) || (k = cli_opt(argc, argv, &i, "--output", &v))) {
            if (k < 0) return cli_fail("%s needs a value", a);
            out = v;
        } else if (a[0] == '-' && a[1]) return cli_fail("dump: unknown option '%s' (see tpress dump --help)", a);
        else if (!model) model = a;
        else return cli_fail("dump: unexpected argument '%s'", a);
    }
    if (!model || !what || !text || !out) { fputs(help, stderr); return EXIT_BAD; }
    int hidden = !strcmp(what, "hidden");
    if (!hidden && strcmp(what, "embedding"))
        return cli_fail("dump: --what %s is not supported (hidden or embedding; kv and attn need a decoder model)", what);
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
