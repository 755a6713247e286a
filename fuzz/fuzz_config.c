/* libFuzzer target: YAML config parsing (tp_config_parse on the input
 * bytes), and the writer as its inverse: whatever the reader accepts, the
 * writer writes and the reader reads back to the same keys and values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tp_config c, back;
    if (tp_is_error(tp_config_parse((const char *)data, size, "fuzz", &c))) return 0;
    char *yaml;
    size_t len = tp_config_emit(c.entries, c.n, &yaml);
    if (tp_is_error(len)) {
        /* Only running out of memory may stop the writer. */
        if (tp_error_code(len) != TP_ERR_NOMEM) abort();
        tp_config_free(&c);
        return 0;
    }
    if (tp_is_error(tp_config_parse(yaml, len, "emitted", &back))) abort();
    if (back.n != c.n) abort();
    for (size_t i = 0; i < c.n; i++)
        if (strcmp(c.entries[i].key, back.entries[i].key) || strcmp(c.entries[i].value, back.entries[i].value)) abort();
    tp_config_free(&back);
    tp_config_free(&c);
    free(yaml);
    return 0;
}
