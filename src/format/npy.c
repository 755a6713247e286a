/* .npy headers (numpy NEP 1): "\x93NUMPY", major, minor, a header length
 * (u16 in version 1.0, u32 in 2.0 and 3.0), then a Python dict literal
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 5), }
 * padded with spaces and ended by '\n', then the raw C-order data. We take
 * only C-order arrays of plain little-endian numbers and bools. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "format/tensor_file.h"

#define NPY_ALIGN 64            /* numpy aligns the data start to 64 bytes */
#define NPY_V1_HEADER_MAX 65535u

typedef struct {
    tp_dtype dt;
    char kind;
    char size;
} npy_type;

static const npy_type npy_types[] = {
    {TP_F16, 'f', '2'}, {TP_F32, 'f', '4'}, {TP_F64, 'f', '8'}, {TP_I8, 'i', '1'},  {TP_U8, 'u', '1'},
    {TP_I16, 'i', '2'}, {TP_U16, 'u', '2'}, {TP_I32, 'i', '4'}, {TP_U32, 'u', '4'}, {TP_I64, 'i', '8'},
    {TP_U64, 'u', '8'}, {TP_BOOL, 'b', '1'},
};

/* ---- parsing the header dict ------------------------------------------ */

typedef struct {
    const char *s;
    size_t n, i;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' || c->s[c->i] == '\r')) c->i++;
}

/* Consumes ch after optional whitespace; 1 if it was there. */
static int accept(cursor *c, char ch)
{
    skip_ws(c);
    if (c->i < c->n && c->s[c->i] == ch) { c->i++; return 1; }
    return 0;
}

static size_t malformed(const cursor *c, const char *what)
{
    return tp_fail(TP_ERR_CORRUPT, "npy header dict malformed at byte %zu: %s", c->i, what);
}

/* A quoted string without escapes; *str and *len point into the header. */
static size_t parse_string(cursor *c, const char **str, size_t *len)
{
    skip_ws(c);
    if (c->i >= c->n || (c->s[c->i] != '\'' && c->s[c->i] != '"')) return malformed(c, "expected a quoted string");
    char q = c->s[c->i++];
    size_t start = c->i;
    while (c->i < c->n && c->s[c->i] != q) {
        if (c->s[c->i] == '\\' || c->s[c->i] == '\n') return malformed(c, "escape or newline inside a string");
        c->i++;
    }
    if (c->i >= c->n) return malformed(c, "unterminated string");
    *str = c->s + start;
    *len = c->i - start;
    c->i++;
    return 0;
}

static size_t parse_bool(cursor *c, int *v)
{
    skip_ws(c);
    size_t left = c->n - c->i;
    if (left >= 4 && !memcmp(c->s + c->i, "True", 4)) { *v = 1; c->i += 4; return 0; }
    if (left >= 5 && !memcmp(c->s + c->i, "False", 5)) { *v = 0; c->i += 5; return 0; }
    return malformed(c, "fortran_order is not True or False");
}

/* A non-negative decimal (Python 2 files may end it with 'L'). */
static size_t parse_dim(cursor *c, uint64_t *v)
{
    skip_ws(c);
    if (c->i < c->n && c->s[c->i] == '-') return tp_fail(TP_ERR_SHAPE, "npy shape has a negative dimension");
    if (c->i >= c->n || c->s[c->i] < '0' || c->s[c->i] > '9') return malformed(c, "expected a dimension");
    uint64_t x = 0;
    while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
        unsigned d = (unsigned)(c->s[c->i++] - '0');
        if (x > (UINT64_MAX - d) / 10) return tp_fail(TP_ERR_SHAPE, "npy shape dimension overflows 64 bits");
        x = x * 10 + d;
    }
    if (c->i < c->n && c->s[c->i] == 'L') c->i++;
    *v = x;
    return 0;
}

/* A tuple: (), (5,), (3, 5) or (3, 5,). "(5)" is an int in Python, not a
 * tuple, and numpy refuses it, so do we. */
static size_t parse_shape(cursor *c, tp_tensor *t)
{
    if (!accept(c, '(')) return malformed(c, "shape is not a tuple");
    t->ndim = 0;
    if (accept(c, ')')) return 0;
    for (;;) {
        uint64_t d = 0;
        TP_TRY(parse_dim(c, &d));
        if (t->ndim == TP_MAX_DIMS) return tp_fail(TP_ERR_SHAPE, "npy shape has more than %d dimensions", TP_MAX_DIMS);
        t->shape[t->ndim++] = d;
        int comma = accept(c, ',');
        if (accept(c, ')')) {
            if (t->ndim == 1 && !comma) return malformed(c, "one-element shape without a trailing comma");
            return 0;
        }
        if (!comma) return malformed(c, "expected ',' or ')' in shape");
    }
}

