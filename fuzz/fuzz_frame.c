/* Frame decoder fuzz target: any bytes go to tp_frame_inspect and, when the
 * header parses and the decoded size is modest, to tp_frame_decode. Fuzzing
 * builds skip the checksum so the codecs' own validation is exercised. */
#include <stdint.h>
#include <stdlib.h>

#include "tpress.h"

#define MAX_DECODED (64u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_frame_info info;
    if (tp_is_error(tp_frame_inspect(data, size, &info))) return 0;
    if (info.nbytes > MAX_DECODED) return 0;
    void *out = malloc(info.nbytes ? info.nbytes : 1);
    if (!out) return 0;
    size_t r = tp_frame_decode(data, size, out, info.nbytes);
    if (!tp_is_error(r) && r != info.nbytes) abort(); /* decode must fill exactly the advertised size */
    free(out);
    return 0;
}
