/* YAML config files through libyaml's event API (the document API would
 * build a tree only to walk it once, and would hide the aliases and tags
 * the reader refuses). The rules are in config.h. */
#include "format/config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/error.h"
#include "format/mapped_file.h"

#define RULE_SHAPE "{match: REGEX, codec: SPEC} or {match: REGEX, keep: true}"

/* ---- shared by reader and writer --------------------------------------- */

/* A key component: the CLI turns it into a flag name, and a key without
 * '.' or spaces maps back to one nested path only. */
static int key_ok(const char *s, size_t n)
{
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '-' && c != '_'))) return 0;
    }
    return 1;
}

/* The plain scalars YAML reads as null: a config value written so is a
 * forgotten value, and the writer must quote such text. */
static int null_text(const char *s, size_t n)
{
    return n == 0 || (n == 1 && s[0] == '~') ||
           (n == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4)));
}

/* A copy of s fit for a one-line message: at most 48 bytes, anything but
 * printable ASCII shown as '?'. */
static const char *shown(const char *s, char buf[64])
{
    size_t i = 0;
    for (; s[i] && i < 48; i++) buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s[i]) buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
    buf[i] = 0;
    return buf;
}

/* ---- reader -------------------------------------------------------------- */

typedef struct {
    yaml_parser_t p;
    yaml_event_t ev;
    int have_ev;
    const char *text;
    size_t n;
    tp_config *out;
    size_t cap;
    char **seen; /* every key path so far, values and mappings alike */
    size_t n_seen, cap_seen;
} reader;

