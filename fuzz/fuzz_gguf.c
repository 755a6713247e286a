/* libFuzzer target: GGUF parsing (tp_gguf_parse on the input bytes), every
 * metadata value read back, every tensor dequantized, and the BPE tokenizer
 * built from the metadata when there is one. */
#include <stdint.h>
#include <stdlib.h>

#include "eval/bpe.h"
#include "format/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_gguf *g;
    if (tp_is_error(tp_gguf_parse(data, size, &g))) return 0;
    volatile double sink = 0;
    for (size_t i = 0; i < tp_gguf_kv_count(g); i++) {
        const tp_gguf_kv *kv = tp_gguf_kv_at(g, i);
        for (uint64_t k = 0; k < kv->n && k < 64; k++) {
            const char *s;
            size_t len;
            double v;
            if (kv->type == TP_GGUF_ARRAY && kv->elem_type == TP_GGUF_STRING) {
                if (tp_is_error(tp_gguf_arr_str(g, kv, k, &s, &len))) abort();
                if (len) sink += (unsigned char)s[len - 1];
            } else if (kv->type == TP_GGUF_ARRAY) {
                if (tp_is_error(tp_gguf_arr_num(kv, k, &v))) abort();
                sink += v;
            }
        }
    }
    for (size_t i = 0; i < tp_gguf_tensor_count(g); i++) {
        float *x;
        const tp_gguf_tensor *t = tp_gguf_tensor_at(g, i);
        if (t->nbytes > size) abort(); /* the parser promised the data is inside */
        if (!tp_is_error(tp_gguf_tensor_f32(g, i, &x))) {
            if (t->numel) sink += x[t->numel - 1];
            free(x);
        }
    }
    tp_bpe *b;
    if (!tp_is_error(tp_bpe_load(g, &b))) {
        static const char text[] = "Hello, world 123!  \n x";
        int32_t *ids;
        size_t n;
        if (!tp_is_error(tp_bpe_encode(b, text, sizeof text - 1, &ids, &n))) {
            char out[256];
            tp_bpe_decode(b, ids, n, out, sizeof out);
            free(ids);
        }
        tp_bpe_free(b);
    }
    tp_gguf_close(g);
    (void)sink;
    return 0;
}
