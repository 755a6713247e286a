/* YAML config files (src/format/config.c): entries in file order with
 * their lines, every refusal naming the file and the line, and the writer
 * as the reader's inverse. Every test name contains "config". */
#include <stdlib.h>
#include <string.h>

#include "format/config.h"
#include "harness.h"

static size_t parse(const char *text, tp_config *c) { return tp_config_parse(text, strlen(text), "t.yaml", c); }

static int entry_is(const tp_config *c, size_t i, const char *key, const char *value, unsigned line)
{
    return i < c->n && !strcmp(c->entries[i].key, key) && !strcmp(c->entries[i].value, value) &&
           c->entries[i].line == line;
}

TEST(config_scalars_nested_and_rules_in_file_order)
{
    static const char text[] =
        "# a comment line\n"
        "target-mb: 40\n"                       /* 2 */
        "verify: true\n"                        /* 3 */
        "name: \"a: b # c\"\n"                  /* 4 */
        "progressive:\n"                        /* 5 */
        "  layers: 3\n"                         /* 6 */
        "  order: {first: embed, quiet: false}\n" /* 7 */
        "rules:\n"                              /* 8 */
        "  - match: '^model\\.embed.*'\n"       /* 9 */
        "    codec: int:bits=8 | lossless\n"
        "  - {match: norm, keep: true}\n"       /* 11 */
        "empty: ''\n"                           /* 12 */
        "threads: 2  # trailing comment\n";     /* 13 */
    tp_config c;
    CHECK_OK(parse(text, &c));
    CHECK(c.n == 10);
    CHECK(!strcmp(c.path, "t.yaml"));
    CHECK(entry_is(&c, 0, "target-mb", "40", 2));
    CHECK(entry_is(&c, 1, "verify", "true", 3));
    CHECK(entry_is(&c, 2, "name", "a: b # c", 4));
    CHECK(entry_is(&c, 3, "progressive.layers", "3", 6));
    CHECK(entry_is(&c, 4, "progressive.order.first", "embed", 7));
    CHECK(entry_is(&c, 5, "progressive.order.quiet", "false", 7));
    CHECK(entry_is(&c, 6, "rules", "^model\\.embed.*=int:bits=8 | lossless", 9));
    CHECK(entry_is(&c, 7, "rules", "norm=keep", 11));
    CHECK(entry_is(&c, 8, "empty", "", 12));
    CHECK(entry_is(&c, 9, "threads", "2", 13));
    tp_config_free(&c);
    CHECK(c.n == 0 && !c.entries && !c.path);
}

TEST(config_without_a_document_gives_no_entries)
{
    static const char *const texts[] = {"", "# nothing but comments\n\n", "---\n", "--- # null\n...\n", "{}\n"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        tp_config c;
        CHECK_OK(parse(texts[i], &c));
        CHECK(c.n == 0);
        tp_config_free(&c);
    }
    const char *path = th_tmp_path(".yaml");
    CHECK(th_write_file(path, "", 0));
    tp_config c;
    CHECK_OK(tp_config_load(path, &c));
    CHECK(c.n == 0 && !strcmp(c.path, path));
    tp_config_free(&c);
    remove(path);
}

TEST(config_load_reads_the_file_and_names_it)
{
    const char *path = th_tmp_path(".yaml");
    static const char text[] = "threads: 4\nrules:\n  - match: x\n    codec: zstd\n";
    CHECK(th_write_file(path, text, sizeof text - 1));
    tp_config c;
    CHECK_OK(tp_config_load(path, &c));
    CHECK(c.n == 2 && !strcmp(c.path, path));
    CHECK(entry_is(&c, 0, "threads", "4", 1));
    CHECK(entry_is(&c, 1, "rules", "x=zstd", 3));
    tp_config_free(&c);

    CHECK(th_write_file(path, "threads: [1]\n", 13));
    CHECK_ERR(tp_config_load(path, &c), TP_ERR_CORRUPT);
    CHECK(!strncmp(tp_last_error_detail(), path, strlen(path)));
    CHECK(strstr(tp_last_error_detail(), ":1: ") != NULL);
    CHECK(c.n == 0 && !c.entries && !c.path);
    remove(path);

    CHECK_ERR(tp_config_load(path, &c), TP_ERR_NOT_FOUND);
    CHECK(strstr(tp_last_error_detail(), path) != NULL);
    CHECK_ERR(tp_config_load(th_data_dir(), &c), TP_ERR_IO);
    CHECK(strstr(tp_last_error_detail(), th_data_dir()) != NULL);
}