static size_t fail_at(reader *r, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static size_t fail_at(reader *r, unsigned line, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tp_fail(TP_ERR_CORRUPT, "%s:%u: %s", r->out->path, line, msg);
}

static size_t nomem(reader *r) { return tp_fail(TP_ERR_NOMEM, "%s: out of memory", r->out->path); }

static unsigned line_of(yaml_mark_t m) { return m.line >= UINT_MAX ? UINT_MAX : (unsigned)m.line + 1; }

static size_t parser_error(reader *r)
{
    const yaml_parser_t *p = &r->p;
    if (p->error == YAML_MEMORY_ERROR) return nomem(r);
    if (p->error == YAML_READER_ERROR) {
        /* The reader reports a byte offset, not a mark. */
        unsigned line = 1;
        for (size_t i = 0; i < p->problem_offset && i < r->n; i++) line += r->text[i] == '\n';
        return fail_at(r, line, "%s", p->problem ? p->problem : "unreadable input");
    }
    const char *problem = p->problem ? p->problem : "malformed YAML";
    if (p->context) return fail_at(r, line_of(p->problem_mark), "%s: %s", p->context, problem);
    return fail_at(r, line_of(p->problem_mark), "%s", problem);
}

/* The next event into r->ev, refusing what no config needs: anchors and
 * aliases (a value written once per key is simpler to check) and tags. */
static size_t next(reader *r)
{
    if (r->have_ev) yaml_event_delete(&r->ev);
    r->have_ev = 0;
    if (!yaml_parser_parse(&r->p, &r->ev)) return parser_error(r);
    r->have_ev = 1;
    const yaml_event_t *e = &r->ev;
    const yaml_char_t *anchor = NULL, *tag = NULL;
    if (e->type == YAML_ALIAS_EVENT) return fail_at(r, line_of(e->start_mark), "aliases are not allowed in a config");
    if (e->type == YAML_SCALAR_EVENT) anchor = e->data.scalar.anchor, tag = e->data.scalar.tag;
    if (e->type == YAML_SEQUENCE_START_EVENT) anchor = e->data.sequence_start.anchor, tag = e->data.sequence_start.tag;
    if (e->type == YAML_MAPPING_START_EVENT) anchor = e->data.mapping_start.anchor, tag = e->data.mapping_start.tag;
    if (anchor) return fail_at(r, line_of(e->start_mark), "anchors are not allowed in a config");
    if (tag) return fail_at(r, line_of(e->start_mark), "tags are not allowed in a config");
    if (e->type == YAML_SCALAR_EVENT && memchr(e->data.scalar.value, 0, e->data.scalar.length))
        return fail_at(r, line_of(e->start_mark), "a scalar holds a NUL character");
    return 0;
}

static const char *kind(const yaml_event_t *e)
{
    return e->type == YAML_SEQUENCE_START_EVENT ? "sequence" : e->type == YAML_MAPPING_START_EVENT ? "mapping" : "scalar";
}

static const char *scalar(const reader *r) { return (const char *)r->ev.data.scalar.value; }
static size_t scalar_len(const reader *r) { return r->ev.data.scalar.length; }
static int scalar_is_null(const reader *r)
{
    return r->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && null_text(scalar(r), scalar_len(r));
}

static size_t add_entry(reader *r, const char *key, const char *value, unsigned line)
{
    tp_config *c = r->out;
    if (c->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        tp_config_entry *e = realloc(c->entries, cap * sizeof *e);
        if (!e) return nomem(r);
        c->entries = e;
        r->cap = cap;
    }
    tp_config_entry *e = &c->entries[c->n];
    e->key = strdup(key);
    e->value = strdup(value);
    e->line = line;
    if (!e->key || !e->value) {
        free(e->key);
        free(e->value);
        return nomem(r);
    }
    c->n++;
    return 0;
}

/* Records path (which r then owns) as a key of the file, unless it is one
 * already. */
static size_t add_seen(reader *r, char *path, unsigned line)
{
    for (size_t i = 0; i < r->n_seen; i++)
        if (!strcmp(r->seen[i], path)) {
            size_t e = fail_at(r, line, "duplicate key '%s'", path);
            free(path);
            return e;
        }
    if (r->n_seen == r->cap_seen) {
        size_t cap = r->cap_seen ? 2 * r->cap_seen : 16;
        char **s = realloc(r->seen, cap * sizeof *s);
        if (!s) {
            free(path);
            return nomem(r);
        }
        r->seen = s;
        r->cap_seen = cap;
    }
    r->seen[r->n_seen++] = path;
    return 0;
}

enum { RULE_MATCH, RULE_CODEC, RULE_KEEP, RULE_FIELDS };
static const char *const rule_field[RULE_FIELDS] = {"match", "codec", "keep"};

/* One rule item, after its MAPPING_START: its fields into f. */
static size_t read_rule_fields(reader *r, char *f[RULE_FIELDS])
{
    char buf[64];
    for (;;) {
        TP_TRY(next(r));
        if (r->ev.type == YAML_MAPPING_END_EVENT) return 0;
        unsigned line = line_of(r->ev.start_mark);
        if (r->ev.type != YAML_SCALAR_EVENT) return fail_at(r, line, "a rule's key must be a scalar, not a %s", kind(&r->ev));
        int k = 0;
        while (k < RULE_FIELDS && strcmp(scalar(r), rule_field[k])) k++;
        if (k == RULE_FIELDS)
            return fail_at(r, line, "rule key '%s' is not match, codec or keep", shown(scalar(r), buf));
        if (f[k]) return fail_at(r, line, "duplicate rule key '%s'", rule_field[k]);
        TP_TRY(next(r));
        if (r->ev.type != YAML_SCALAR_EVENT)
            return fail_at(r, line, "rule '%s' must be a scalar, not a %s", rule_field[k], kind(&r->ev));
        if (scalar_is_null(r)) return fail_at(r, line, "rule '%s' has no value", rule_field[k]);
        if (!(f[k] = strdup(scalar(r)))) return nomem(r);
    }
}

/* The entry of a rule whose fields are f, the item starting at line. */
static size_t rule_entry(reader *r, unsigned line, char *const f[RULE_FIELDS])
{
    char buf[64];
    const char *m = f[RULE_MATCH], *codec = f[RULE_CODEC], *keep = f[RULE_KEEP];
    if (!m) return fail_at(r, line, "a rule needs match: " RULE_SHAPE);
    if (codec && keep) return fail_at(r, line, "a rule has both codec and keep");
    if (!codec && !keep) return fail_at(r, line, "a rule needs codec or keep: " RULE_SHAPE);
    if (keep && strcmp(keep, "true")) return fail_at(r, line, "keep must be true (a rule that codes the tensor gives codec)");
    if (!*m) return fail_at(r, line, "a rule's match is empty");
    /* The entry is "REGEX=SPEC", split at the first '='. */
    if (strchr(m, '=')) return fail_at(r, line, "match '%s' holds '=', which a rule cannot", shown(m, buf));
    if (codec && !*codec) return fail_at(r, line, "a rule's codec is empty");
    const char *spec = codec ? codec : "keep";
    size_t n = strlen(m) + 1 + strlen(spec) + 1;
    char *v = malloc(n);
    if (!v) return nomem(r);
    snprintf(v, n, "%s=%s", m, spec);
    size_t res = add_entry(r, "rules", v, line);
    free(v);
    return res;
}

static size_t read_rule(reader *r, unsigned line)
{
    char *f[RULE_FIELDS] = {0};
    size_t res = read_rule_fields(r, f);
    if (!tp_is_error(res)) res = rule_entry(r, line, f);
    for (int k = 0; k < RULE_FIELDS; k++) free(f[k]);
    return res;
}

/* After the SEQUENCE_START of the top-level key rules. */
static size_t read_rules(reader *r)
{
    for (;;) {
        TP_TRY(next(r));
        if (r->ev.type == YAML_SEQUENCE_END_EVENT) return 0;
        unsigned line = line_of(r->ev.start_mark);
        if (r->ev.type != YAML_MAPPING_START_EVENT)
            return fail_at(r, line, "a rule must be a mapping, " RULE_SHAPE ", not a %s", kind(&r->ev));
        TP_TRY(read_rule(r, line));
    }
}

/* After a MAPPING_START whose keys nest under prefix (NULL at the top),
 * which has depth components. */
static size_t read_mapping(reader *r, const char *prefix, int depth)
{
    char buf[64];
    for (;;) {
        TP_TRY(next(r));
        if (r->ev.type == YAML_MAPPING_END_EVENT) return 0;
        unsigned line = line_of(r->ev.start_mark);
        if (r->ev.type != YAML_SCALAR_EVENT) return fail_at(r, line, "a key must be a scalar, not a %s", kind(&r->ev));
        if (!scalar_len(r)) return fail_at(r, line, "empty key");
        if (!key_ok(scalar(r), scalar_len(r)))
            return fail_at(r, line, "key '%s' is not letters, digits, '-' and '_' starting with a letter or digit",
                           shown(scalar(r), buf));
        size_t pn = prefix ? strlen(prefix) + 1 : 0, n = pn + scalar_len(r) + 1;
        char *path = malloc(n);
        if (!path) return nomem(r);
        snprintf(path, n, "%s%s%s", prefix ? prefix : "", prefix ? "." : "", scalar(r));
        TP_TRY(add_seen(r, path, line));

        TP_TRY(next(r));
        yaml_event_type_t t = r->ev.type;
        if (!prefix && !strcmp(path, "rules")) {
            if (t != YAML_SEQUENCE_START_EVENT) return fail_at(r, line, "rules must be a sequence of " RULE_SHAPE);
            TP_TRY(read_rules(r));
        } else if (t == YAML_SCALAR_EVENT) {
            if (scalar_is_null(r)) return fail_at(r, line, "'%s' has no value (quote \"\" for an empty one)", path);
            TP_TRY(add_entry(r, path, scalar(r), line));
        } else if (t == YAML_MAPPING_START_EVENT) {
            if (depth + 2 > TP_CONFIG_MAX_DEPTH)
                return fail_at(r, line, "'%s' nests deeper than %d levels", path, TP_CONFIG_MAX_DEPTH);
            TP_TRY(read_mapping(r, path, depth + 1));
        } else {
            return fail_at(r, line, "'%s' must be a scalar or a mapping, not a sequence", path);
        }
    }
}

static size_t read_stream(reader *r)
{
    TP_TRY(next(r)); /* STREAM_START */
    TP_TRY(next(r));
    if (r->ev.type == YAML_STREAM_END_EVENT) return 0;
    TP_TRY(next(r)); /* the root, after DOCUMENT_START */
    unsigned line = line_of(r->ev.start_mark);
    if (r->ev.type == YAML_MAPPING_START_EVENT) TP_TRY(read_mapping(r, NULL, 0));
    else if (r->ev.type != YAML_SCALAR_EVENT || !scalar_is_null(r)) /* a null root: `---` and comments */
        return fail_at(r, line, "the top level must be a mapping of keys to values, not a %s", kind(&r->ev));
    TP_TRY(next(r)); /* DOCUMENT_END */
    TP_TRY(next(r));
    if (r->ev.type == YAML_DOCUMENT_START_EVENT)
        return fail_at(r, line_of(r->ev.start_mark), "a second document: a config is one document");
    return 0;
}

size_t tp_config_parse(const char *text, size_t n, const char *name_for_errors, tp_config *out)
{
    if (!out) return tp_fail(TP_ERR_ARG, "NULL argument");
    memset(out, 0, sizeof *out);
    const char *name = name_for_errors ? name_for_errors : "config";
    if (!text && n) return tp_fail(TP_ERR_ARG, "%s: NULL text", name);
    if (!(out->path = strdup(name))) return tp_fail(TP_ERR_NOMEM, "%s: out of memory", name);
    reader r = {.text = text, .n = n, .out = out};
    if (!yaml_parser_initialize(&r.p)) {
        tp_config_free(out);
        return tp_fail(TP_ERR_NOMEM, "%s: out of memory", name);
    }
    yaml_parser_set_input_string(&r.p, (const unsigned char *)(text ? text : ""), n);
    /* Without this libyaml would also take UTF-16 by its byte order mark. */
    yaml_parser_set_encoding(&r.p, YAML_UTF8_ENCODING);
    size_t res = read_stream(&r);
    if (r.have_ev) yaml_event_delete(&r.ev);
    yaml_parser_delete(&r.p);
    for (size_t i = 0; i < r.n_seen; i++) free(r.seen[i]);
    free(r.seen);
    if (tp_is_error(res)) tp_config_free(out);
    return res;
}

size_t tp_config_load(const char *path, tp_config *out)
{
    if (!out) return tp_fail(TP_ERR_ARG, "NULL argument");
    memset(out, 0, sizeof *out);
    tp_mapped_file m;
    size_t r = tp_mapped_open(&m, path);
    if (tp_error_code(r) == TP_ERR_TRUNCATED) return tp_config_parse("", 0, path, out); /* empty: no entries */
    if (tp_is_error(r)) return r;
    r = tp_config_parse((const char *)m.bytes, m.size, path, out);
    tp_mapped_close(&m);
    return r;
}

void tp_config_free(tp_config *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->entries[i].key);
        free(c->entries[i].value);
    }
    free(c->entries);
    free(c->path);
    memset(c, 0, sizeof *c);
}

