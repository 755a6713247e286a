/* Internal error helpers: encode tp_error codes as size_t results and
 * record a one-line detail for tp_last_error_detail(). */
#ifndef TP_CORE_ERROR_H
#define TP_CORE_ERROR_H

#include <stddef.h>
#include "tpress.h"

/* Result value that encodes code (zstd-style: the top of the size_t range). */
#define TP_ERROR(code) ((size_t)0 - (size_t)(code))

/* tp_fail (tpress.h) records a printf-style detail and returns
 * TP_ERROR(code). */

/* Propagates an error result from a callee unchanged. */
#define TP_TRY(expr)                                   \
    do {                                               \
        size_t tp_try_r_ = (expr);                     \
        if (tp_is_error(tp_try_r_)) return tp_try_r_;  \
    } while (0)

#endif