typedef struct {
    const char *text;
    unsigned line;
    const char *says; /* part of the message */
} bad_config;

static const bad_config bad_configs[] = {
    {"a: 1\nb: [1, 2]\n", 2, "'b' must be a scalar or a mapping, not a sequence"},
    {"a: 1\nb:\n  - 1\n", 2, "not a sequence"},
    {"a: &x 1\n", 1, "anchors are not allowed"},
    {"a: 1\nb: &x {c: 1}\n", 2, "anchors are not allowed"},
    {"a: &x 1\nb: *x\n", 1, "anchors"},
    {"a: 1\nb: *x\n", 2, "aliases are not allowed"},
    {"a: 1\n---\nb: 2\n", 2, "a second document"},
    {"a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a'"},
    {"p:\n  x: 1\nq: 2\np:\n  y: 1\n", 4, "duplicate key 'p'"},
    {"p:\n  x: 1\n  x: 2\n", 3, "duplicate key 'p.x'"},
    {"a: 1\n\"\": 2\n", 2, "empty key"},
    {"a: 1\n'a.b': 2\n", 2, "key 'a.b' is not letters"},
    {"a: 1\nb c: 2\n", 2, "key 'b c' is not letters"},
    {"a: 1\nb: \"\xff\"\n", 2, "invalid leading UTF-8 octet"},
    {"a: 1\n\nb: caf\xc3\n", 3, "UTF-8"},
    {"a: 1\nb: !!str 2\n", 2, "tags are not allowed"},
    {"a: 1\nb: !custom {c: 1}\n", 2, "tags are not allowed"},
    {"a: 1\nb:\n", 2, "'b' has no value"},
    {"a: ~\n", 1, "'a' has no value"},
    {"p:\n  q: null\n", 2, "'p.q' has no value"},
    {"a: 1\n[x]: 2\n", 2, "a key must be a scalar, not a sequence"},
    {"a: \"x\\0y\"\n", 1, "NUL character"},
    {"- a\n- b\n", 1, "the top level must be a mapping"},
    {"just text\n", 1, "the top level must be a mapping"},
    {"a: 1\nb: 2\n  c: 3\n", 3, "mapping values are not allowed"},
    {"a: 1\nb: 'open\n", 3, "found unexpected end of stream"},
    {"a: 1\nrules: x\n", 2, "rules must be a sequence"},
    {"a: 1\nrules: {match: x, codec: y}\n", 2, "rules must be a sequence"},
    {"rules:\n  - match: x\n    codec: y\n  - x=y\n", 4, "a rule must be a mapping"},
    {"rules:\n  - match: x\n    codec: y\n    weight: 2\n", 4, "rule key 'weight' is not match, codec or keep"},
    {"rules:\n  - codec: y\n", 2, "a rule needs match"},
    {"rules:\n  - match: x\n    codec: y\n    keep: true\n", 2, "both codec and keep"},
    {"rules:\n  - match: x\n", 2, "a rule needs codec or keep"},
    {"rules:\n  - match: x\n    keep: false\n", 2, "keep must be true"},
    {"rules:\n  - match: x\n    match: y\n    codec: z\n", 3, "duplicate rule key 'match'"},
    {"rules:\n  - match: [x]\n    codec: z\n", 2, "rule 'match' must be a scalar"},
    {"rules:\n  - match: a=b\n    codec: z\n", 2, "holds '='"},
    {"rules:\n  - match: ''\n    codec: z\n", 2, "match is empty"},
    {"rules:\n  - match: x\n    codec:\n", 3, "rule 'codec' has no value"},
    {"rules: []\nrules: []\n", 2, "duplicate key 'rules'"},
};