/* ---- writer -------------------------------------------------------------- */

typedef struct {
    yaml_emitter_t em;
    char *buf;
    size_t n, cap;
    int nomem;
    const tp_config_entry *e;
    size_t n_e;
    unsigned char *done; /* [n_e]: written already */
} writer;

static int sink(void *data, unsigned char *bytes, size_t size)
{
    writer *w = data;
    if (w->n + size + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->n + size + 1) cap *= 2;
        char *b = realloc(w->buf, cap);
        if (!b) {
            w->nomem = 1;
            return 0;
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->n, bytes, size);
    w->n += size;
    return 1;
}

static size_t emitter_error(const writer *w)
{
    if (w->nomem || w->em.error == YAML_MEMORY_ERROR) return tp_fail(TP_ERR_NOMEM, "config: out of memory");
    return tp_fail(TP_ERR_BACKEND, "config: libyaml: %s", w->em.problem ? w->em.problem : "emitter failed");
}

/* ev was made by an initializer that returned made (0: out of memory). */
static size_t emit(writer *w, yaml_event_t *ev, int made)
{
    if (!made) return tp_fail(TP_ERR_NOMEM, "config: out of memory");
    return yaml_emitter_emit(&w->em, ev) ? 0 : emitter_error(w);
}

static size_t begin(writer *w, int mapping)
{
    yaml_event_t ev;
    int made = mapping ? yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE)
                       : yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
    return emit(w, &ev, made);
}

