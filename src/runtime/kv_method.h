/* A KV-cache method spec, parsed: "f16", "q8_0", "q4_0" or
 * "kivi:bits=B,group=G,residual=R", optionally after "rotate[:seed=S]|",
 * both optionally after "evict:sink=S,window=W|" (docs/KV.md). */
#ifndef TP_RUNTIME_KV_METHOD_H
#define TP_RUNTIME_KV_METHOD_H

#include <stddef.h>
#include <stdint.h>

typedef enum { KV_F16, KV_Q8_0, KV_Q4_0, KV_KIVI } kv_kind;

typedef struct {
    kv_kind kind;
    int evict;          /* keep the first sink and the last window tokens */
    unsigned sink, window;
    int rotate;
    uint64_t seed;
    unsigned bits;      /* kivi: 2, 4 or 8                               */
    unsigned group;     /* kivi: tokens per key group, channels per value group */
    unsigned residual;  /* kivi: most recent tokens kept in f16          */
} kv_method;

/* Parses spec for heads of head_dim values; TP_ERR_SPEC or TP_ERR_PARAM
 * naming what is wrong (also a head_dim the method cannot take). */
size_t tp_kv_method_parse(const char *spec, uint32_t head_dim, kv_method *m);

#endif