static size_t parse_descr(const char *s, size_t len, tp_dtype *dt)
{
    int shown = len > 40 ? 40 : (int)len;
    if (len >= 1 && (s[len - 1] == 'O' || (len >= 2 && s[1] == 'O')))
        return tp_fail(TP_ERR_DTYPE, "npy holds Python objects (dtype '%.*s'), which need pickle; not supported", shown, s);
    if (len == 3) {
        char order = s[0];
        for (size_t k = 0; k < sizeof npy_types / sizeof npy_types[0]; k++) {
            if (npy_types[k].kind != s[1] || npy_types[k].size != s[2]) continue;
            int one_byte = npy_types[k].size == '1';
            if (order == '>' && !one_byte)
                return tp_fail(TP_ERR_DTYPE, "big-endian npy dtype '%.3s' is not supported; save as little-endian ('<')", s);
            if (order == '<' || (one_byte && (order == '|' || order == '>' || order == '=')))
                { *dt = npy_types[k].dt; return 0; }
            break;
        }
    }
    return tp_fail(TP_ERR_DTYPE, "npy dtype '%.*s' is not supported", shown, s);
}

enum { KEY_DESCR = 1, KEY_FORTRAN = 2, KEY_SHAPE = 4 };

static size_t parse_dict(const char *h, size_t n, tp_tensor *t)
{
    cursor c = {h, n, 0};
    unsigned seen = 0;
    int fortran = 0;
    if (!accept(&c, '{')) return malformed(&c, "header does not start with '{'");
    while (!accept(&c, '}')) {
        const char *key;
        size_t klen;
        TP_TRY(parse_string(&c, &key, &klen));
        if (!accept(&c, ':')) return malformed(&c, "expected ':' after a key");
        unsigned which = 0;
        if (klen == 5 && !memcmp(key, "descr", 5)) which = KEY_DESCR;
        else if (klen == 13 && !memcmp(key, "fortran_order", 13)) which = KEY_FORTRAN;
        else if (klen == 5 && !memcmp(key, "shape", 5)) which = KEY_SHAPE;
        else return malformed(&c, "unknown key (only descr, fortran_order, shape)");
        if (seen & which) return malformed(&c, "duplicate key");
        seen |= which;
        if (which == KEY_DESCR) {
            skip_ws(&c);
            if (c.i < c.n && c.s[c.i] == '[')
                return tp_fail(TP_ERR_DTYPE, "npy structured dtypes (a list descr) are not supported");
            const char *d;
            size_t dlen;
            TP_TRY(parse_string(&c, &d, &dlen));
            TP_TRY(parse_descr(d, dlen, &t->dtype));
        } else if (which == KEY_FORTRAN) {
            TP_TRY(parse_bool(&c, &fortran));
        } else {
            TP_TRY(parse_shape(&c, t));
        }
        if (!accept(&c, ',')) {
            if (accept(&c, '}')) break;
            return malformed(&c, "expected ',' or '}' after a value");
        }
    }
    skip_ws(&c);
    if (c.i != c.n) return malformed(&c, "bytes after the closing '}'");
    if (seen != (KEY_DESCR | KEY_FORTRAN | KEY_SHAPE)) return malformed(&c, "missing descr, fortran_order or shape");
    if (fortran)
        return tp_fail(TP_ERR_UNSUPPORTED, "Fortran-order arrays are not supported; save with np.ascontiguousarray");
    return 0;
}