static size_t end(writer *w, int mapping)
{
    yaml_event_t ev;
    int made = mapping ? yaml_mapping_end_event_initialize(&ev) : yaml_sequence_end_event_initialize(&ev);
    return emit(w, &ev, made);
}

/* libyaml's emitter would refuse invalid UTF-8 without saying so. */
static int utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i], len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (!len || i + len > n) return 0;
        unsigned cp = len == 1 ? c : c & (0x7F >> len);
        for (unsigned k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        static const unsigned min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

/* Text the reader would take otherwise as plain is double-quoted: null
 * text, and line breaks, which plain and single-quoted styles fold or
 * normalise ('\r' read back as '\n') while double quotes escape them. */
static size_t text(writer *w, const char *key, const char *s, int is_key)
{
    size_t n = strlen(s);
    char buf[64];
    if (!utf8_ok((const unsigned char *)s, n)) return tp_fail(TP_ERR_ARG, "config entry '%s': not UTF-8", shown(key, buf));
    if (n > INT_MAX) return tp_fail(TP_ERR_ARG, "config entry '%s': value too long", shown(key, buf));
    int quote = !is_key && (null_text(s, n) || strpbrk(s, "\n\r") || strstr(s, "\xC2\x85") || strstr(s, "\xE2\x80\xA8") ||
                            strstr(s, "\xE2\x80\xA9"));
    yaml_event_t ev;
    int made = yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)n, 1, 1,
                                            quote ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
    return emit(w, &ev, made);
}