TEST(config_errors_name_the_file_and_line)
{
    for (size_t i = 0; i < sizeof bad_configs / sizeof *bad_configs; i++) {
        const bad_config *b = &bad_configs[i];
        tp_config c;
        size_t r = parse(b->text, &c);
        char want[32];
        snprintf(want, sizeof want, "t.yaml:%u: ", b->line);
        const char *d = tp_last_error_detail();
        if (tp_error_code(r) != TP_ERR_CORRUPT || strncmp(d, want, strlen(want)) || !strstr(d, b->says) ||
            strchr(d, '\n')) {
            printf("  case %zu: %s (%s), want '%s...%s'\n", i, d, tp_error_name(r), want, b->says);
            CHECK(!"config error detail");
        }
        CHECK(c.n == 0 && !c.entries && !c.path);
    }
}

/* "k0: {k1: {... {kN-1: 1}...}}": a key of n components. */
static void nested_text(char *buf, int n)
{
    char *p = buf;
    for (int i = 0; i < n; i++) p += sprintf(p, i < n - 1 ? "k%d: {" : "k%d: 1", i);
    for (int i = 1; i < n; i++) *p++ = '}';
    strcpy(p, "\n");
}

TEST(config_nesting_stops_at_the_limit)
{
    char text[16 * (TP_CONFIG_MAX_DEPTH + 2)];
    nested_text(text, TP_CONFIG_MAX_DEPTH);
    tp_config c;
    CHECK_OK(parse(text, &c));
    CHECK(c.n == 1 && !strcmp(c.entries[0].value, "1"));
    CHECK(!strncmp(c.entries[0].key, "k0.k1.k2.", 9));
    char *yaml;
    CHECK_OK(tp_config_emit(c.entries, 1, &yaml));
    tp_config_free(&c);
    free(yaml);

    nested_text(text, TP_CONFIG_MAX_DEPTH + 1);
    CHECK_ERR(parse(text, &c), TP_ERR_CORRUPT);
    CHECK(strstr(tp_last_error_detail(), "t.yaml:1: ") && strstr(tp_last_error_detail(), "nests deeper than 16"));
}

static int same_entries(const tp_config_entry *a, size_t na, const tp_config *b)
{
    if (na != b->n) return 0;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i].key, b->entries[i].key) || strcmp(a[i].value, b->entries[i].value)) return 0;
    return 1;
}

