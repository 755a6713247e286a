#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_detail[512];

static const char *const error_text[TP_ERR__MAX] = {
    [TP_OK] = "no error",
    [TP_ERR_GENERIC] = "error",
    [TP_ERR_NOMEM] = "out of memory",
    [TP_ERR_ARG] = "invalid argument",
    [TP_ERR_DTYPE] = "unsupported dtype",
    [TP_ERR_SHAPE] = "invalid shape",
    [TP_ERR_SPEC] = "invalid pipeline spec",
    [TP_ERR_UNKNOWN_CODEC] = "unknown codec",
    [TP_ERR_PARAM] = "invalid codec parameter",
    [TP_ERR_DST_TOO_SMALL] = "destination buffer too small",
    [TP_ERR_CORRUPT] = "corrupt data",
    [TP_ERR_CHECKSUM] = "checksum mismatch",
    [TP_ERR_TRUNCATED] = "truncated input",
    [TP_ERR_VERSION] = "unsupported format version",
    [TP_ERR_IO] = "I/O error",
    [TP_ERR_NOT_FOUND] = "not found",
    [TP_ERR_UNSUPPORTED] = "unsupported",
    [TP_ERR_NONFINITE] = "non-finite value",
    [TP_ERR_BACKEND] = "backend library error",
};

int tp_is_error(size_t result) { return result > TP_ERROR(TP_ERR__MAX); }

tp_error tp_error_code(size_t result)
{
    if (!tp_is_error(result)) return TP_OK;
    return (tp_error)(0 - result);
}

const char *tp_error_string(tp_error code)
{
    if ((unsigned)code >= TP_ERR__MAX) return "unknown error";
    return error_text[code];
}

const char *tp_error_name(size_t result) { return tp_error_string(tp_error_code(result)); }

const char *tp_last_error_detail(void) { return last_detail; }

size_t tp_fail(tp_error code, const char *fmt, ...)
{
    /* Callers may wrap the previous detail ("stage 1: %s", detail), so the
     * arguments can point into last_detail: format aside, then copy. */
    char buf[sizeof last_detail];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    memcpy(last_detail, buf, sizeof buf);
    return TP_ERROR(code);
}