static size_t key_text(writer *w, const char *full, const char *comp, size_t n)
{
    char *k = strndup(comp, n);
    if (!k) return tp_fail(TP_ERR_NOMEM, "config: out of memory");
    size_t r = text(w, full, k, 1);
    free(k);
    return r;
}

static size_t emit_rule(writer *w, const char *value)
{
    char buf[64];
    const char *eq = strchr(value, '=');
    if (!eq || eq == value || !eq[1])
        return tp_fail(TP_ERR_ARG, "config entry 'rules': '%s' is not REGEX=SPEC or REGEX=keep", shown(value, buf));
    size_t mn = (size_t)(eq - value);
    char *m = malloc(mn + 1);
    if (!m) return tp_fail(TP_ERR_NOMEM, "config: out of memory");
    memcpy(m, value, mn);
    m[mn] = 0;
    int keep = !strcmp(eq + 1, "keep");
    size_t r = begin(w, 1);
    if (!tp_is_error(r)) r = text(w, "rules", "match", 1);
    if (!tp_is_error(r)) r = text(w, "rules", m, 0);
    if (!tp_is_error(r)) r = text(w, "rules", keep ? "keep" : "codec", 1);
    if (!tp_is_error(r)) r = keep ? text(w, "rules", "true", 1) : text(w, "rules", eq + 1, 0);
    if (!tp_is_error(r)) r = end(w, 1);
    free(m);
    return r;
}

/* The entries under prefix (its first plen bytes, '.' included), each
 * group where its first entry stands; depth: components in prefix. */