TEST(config_emit_then_parse_gives_the_entries_back)
{
    static const tp_config_entry e[] = {
        {"target-mb", "40"},
        {"verify", "true"},
        {"quiet", "false"},
        {"empty", ""},
        {"nullish", "null"},
        {"tilde", "~"},
        {"colon", "a: b"},
        {"hash", "x # not a comment"},
        {"lead-hash", "#x"},
        {"dash", "- x"},
        {"flow", "[x, {y}]"},
        {"star", "*x"},
        {"amp", "&x"},
        {"bang", "!x"},
        {"pct", "%x"},
        {"at", "@x"},
        {"pipe", "|"},
        {"gt", "> x"},
        {"quotes", "it's \"quoted\""},
        {"spaces", "  padded  "},
        {"breaks", "one\ntwo\r\nthree\r"},
        {"breaks2", "\n"},
        {"tab", "a\tb"},
        {"ctrl", "\x01\x7f"},
        {"unicode", "caf\xc3\xa9 \xe2\x80\xa8 \xc2\x85 \xef\xbb\xbf"},
        {"progressive.layers", "3"},
        {"progressive.order.first", "embed"},
        {"progressive.order.last", "head: 1"},
        {"rules", "^model\\.layers\\.[0-9]+\\.(q|k):proj$=int:bits=4,group=32 | lossless"},
        {"rules", "#norm: [a-z]+ x=keep"},
        {"rules", "x=zstd:level=3"},
        {"rules", ".*= int:bits=8 "},
        {"long", "aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee ffffffffff gggggggggg hhhhhhhhhh iiii"},
        {"1", "numeric key"},
    };
    size_t n = sizeof e / sizeof *e;
    char *yaml;
    size_t len = tp_config_emit(e, n, &yaml);
    CHECK_OK(len);
    CHECK(strlen(yaml) == len);
    tp_config c;
    size_t r = tp_config_parse(yaml, len, "emitted", &c);
    if (tp_is_error(r) || !same_entries(e, n, &c)) printf("%s\n%s\n", tp_last_error_detail(), yaml);
    CHECK_OK(r);
    CHECK(same_entries(e, n, &c));
    tp_config_free(&c);
    CHECK(strstr(yaml, "rules:\n- match:") || strstr(yaml, "rules:\n  - match:"));
    CHECK(strstr(yaml, "keep: true"));
    free(yaml);
}

TEST(config_emit_groups_a_prefix_where_it_first_stands)
{
    static const tp_config_entry e[] = {
        {"p.x", "1"}, {"rules", "a=keep"}, {"threads", "2"}, {"p.y", "2"}, {"rules", "b=zstd"}};
    static const tp_config_entry want[] = {
        {"p.x", "1"}, {"p.y", "2"}, {"rules", "a=keep"}, {"rules", "b=zstd"}, {"threads", "2"}};
    char *yaml;
    CHECK_OK(tp_config_emit(e, 5, &yaml));
    tp_config c;
    CHECK_OK(tp_config_parse(yaml, strlen(yaml), "emitted", &c));
    CHECK(same_entries(want, 5, &c));
    tp_config_free(&c);
    free(yaml);
}

TEST(config_emit_of_nothing_parses_to_nothing)
{
    char *yaml;
    CHECK_OK(tp_config_emit(NULL, 0, &yaml));
    tp_config c;
    CHECK_OK(tp_config_parse(yaml, strlen(yaml), "emitted", &c));
    CHECK(c.n == 0);
    tp_config_free(&c);
    free(yaml);
}

TEST(config_emit_refuses_what_the_reader_would)
{
    static const tp_config_entry bad[][2] = {
        {{"a", "1"}, {"a", "2"}},
        {{"a", "1"}, {"a.b", "2"}},
        {{"a.b", "1"}, {"a", "2"}},
        {{"a b", "1"}, {"c", "2"}},
        {{"a..b", "1"}, {"c", "2"}},
        {{"a.", "1"}, {"c", "2"}},
        {{"", "1"}, {"c", "2"}},
        {{"-a", "1"}, {"c", "2"}},
        {{"rules", "x"}, {"c", "2"}},
        {{"rules", "=x"}, {"c", "2"}},
        {{"rules", "x="}, {"c", "2"}},
        {{"rules", "x=y"}, {"rules.z", "2"}},
        {{"a", "caf\xc3"}, {"c", "2"}},
        {{"a", "\xed\xa0\x80"}, {"c", "2"}},
        {{"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q", "1"}, {"c", "2"}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *yaml = (char *)"unchanged";
        size_t r = tp_config_emit(bad[i], 2, &yaml);
        if (tp_error_code(r) != TP_ERR_ARG) printf("  case %zu: %s\n", i, tp_error_name(r));
        CHECK_ERR(r, TP_ERR_ARG);
        CHECK(yaml == NULL);
        CHECK(strstr(tp_last_error_detail(), "config entry") != NULL);
    }
}
