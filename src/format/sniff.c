/* The one place that tells file kinds apart by their magic bytes (see
 * tp_sniff in tpress.h), so that every reader agrees on what a file is. */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "format/tensor_file.h"

static const struct {
    tp_file_kind kind;
    const char *magic;
    size_t len;
} magics[] = {
    {TP_FILE_ARCHIVE, "TPZA", 4},
    {TP_FILE_FRAME, "TPFR", 4},
    {TP_FILE_GGUF, "GGUF", 4},
    {TP_FILE_NPY, TP_NPY_MAGIC, TP_NPY_MAGIC_LEN},
    {TP_FILE_PNG, "\x89PNG\r\n\x1a\n", 8},
    {TP_FILE_JPEG, "\xff\xd8\xff", 3},
};

tp_file_kind tp_sniff(const void *head, size_t n)
{
    const unsigned char *p = head;
    if (!p) return TP_FILE_UNKNOWN;
    for (size_t i = 0; i < sizeof magics / sizeof *magics; i++)
        if (n >= magics[i].len && !memcmp(p, magics[i].magic, magics[i].len)) return magics[i].kind;
    /* Last: any file whose ninth byte is '{' would match. */
    if (n >= 9 && p[8] == '{') return TP_FILE_SAFETENSORS;
    return TP_FILE_UNKNOWN;
}

size_t tp_sniff_path(const char *path, tp_file_kind *kind)
{
    if (!path || !kind) return tp_fail(TP_ERR_ARG, "NULL argument");
    *kind = TP_FILE_UNKNOWN;
    FILE *f = fopen(path, "rb");
    if (!f) return tp_fail(TP_ERR_IO, "cannot open %s", path);
    unsigned char head[TP_SNIFF_BYTES];
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    *kind = tp_sniff(head, got);
    return 0;
}

const char *tp_file_kind_name(tp_file_kind kind)
{
    switch (kind) {
    case TP_FILE_ARCHIVE: return "archive";
    case TP_FILE_FRAME: return "frame";
    case TP_FILE_GGUF: return "gguf";
    case TP_FILE_NPY: return "npy";
    case TP_FILE_SAFETENSORS: return "safetensors";
    case TP_FILE_PNG: return "png";
    case TP_FILE_JPEG: return "jpeg";
    default: return "unknown";
    }
}