static size_t emit_mapping(writer *w, const char *prefix, size_t plen, int depth)
{
    char buf[64];
    for (size_t i = 0; i < w->n_e; i++) {
        const char *key = w->e[i].key;
        if (w->done[i] || strncmp(key, prefix, plen)) continue;
        const char *rest = key + plen;
        size_t cn = strcspn(rest, ".");
        if (!key_ok(rest, cn))
            return tp_fail(TP_ERR_ARG, "config entry '%s': a key part is not letters, digits, '-' and '_' "
                           "starting with a letter or digit", shown(key, buf));
        int rules = plen == 0 && cn == 5 && !memcmp(rest, "rules", 5);
        TP_TRY(key_text(w, key, rest, cn));
        if (rules && !rest[cn]) {
            TP_TRY(begin(w, 0));
            for (size_t j = i; j < w->n_e; j++)
                if (!strcmp(w->e[j].key, "rules")) {
                    TP_TRY(emit_rule(w, w->e[j].value));
                    w->done[j] = 1;
                }
            TP_TRY(end(w, 0));
        } else if (!rest[cn]) {
            size_t kn = strlen(key);
            for (size_t j = 0; j < w->n_e; j++) {
                if (j != i && !strcmp(w->e[j].key, key))
                    return tp_fail(TP_ERR_ARG, "config entry '%s': duplicate key", shown(key, buf));
                if (!strncmp(w->e[j].key, key, kn) && w->e[j].key[kn] == '.')
                    return tp_fail(TP_ERR_ARG, "config entry '%s': both a value and a mapping", shown(key, buf));
            }
            TP_TRY(text(w, key, w->e[i].value, 0));
            w->done[i] = 1;
        } else {
            if (rules) return tp_fail(TP_ERR_ARG, "config entry '%s': rules is a sequence, not a mapping", shown(key, buf));
            if (depth + 2 > TP_CONFIG_MAX_DEPTH)
                return tp_fail(TP_ERR_ARG, "config entry '%s': nests deeper than %d levels", shown(key, buf),
                               TP_CONFIG_MAX_DEPTH);
            TP_TRY(begin(w, 1));
            TP_TRY(emit_mapping(w, key, plen + cn + 1, depth + 1));
            TP_TRY(end(w, 1));
        }
    }
    return 0;
}

static size_t emit_document(writer *w)
{
    yaml_event_t ev;
    TP_TRY(emit(w, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING)));
    TP_TRY(emit(w, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1)));
    TP_TRY(begin(w, 1));
    TP_TRY(emit_mapping(w, "", 0, 0));
    TP_TRY(end(w, 1));
    TP_TRY(emit(w, &ev, yaml_document_end_event_initialize(&ev, 1)));
    TP_TRY(emit(w, &ev, yaml_stream_end_event_initialize(&ev)));
    return yaml_emitter_flush(&w->em) ? 0 : emitter_error(w);
}

size_t tp_config_emit(const tp_config_entry *e, size_t n, char **yaml_out)
{
    if (!yaml_out || (!e && n)) return tp_fail(TP_ERR_ARG, "NULL argument");
    *yaml_out = NULL;
    for (size_t i = 0; i < n; i++)
        if (!e[i].key || !e[i].value) return tp_fail(TP_ERR_ARG, "config entry %zu has a NULL key or value", i);
    writer w = {.e = e, .n_e = n, .done = calloc(n ? n : 1, 1)};
    if (!w.done) return tp_fail(TP_ERR_NOMEM, "config: out of memory");
    if (!yaml_emitter_initialize(&w.em)) {
        free(w.done);
        return tp_fail(TP_ERR_NOMEM, "config: out of memory");
    }
    yaml_emitter_set_output(&w.em, sink, &w);
    yaml_emitter_set_unicode(&w.em, 1);
    yaml_emitter_set_width(&w.em, -1); /* long regexes stay on one line */
    size_t r = emit_document(&w);
    yaml_emitter_delete(&w.em);
    free(w.done);
    if (!tp_is_error(r) && !w.buf && !(w.buf = malloc(1))) r = tp_fail(TP_ERR_NOMEM, "config: out of memory");
    if (tp_is_error(r)) {
        free(w.buf);
        return r;
    }
    w.buf[w.n] = 0;
    *yaml_out = w.buf;
    return w.n;
}
