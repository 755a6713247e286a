/* A whole (text) file read into memory, for the evaluators' input text. */
#ifndef TP_FORMAT_WHOLE_FILE_H
#define TP_FORMAT_WHOLE_FILE_H

#include <stddef.h>

/* Reads path into a new malloc'd *buf (not NUL-terminated) of *len bytes.
 * TP_ERR_IO when it cannot be opened or read, TP_ERR_NOMEM. */
size_t tp_read_whole_file(const char *path, char **buf, size_t *len);

#endif
