/* Parsed pipelines: a list of stages, each a codec with its parameters. */
#ifndef TP_CODECS_PIPELINE_H
#define TP_CODECS_PIPELINE_H

#include "codecs/codec.h"

typedef struct {
    const tp_codec *codec;
    tp_params params;
} tp_stage;

struct tp_pipeline {
    size_t n;
    tp_stage stage[TP_MAX_STAGES];
};

/* Parses "key=value,key=value" (len bytes, may be empty) for codec c:
 * unspecified keys take their defaults, then c->validate runs. */
size_t tp_params_parse(const tp_codec *c, const char *text, size_t len, tp_params *out);
/* Writes every parameter of a stage as "k=v,k=v" (NUL-terminated); returns
 * the length without the NUL or TP_ERR_DST_TOO_SMALL. */
size_t tp_params_to_string(const tp_codec *c, const tp_params *p, char *dst, size_t cap);

#endif