size_t tp_npy_parse(const uint8_t *p, size_t n, tp_tensor *t)
{
    if (!p || !t) return tp_fail(TP_ERR_ARG, "NULL npy buffer or tensor");
    memset(t, 0, sizeof *t);
    tp_reader r = tp_reader_init(p, n);
    const uint8_t *magic = tp_read_bytes(&r, TP_NPY_MAGIC_LEN);
    if (!magic) {
        if (n == 0 || memcmp(p, TP_NPY_MAGIC, n)) return tp_fail(TP_ERR_CORRUPT, "not a .npy file (bad magic)");
        return tp_fail(TP_ERR_TRUNCATED, "npy file ends inside its magic (%zu bytes)", n);
    }
    if (memcmp(magic, TP_NPY_MAGIC, TP_NPY_MAGIC_LEN)) return tp_fail(TP_ERR_CORRUPT, "not a .npy file (bad magic)");
    uint8_t major = tp_read_u8(&r), minor = tp_read_u8(&r);
    if (!r.ok) return tp_fail(TP_ERR_TRUNCATED, "npy file ends inside its version");
    if (major < 1 || major > 3 || minor != 0)
        return tp_fail(TP_ERR_VERSION, "npy format version %u.%u (this build reads 1.0, 2.0, 3.0)", major, minor);
    uint32_t hlen = major == 1 ? tp_read_u16(&r) : tp_read_u32(&r);
    const uint8_t *h = tp_read_bytes(&r, hlen);
    if (!r.ok) return tp_fail(TP_ERR_TRUNCATED, "npy header truncated (%zu bytes of file)", n);
    TP_TRY(parse_dict((const char *)h, hlen, t));
    size_t need = tp_tensor_nbytes(t);
    if (tp_is_error(need)) return tp_fail(TP_ERR_SHAPE, "npy shape is too large: %s", tp_last_error_detail());
    if (r.left < need)
        return tp_fail(TP_ERR_TRUNCATED, "npy data has %zu bytes, its shape needs %zu", r.left, need);
    if (r.left > need)
        return tp_fail(TP_ERR_CORRUPT, "npy file has %zu bytes after the array data", r.left - need);
    t->data = r.p;
    return 0;
}

/* ---- writing ----------------------------------------------------------- */

/* Writes numpy's spelling of dt ("<f4", "|u1") into d; 0 if it has none. */
static int npy_descr(tp_dtype dt, char d[4])
{
    for (size_t k = 0; k < sizeof npy_types / sizeof npy_types[0]; k++) {
        if (npy_types[k].dt != dt) continue;
        d[0] = npy_types[k].size == '1' ? '|' : '<';
        d[1] = npy_types[k].kind;
        d[2] = npy_types[k].size;
        d[3] = 0;
        return 1;
    }
    return 0;
}

size_t tp_npy_header(const tp_tensor *desc, uint8_t **out)
{
    if (!desc || !out) return tp_fail(TP_ERR_ARG, "NULL tensor or output");
    *out = NULL;
    TP_TRY(tp_tensor_nbytes(desc));
    if (desc->dtype == TP_BF16)
        return tp_fail(TP_ERR_DTYPE, "bf16 has no .npy dtype; write the tensor to .safetensors instead");
    char descr[4];
    if (!npy_descr(desc->dtype, descr)) return tp_fail(TP_ERR_DTYPE, "dtype %s has no .npy form", tp_dtype_name(desc->dtype));

    char dict[64 + TP_MAX_DIMS * 24];
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (uint32_t i = 0; i < desc->ndim; i++)
        len += snprintf(dict + len, sizeof dict - (size_t)len, "%s%llu", i ? ", " : "",
                        (unsigned long long)desc->shape[i]);
    len += snprintf(dict + len, sizeof dict - (size_t)len, "%s), }", desc->ndim == 1 ? "," : "");

    /* Version 1.0 unless the padded header outgrows its u16 length. */
    size_t pre = TP_NPY_MAGIC_LEN + 2 + 2;
    size_t total = ((pre + (size_t)len + 1 + NPY_ALIGN - 1) / NPY_ALIGN) * NPY_ALIGN;
    int major = 1;
    if (total - pre > NPY_V1_HEADER_MAX) {
        major = 2;
        pre += 2;
        total = ((pre + (size_t)len + 1 + NPY_ALIGN - 1) / NPY_ALIGN) * NPY_ALIGN;
    }
    uint8_t *b = malloc(total);
    if (!b) return tp_fail(TP_ERR_NOMEM, "npy header of %zu bytes", total);
    memcpy(b, TP_NPY_MAGIC, TP_NPY_MAGIC_LEN);
    b[6] = (uint8_t)major;
    b[7] = 0;
    if (major == 1) tp_put_u16(b + 8, (uint16_t)(total - pre));
    else tp_put_u32(b + 8, (uint32_t)(total - pre));
    memcpy(b + pre, dict, (size_t)len);
    memset(b + pre + len, ' ', total - pre - (size_t)len - 1);
    b[total - 1] = '\n';
    *out = b;
    return total;
}
