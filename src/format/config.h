/* YAML configuration files (`tpress compress --config FILE`) read into a
 * flat, ordered list of (key, value, line) entries, and written back.
 * The reader knows no option: the CLI maps each key to the flag of that
 * name, so the reader is strict about shape and silent about meaning.
 *
 *  - The document is one mapping (an empty file, or a document that is
 *    only `---` or comments, gives no entries). Keys are letters, digits,
 *    '-' and '_', starting with a letter or digit; no key appears twice.
 *  - A scalar value gives an entry with its text as written: booleans stay
 *    "true"/"false", a quoted scalar gives its content. A plain empty or
 *    null (`~`, `null`) value is an error: quote it to mean "".
 *  - A nested mapping gives dotted keys: `progressive: {layers: 3}` gives
 *    "progressive.layers" (at most TP_CONFIG_MAX_DEPTH levels).
 *  - The top-level key `rules` is a sequence of mappings, each one entry
 *    "rules" whose value is "REGEX=SPEC" (`match: REGEX` and `codec: SPEC`)
 *    or "REGEX=keep" (`match: REGEX` and `keep: true`); REGEX is not empty
 *    and holds no '=', since the value splits at the first one.
 *  - Sequences elsewhere, anchors, aliases, tags, a second document,
 *    complex keys, invalid UTF-8 and NUL characters are errors.
 *
 * Errors are TP_ERR_CORRUPT with the detail "NAME:LINE: problem" (1-based
 * lines), TP_ERR_NOMEM, or those of tp_mapped_open for a file that cannot
 * be read (TP_ERR_NOT_FOUND, TP_ERR_IO), whose detail names the path. */
#ifndef TP_FORMAT_CONFIG_H
#define TP_FORMAT_CONFIG_H

#include <stddef.h>

#include "tpress.h"

/* The reader recurses once per nested mapping; a config needs two or three. */
#define TP_CONFIG_MAX_DEPTH 16

typedef struct {
    char *key;     /* "threads", "progressive.layers", "rules"          */
    char *value;   /* scalar text; "REGEX=SPEC" or "REGEX=keep" for rules */
    unsigned line; /* 1-based line of the key (of the item, for rules)   */
} tp_config_entry;

typedef struct {
    tp_config_entry *entries; /* in file order */
    size_t n;
    char *path; /* the name errors use */
} tp_config;

/* Reads the config file at path into *out (which tp_config_free releases).
 * An empty file gives zero entries. Returns 0 or an error; on error *out
 * is empty. */
size_t tp_config_load(const char *path, tp_config *out);

/* The same from the n bytes at text (no NUL needed); name_for_errors (NULL:
 * "config") starts every error detail and is copied into out->path. */
size_t tp_config_parse(const char *text, size_t n, const char *name_for_errors, tp_config *out);

/* Frees what *c owns and empties it; a zeroed or emptied c is fine. */
void tp_config_free(tp_config *c);

/* Writes entries e[0..n) as YAML into *yaml_out (malloc'd, NUL-terminated,
 * the caller frees), the inverse of the reader: dotted keys become nested
 * mappings, "rules" entries one sequence. Entries sharing a prefix are
 * grouped where the first of them stands, so tp_config_parse of the text
 * gives the same keys and values whenever the entries came from
 * tp_config_parse. Returns the text's length or an error: TP_ERR_ARG (with
 * the key in the detail) for an entry the reader would refuse: a bad or
 * repeated key, a key that is both a value and a mapping, a rules value
 * that is not REGEX=SPEC, a value that is not UTF-8; TP_ERR_NOMEM;
 * TP_ERR_BACKEND if libyaml's emitter fails otherwise. */
size_t tp_config_emit(const tp_config_entry *e, size_t n, char **yaml_out);

#endif
