/* Tensor files: .npy and .safetensors round trips, files written by numpy
 * and the reference safetensors package, and every kind of bad input. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* ---- helpers ------------------------------------------------------------ */

static int file_exists(const char *path) { return access(path, F_OK) == 0; }

/* Entries of dir other than . and .. */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void fill(uint8_t *p, size_t n, tp_dtype dt)
{
    for (size_t k = 0; k < n; k++) p[k] = dt == TP_BOOL ? (uint8_t)(k & 1) : (uint8_t)(k * 31 + (size_t)dt * 7);
}

static tp_tensor desc(tp_dtype dt, uint32_t ndim, uint64_t d0, uint64_t d1, uint64_t d2)
{
    tp_tensor t = {.dtype = dt, .ndim = ndim, .shape = {d0, d1, d2}};
    return t;
}

static int same_shape(const tp_tensor *a, const tp_tensor *b)
{
    if (a->dtype != b->dtype || a->ndim != b->ndim) return 0;
    for (uint32_t i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

/* Writes tensors with fill() data; returns the writer's final result. */
static size_t write_tensors(const char *path, const char *const *names, const tp_tensor *d, size_t n)
{
    tp_tensor_writer *w;
    size_t r = tp_tensor_writer_open(path, names, d, n, &w);
    if (tp_is_error(r)) return r;
    for (size_t i = 0; i < n; i++) {
        size_t nb = tp_tensor_nbytes(&d[i]);
        uint8_t *buf = malloc(nb ? nb : 1);
        fill(buf, nb, d[i].dtype);
        r = tp_tensor_writer_put(w, i, buf, nb);
        free(buf);
        if (tp_is_error(r)) { tp_tensor_writer_abort(w); return r; }
    }
    return tp_tensor_writer_finish(w);
}

/* 1 if path holds exactly the tensors write_tensors wrote. */
static int check_tensors(const char *path, const char *const *names, const tp_tensor *d, size_t n)
{
    tp_tensor_file *f;
    if (tp_is_error(tp_tensor_file_open(path, &f))) return 0;
    int ok = tp_tensor_file_count(f) == n;
    for (size_t i = 0; ok && i < n; i++) {
        tp_tensor t;
        ok = !tp_is_error(tp_tensor_file_get(f, i, &t)) && same_shape(&t, &d[i]);
        if (ok && names) ok = !strcmp(tp_tensor_file_name(f, i), names[i]);
        size_t nb = tp_tensor_nbytes(&d[i]);
        uint8_t *want = malloc(nb ? nb : 1);
        fill(want, nb, d[i].dtype);
        if (ok) ok = nb == 0 || !memcmp(t.data, want, nb);
        free(want);
    }
    tp_tensor_file_close(f);
    return ok;
}

/* Opens path expecting failure with code; 1 if so. */
static int open_fails(const char *path, tp_error code)
{
    tp_tensor_file *f = (tp_tensor_file *)1;
    size_t r = tp_tensor_file_open(path, &f);
    if (!tp_is_error(r)) { tp_tensor_file_close(f); return 0; }
    if (tp_error_code(r) != code) printf("  got %s (%s)\n", tp_error_name(r), tp_last_error_detail());
    return tp_error_code(r) == code && f == NULL && tp_last_error_detail()[0];
}

static int detail_has(const char *s) { return strstr(tp_last_error_detail(), s) != NULL; }

/* A .npy file of the given version around a header dict, padded to 64
 * bytes, followed by n data bytes. */
static size_t make_npy(uint8_t *out, int major, const char *dict, size_t ndata)
{
    size_t pre = major == 1 ? 10 : 12, len = strlen(dict);
    size_t total = (pre + len + 1 + 63) / 64 * 64;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (uint8_t)major;
    out[7] = 0;
    size_t h = total - pre;
    for (size_t i = 0; i < pre - 8; i++) out[8 + i] = (uint8_t)(h >> (8 * i));
    memcpy(out + pre, dict, len);
    memset(out + pre + len, ' ', total - pre - len - 1);
    out[total - 1] = '\n';
    fill(out + total, ndata, TP_U8);
    return total + ndata;
}

static int npy_fails(const char *dict, size_t ndata, tp_error code)
{
    uint8_t buf[1024];
    const char *path = th_tmp_path(".npy");
    if (!th_write_file(path, buf, make_npy(buf, 1, dict, ndata))) return 0;
    int ok = open_fails(path, code);
    if (!ok) printf("  header: %s\n", dict);
    unlink(path);
    return ok;
}

/* A .safetensors file around a JSON header (padded to 8 with spaces). */
static size_t make_st(uint8_t *out, const char *json, size_t ndata)
{
    size_t len = strlen(json), padded = (len + 7) / 8 * 8;
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    memcpy(out + 8, json, len);
    memset(out + 8 + len, ' ', padded - len);
    fill(out + 8 + padded, ndata, TP_U8);
    return 8 + padded + ndata;
}

static int st_fails(const char *json, size_t ndata, tp_error code)
{
    uint8_t buf[2048];
    const char *path = th_tmp_path(".safetensors");
    if (!th_write_file(path, buf, make_st(buf, json, ndata))) return 0;
    int ok = open_fails(path, code);
    if (!ok) printf("  header: %s\n", json);
    unlink(path);
    return ok;
}

static int st_opens(const char *json, size_t ndata, size_t count)
{
    uint8_t buf[2048];
    const char *path = th_tmp_path(".safetensors");
    if (!th_write_file(path, buf, make_st(buf, json, ndata))) return 0;
    tp_tensor_file *f;
    size_t r = tp_tensor_file_open(path, &f);
    unlink(path);
    if (tp_is_error(r)) { printf("  %s: %s\n", json, tp_last_error_detail()); return 0; }
    int ok = tp_tensor_file_count(f) == count;
    tp_tensor_file_close(f);
    return ok;
}

/* Opens path; if it opens, touches every byte of every tensor. */
static void open_and_read(const char *path)
{
    tp_tensor_file *f;
    if (tp_is_error(tp_tensor_file_open(path, &f))) return;
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < tp_tensor_file_count(f); i++) {
        tp_tensor t;
        if (tp_is_error(tp_tensor_file_get(f, i, &t))) continue;
        size_t nb = tp_tensor_nbytes(&t);
        for (size_t k = 0; k < nb; k++) sink ^= ((const uint8_t *)t.data)[k];
    }
    (void)sink;
    tp_tensor_file_close(f);
}

/* ---- round trips -------------------------------------------------------- */

TEST(io_safetensors_roundtrip_all_dtypes)
{
    static const char *const names[] = {"f32", "f16", "bf16", "f64", "i8", "u8", "i16",
                                        "u16", "i32", "u32",  "i64", "u64", "bool"};
    tp_tensor d[TP_DTYPE__MAX - 1];
    for (int i = 1; i < TP_DTYPE__MAX; i++) d[i - 1] = desc((tp_dtype)i, 2, 3, (uint64_t)i, 0);
    const char *path = th_tmp_path(".safetensors");
    CHECK_OK(write_tensors(path, names, d, TP_DTYPE__MAX - 1));
    CHECK(check_tensors(path, names, d, TP_DTYPE__MAX - 1));
    size_t n;
    uint8_t *b = th_read_file(path, &n);
    CHECK(b);
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)b[i] << (8 * i);
    int ok = hlen % 8 == 0 && b[8] == '{' && b[8 + hlen - 1] == ' ';
    free(b);
    CHECK(ok);
    unlink(path);
}

TEST(io_npy_roundtrip_all_dtypes)
{
    for (int i = 1; i < TP_DTYPE__MAX; i++) {
        if (i == TP_BF16) continue;
        tp_tensor d = desc((tp_dtype)i, 3, 2, 3, 4);
        const char *path = th_tmp_path(".npy");
        CHECK_OK(write_tensors(path, NULL, &d, 1));
        size_t n;
        uint8_t *b = th_read_file(path, &n);
        CHECK(b);
        size_t hlen = (size_t)b[8] | (size_t)b[9] << 8;
        int ok = b[6] == 1 && b[7] == 0 && (10 + hlen) % 64 == 0 && b[9 + hlen] == '\n';
        free(b);
        CHECK(ok);
        CHECK(check_tensors(path, NULL, &d, 1));
        unlink(path);
    }
}

TEST(io_npy_bf16_write_refused)
{
    char dir[] = "/tmp/tp_io_XXXXXX";
    CHECK(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/w.npy", dir);
    tp_tensor d = desc(TP_BF16, 1, 4, 0, 0);
    tp_tensor_writer *w = (tp_tensor_writer *)1;
    CHECK_ERR(tp_tensor_writer_open(path, NULL, &d, 1, &w), TP_ERR_DTYPE);
    CHECK(detail_has("safetensors"));
    CHECK(w == NULL);
    CHECK(dir_entries(dir) == 0);
    rmdir(dir);
}

TEST(io_roundtrip_scalar_single_empty)
{
    const tp_tensor shapes[] = {
        desc(TP_F32, 0, 0, 0, 0), desc(TP_I64, 1, 1, 0, 0), desc(TP_F16, 3, 3, 0, 2), desc(TP_U8, 1, 0, 0, 0),
    };
    static const char *const names[] = {"scalar", "one", "empty", "empty1d"};
    const char *path = th_tmp_path(".safetensors");
    CHECK_OK(write_tensors(path, names, shapes, 4));
    CHECK(check_tensors(path, names, shapes, 4));
    unlink(path);
    for (int i = 0; i < 4; i++) {
        path = th_tmp_path(".npy");
        CHECK_OK(write_tensors(path, NULL, &shapes[i], 1));
        CHECK(check_tensors(path, NULL, &shapes[i], 1));
        unlink(path);
    }
    /* All tensors empty: the data section is empty too. */
    path = th_tmp_path(".safetensors");
    CHECK_OK(write_tensors(path, names + 2, shapes + 2, 2));
    CHECK(check_tensors(path, names + 2, shapes + 2, 2));
    unlink(path);
    CHECK_OK(write_tensors(path, NULL, NULL, 0));
    CHECK(check_tensors(path, NULL, NULL, 0));
    unlink(path);
}

TEST(io_safetensors_keeps_order_and_names)
{
    static const char *const names[] = {"z.last", "a.first", "m \"quoted\"\\ \xc3\xa9", "tab\there"};
    tp_tensor d[4];
    for (int i = 0; i < 4; i++) d[i] = desc(TP_F32, 1, (uint64_t)i + 1, 0, 0);
    const char *path = th_tmp_path(".safetensors");
    CHECK_OK(write_tensors(path, names, d, 4));
    CHECK(check_tensors(path, names, d, 4));
    unlink(path);
}

TEST(io_npy_name_is_stem)
{
    char dir[] = "/tmp/tp_io_XXXXXX";
    CHECK(mkdtemp(dir));
    char path[96];
    snprintf(path, sizeof path, "%s/layer.0.weight.npy", dir);
    tp_tensor d = desc(TP_F32, 1, 3, 0, 0);
    CHECK_OK(write_tensors(path, NULL, &d, 1));
    tp_tensor_file *f;
    CHECK_OK(tp_tensor_file_open(path, &f));
    int ok = !strcmp(tp_tensor_file_name(f, 0), "layer.0.weight") && tp_tensor_file_name(f, 1) == NULL;
    tp_tensor t;
    ok = ok && tp_error_code(tp_tensor_file_get(f, 1, &t)) == TP_ERR_NOT_FOUND;
    tp_tensor_file_close(f);
    unlink(path);
    rmdir(dir);
    CHECK(ok);
}

/* ---- files written by numpy and the reference safetensors -------------- */

TEST(io_fixture_npy_from_numpy)
{
    char path[512];
    snprintf(path, sizeof path, "%s/fixture_f16.npy", th_data_dir());
    tp_tensor_file *f;
    CHECK_OK(tp_tensor_file_open(path, &f));
    tp_tensor t;
    size_t r = tp_tensor_file_get(f, 0, &t);
    int ok = !tp_is_error(r) && tp_tensor_file_count(f) == 1 && !strcmp(tp_tensor_file_name(f, 0), "fixture_f16") &&
             t.dtype == TP_F16 && t.ndim == 2 && t.shape[0] == 3 && t.shape[1] == 5;
    for (int i = 0; ok && i < 15; i++) {
        uint16_t h;
        memcpy(&h, (const uint8_t *)t.data + 2 * i, 2);
        ok = tp_f16_to_f32(h) == (float)((i - 7) * 0.25);
    }
    /* Our writer produces numpy's exact bytes for the same array. */
    size_t n;
    uint8_t *ref = th_read_file(path, &n);
    const char *mine = th_tmp_path(".npy");
    tp_tensor d = t;
    tp_tensor_writer *w;
    if (ok) ok = !tp_is_error(tp_tensor_writer_open(mine, NULL, &d, 1, &w));
    if (ok) ok = !tp_is_error(tp_tensor_writer_put(w, 0, t.data, 30)) && !tp_is_error(tp_tensor_writer_finish(w));
    tp_tensor_file_close(f);
    size_t m = 0;
    uint8_t *got = ok ? th_read_file(mine, &m) : NULL;
    ok = ok && ref && got && m == n && !memcmp(ref, got, n);
    free(ref);
    free(got);
    unlink(mine);
    CHECK(ok);
}

TEST(io_fixture_safetensors_from_reference)
{
    char path[512];
    snprintf(path, sizeof path, "%s/fixture.safetensors", th_data_dir());
    tp_tensor_file *f;
    CHECK_OK(tp_tensor_file_open(path, &f));
    int ok = tp_tensor_file_count(f) == 2;
    for (size_t i = 0; ok && i < 2; i++) {
        tp_tensor t;
        ok = !tp_is_error(tp_tensor_file_get(f, i, &t));
        const char *name = tp_tensor_file_name(f, i);
        if (ok && !strcmp(name, "weight")) {
            ok = t.dtype == TP_F32 && t.ndim == 2 && t.shape[0] == 2 && t.shape[1] == 3;
            for (int k = 0; ok && k < 6; k++) {
                float v;
                memcpy(&v, (const uint8_t *)t.data + 4 * k, 4);
                ok = v == (float)k * 1.5f - 2.0f;
            }
        } else if (ok && !strcmp(name, "ids")) {
            ok = t.dtype == TP_I64 && t.ndim == 1 && t.shape[0] == 4;
            for (int k = 0; ok && k < 4; k++) {
                int64_t v;
                memcpy(&v, (const uint8_t *)t.data + 8 * k, 8);
                ok = v == (int64_t)k * 1000000007 - 3;
            }
        } else {
            ok = 0;
        }
    }
    /* The reference writes "ids" first (larger alignment); given that
     * order our writer produces the same bytes. */
    static const char *const order[] = {"ids", "weight"};
    ok = ok && !strcmp(tp_tensor_file_name(f, 0), "ids");
    tp_tensor d[2];
    const char *mine = th_tmp_path(".safetensors");
    tp_tensor_writer *w = NULL;
    ok = ok && !tp_is_error(tp_tensor_file_get(f, 0, &d[0])) && !tp_is_error(tp_tensor_file_get(f, 1, &d[1]));
    ok = ok && !tp_is_error(tp_tensor_writer_open(mine, order, d, 2, &w));
    ok = ok && !tp_is_error(tp_tensor_writer_put(w, 0, d[0].data, 32)) &&
         !tp_is_error(tp_tensor_writer_put(w, 1, d[1].data, 24));
    if (w) ok = !tp_is_error(tp_tensor_writer_finish(w)) && ok;
    tp_tensor_file_close(f);
    size_t n, m = 0;
    uint8_t *ref = th_read_file(path, &n), *got = ok ? th_read_file(mine, &m) : NULL;
    ok = ok && ref && got && m == n && !memcmp(ref, got, n);
    free(ref);
    free(got);
    unlink(mine);
    CHECK(ok);
}

/* ---- npy parsing -------------------------------------------------------- */

TEST(io_npy_versions)
{
    uint8_t buf[512];
    const char *dict = "{'descr': '<i2', 'fortran_order': False, 'shape': (2, 3), }";
    for (int major = 1; major <= 3; major++) {
        const char *path = th_tmp_path(".npy");
        CHECK(th_write_file(path, buf, make_npy(buf, major, dict, 12)));
        tp_tensor_file *f;
        CHECK_OK(tp_tensor_file_open(path, &f));
        tp_tensor t;
        size_t r = tp_tensor_file_get(f, 0, &t);
        int ok = !tp_is_error(r) && t.dtype == TP_I16 && t.ndim == 2 && t.shape[0] == 2 && t.shape[1] == 3;
        tp_tensor_file_close(f);
        unlink(path);
        CHECK(ok);
    }
    /* Minor versions other than 0 and major 4 are refused. */
    const char *path = th_tmp_path(".npy");
    size_t n = make_npy(buf, 1, dict, 12);
    buf[7] = 1;
    CHECK(th_write_file(path, buf, n));
    CHECK(open_fails(path, TP_ERR_VERSION));
    n = make_npy(buf, 2, dict, 12);
    buf[6] = 4;
    CHECK(th_write_file(path, buf, n));
    CHECK(open_fails(path, TP_ERR_VERSION));
    unlink(path);
}

TEST(io_npy_lenient_spellings)
{
    static const char *const ok_dicts[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }",
        "{\"shape\": (2,3), \"fortran_order\": False, \"descr\": \"<f4\"}",
        "{'descr':'<f4','fortran_order':False,'shape':(2L, 3L)}",
        "  { 'descr' : '<f4' , 'fortran_order' : False , 'shape' : ( 1 , 2 , 3 , ) }  ",
        /* One-byte dtypes take any byte-order mark. */
        "{'descr': '<u1', 'fortran_order': False, 'shape': (24,), }",
        "{'descr': '>i1', 'fortran_order': False, 'shape': (24,), }",
        "{'descr': '|b1', 'fortran_order': False, 'shape': (4, 6), }",
    };
    for (size_t i = 0; i < sizeof ok_dicts / sizeof ok_dicts[0]; i++) {
        uint8_t buf[512];
        const char *path = th_tmp_path(".npy");
        CHECK(th_write_file(path, buf, make_npy(buf, 1, ok_dicts[i], 24)));
        tp_tensor_file *f;
        CHECK_OK(tp_tensor_file_open(path, &f));
        tp_tensor_file_close(f);
        unlink(path);
    }
}

TEST(io_npy_bad_inputs)
{
    CHECK(npy_fails("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24, TP_ERR_UNSUPPORTED));
    CHECK(detail_has("Fortran-order arrays are not supported; save with np.ascontiguousarray"));
    CHECK(npy_fails("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16, TP_ERR_DTYPE));
    CHECK(detail_has("pickle"));
    CHECK(npy_fails("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, TP_ERR_DTYPE));
    CHECK(detail_has("big-endian"));
    CHECK(npy_fails("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16, TP_ERR_DTYPE));
    CHECK(npy_fails("{'descr': '<U4', 'fortran_order': False, 'shape': (2,), }", 32, TP_ERR_DTYPE));
    CHECK(npy_fails("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8, TP_ERR_DTYPE));
    CHECK(npy_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", 0, TP_ERR_SHAPE));
    CHECK(npy_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 0, TP_ERR_SHAPE));
    CHECK(npy_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 0, TP_ERR_SHAPE));
    CHECK(npy_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4, TP_ERR_SHAPE));
    CHECK(npy_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 23, TP_ERR_TRUNCATED));
    CHECK(npy_fails("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 25, TP_ERR_CORRUPT));
    static const char *const malformed[] = {
        "",
        "{",
        "'descr': '<f4'",
        "{'descr': '<f4', 'fortran_order': False}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}",
        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}",
        "{'descr': '<f4', 'fortran_order': false, 'shape': (6,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (6)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': [6]}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (6,,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (6,)} x",
        "{'descr': '<f4' 'fortran_order': False, 'shape': (6,)}",
        "{'descr: '<f4', 'fortran_order': False, 'shape': (6,)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (6,)",
        "{descr: '<f4', fortran_order: False, shape: (6,)}",
    };
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) CHECK(npy_fails(malformed[i], 24, TP_ERR_CORRUPT));

    /* Bad magic, and a header that runs past the end of the file. */
    uint8_t buf[512];
    const char *path = th_tmp_path(".npy");
    size_t n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8);
    buf[1] = 'n';
    CHECK(th_write_file(path, buf, n));
    CHECK(open_fails(path, TP_ERR_CORRUPT));
    CHECK(detail_has("magic"));
    buf[1] = 'N';
    buf[8] = 0xff;
    buf[9] = 0x7f;
    CHECK(th_write_file(path, buf, n));
    CHECK(open_fails(path, TP_ERR_TRUNCATED));
    unlink(path);
}

/* ---- safetensors parsing ------------------------------------------------ */

TEST(io_safetensors_accepts)
{
    CHECK(st_opens("{}", 0, 0));
    CHECK(st_opens("{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}",
                   2, 1));
    /* Gaps and an empty tensor sitting inside another's range are harmless. */
    CHECK(st_opens("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]},"
                   "\"b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[5,5]},"
                   "\"c\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[0,2]}}",
                   8, 3));
    /* Unknown per-tensor fields are ignored; whitespace is JSON's. */
    CHECK(st_opens("{ \"a\" : { \"x\" : 1, \"dtype\" : \"BOOL\", \"shape\" : [ ], \"data_offsets\" : [ 0 , 1 ] } }", 1, 1));
}

TEST(io_safetensors_bad_inputs)
{
#define T1(fields) "{\"w\":{" fields "}}"
    CHECK(st_fails(T1("\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]"), 2, TP_ERR_DTYPE));
    CHECK(detail_has("'w'") && detail_has("F8_E4M3"));
    CHECK(st_fails(T1("\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]"), 8, TP_ERR_DTYPE));
    CHECK(st_fails(T1("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]"), 7, TP_ERR_TRUNCATED));
    CHECK(st_fails(T1("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]"), 8, TP_ERR_CORRUPT));
    CHECK(st_fails(T1("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]"), 8, TP_ERR_CORRUPT));
    CHECK(st_fails(T1("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,9]"), 9, TP_ERR_CORRUPT));
    CHECK(st_fails(T1("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-1,7]"), 9, TP_ERR_CORRUPT));
    CHECK(st_fails(T1("\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0.5,8.5]"), 9, TP_ERR_CORRUPT));
    CHECK(st_fails(T1("\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]"), 8, TP_ERR_SHAPE));
    CHECK(st_fails(T1("\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]"), 8, TP_ERR_SHAPE));
    CHECK(st_fails(T1("\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]"), 4, TP_ERR_SHAPE));
    CHECK(st_fails(T1("\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]"), 0, TP_ERR_SHAPE));
    CHECK(st_fails(T1("\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,0]"), 0, TP_ERR_SHAPE));
    CHECK(st_fails(T1("\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]"), 8, TP_ERR_CORRUPT));
    CHECK(st_fails(T1("\"dtype\":\"F32\",\"data_offsets\":[0,8]"), 8, TP_ERR_CORRUPT));
    CHECK(st_fails(T1("\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]"), 8, TP_ERR_CORRUPT));
    CHECK(st_fails(T1("\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]"), 8, TP_ERR_CORRUPT));
    CHECK(st_fails("{\"w\":[1,2]}", 0, TP_ERR_CORRUPT));
    CHECK(st_fails("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                   "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[3,5]}}",
                   5, TP_ERR_CORRUPT));
    CHECK(detail_has("overlap"));
    CHECK(st_fails("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                   "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
                   2, TP_ERR_CORRUPT));
    CHECK(st_fails("{\"__metadata__\":[1]}", 0, TP_ERR_CORRUPT));
    CHECK(st_fails("{\"__metadata__\":{\"k\":1}}", 0, TP_ERR_CORRUPT));
    CHECK(st_fails("[]", 0, TP_ERR_CORRUPT));
    CHECK(st_fails("{\"a\":", 0, TP_ERR_CORRUPT));
    CHECK(st_fails("{} {}", 0, TP_ERR_CORRUPT));
    CHECK(st_fails("{\"\xff\":{}}", 0, TP_ERR_CORRUPT));
    CHECK(st_fails("{\"\xc0\x80\":{}}", 0, TP_ERR_CORRUPT));
#undef T1

    uint8_t buf[256];
    const char *path = th_tmp_path(".safetensors");
    /* Header length beyond the file, and beyond the 100 MB limit. */
    size_t n = make_st(buf, "{}", 0);
    buf[0] = 64;
    CHECK(th_write_file(path, buf, n));
    CHECK(open_fails(path, TP_ERR_TRUNCATED));
    buf[0] = 0;
    buf[4] = 1; /* 2^32 */
    CHECK(th_write_file(path, buf, n));
    CHECK(open_fails(path, TP_ERR_CORRUPT));
    CHECK(detail_has("100 MB"));
    /* A NUL inside the header. */
    n = make_st(buf, "{\"a\"    :{}}", 0);
    buf[12] = 0;
    CHECK(th_write_file(path, buf, n));
    CHECK(open_fails(path, TP_ERR_CORRUPT));
    /* Shorter than the length field. */
    CHECK(th_write_file(path, "{}", 2));
    CHECK(open_fails(path, TP_ERR_TRUNCATED));
    unlink(path);
}

TEST(io_open_errors)
{
    tp_tensor_file *f;
    CHECK_ERR(tp_tensor_file_open("/nonexistent/dir/x.npy", &f), TP_ERR_NOT_FOUND);
    CHECK_ERR(tp_tensor_file_open("/dev/null", &f), TP_ERR_IO); /* not a regular file */
    CHECK_ERR(tp_tensor_file_open(NULL, &f), TP_ERR_ARG);
    const char *path = th_tmp_path(".npy");
    CHECK(th_write_file(path, "", 0));
    CHECK(open_fails(path, TP_ERR_TRUNCATED));
    unlink(path);
    CHECK(tp_tensor_file_count(NULL) == 0 && tp_tensor_file_name(NULL, 0) == NULL);
    tp_tensor_file_close(NULL);
}

/* ---- corruption --------------------------------------------------------- */

/* Every proper prefix of a valid file is refused, cleanly. */
static int truncations_fail(const char *suffix, const tp_tensor *d, const char *const *names, size_t n)
{
    const char *path = th_tmp_path(suffix), *cut = th_tmp_path(suffix);
    if (tp_is_error(write_tensors(path, names, d, n))) return 0;
    size_t len;
    uint8_t *b = th_read_file(path, &len);
    int ok = b != NULL;
    for (size_t k = 0; ok && k < len; k++) {
        tp_tensor_file *f;
        ok = th_write_file(cut, b, k);
        size_t r = tp_tensor_file_open(cut, &f);
        if (!tp_is_error(r)) { printf("  %s cut at %zu of %zu opened\n", suffix, k, len); tp_tensor_file_close(f); ok = 0; }
    }
    free(b);
    unlink(path);
    unlink(cut);
    return ok;
}

TEST(io_truncation_every_length)
{
    tp_tensor d[3] = {desc(TP_F32, 2, 3, 5, 0), desc(TP_U8, 1, 0, 0, 0), desc(TP_I16, 0, 0, 0, 0)};
    static const char *const names[] = {"w", "empty", "s"};
    CHECK(truncations_fail(".npy", d, NULL, 1));
    CHECK(truncations_fail(".safetensors", d, names, 3));
    /* An empty tensor last: cutting the data still cuts a needed byte. */
    tp_tensor e[2] = {desc(TP_I8, 1, 3, 0, 0), desc(TP_F64, 2, 0, 4, 0)};
    CHECK(truncations_fail(".safetensors", e, names, 2));
}

/* Flipping any byte of a valid file gives either a file whose tensors can
 * all be read, or an error (sanitizer builds catch stray reads). */
TEST(io_byte_flips_are_safe)
{
    tp_tensor d[2] = {desc(TP_F16, 2, 2, 3, 0), desc(TP_I32, 1, 2, 0, 0)};
    static const char *const names[] = {"a", "b"};
    const char *suffixes[] = {".npy", ".safetensors"};
    for (int s = 0; s < 2; s++) {
        const char *path = th_tmp_path(suffixes[s]);
        CHECK_OK(write_tensors(path, names, d, s ? 2 : 1));
        size_t len;
        uint8_t *b = th_read_file(path, &len);
        CHECK(b);
        for (size_t k = 0; k < len; k++) {
            static const uint8_t flips[] = {0xff, 0x01, 0x80};
            for (int j = 0; j < 3; j++) {
                b[k] ^= flips[j];
                th_write_file(path, b, len);
                open_and_read(path);
                b[k] ^= flips[j];
            }
        }
        free(b);
        unlink(path);
    }
}

/* ---- writer ------------------------------------------------------------- */

TEST(io_writer_abort_leaves_nothing)
{
    char dir[] = "/tmp/tp_io_XXXXXX";
    CHECK(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/out.safetensors", dir);
    tp_tensor d[2] = {desc(TP_F32, 1, 4, 0, 0), desc(TP_F32, 1, 2, 0, 0)};
    static const char *const names[] = {"a", "b"};
    float x[4] = {1, 2, 3, 4};

    tp_tensor_writer *w;
    CHECK_OK(tp_tensor_writer_open(path, names, d, 2, &w));
    CHECK(dir_entries(dir) == 1); /* the temp file */
    CHECK(!file_exists(path));
    CHECK_OK(tp_tensor_writer_put(w, 0, x, sizeof x));
    tp_tensor_writer_abort(w);
    CHECK(dir_entries(dir) == 0);

    /* Misuse is refused; finishing early fails and removes the temp file. */
    CHECK_OK(tp_tensor_writer_open(path, names, d, 2, &w));
    CHECK_ERR(tp_tensor_writer_put(w, 1, x, 8), TP_ERR_ARG);
    CHECK_ERR(tp_tensor_writer_put(w, 0, x, 8), TP_ERR_ARG);
    CHECK_ERR(tp_tensor_writer_put(w, 0, NULL, sizeof x), TP_ERR_ARG);
    CHECK_OK(tp_tensor_writer_put(w, 0, x, sizeof x));
    CHECK_ERR(tp_tensor_writer_finish(w), TP_ERR_ARG);
    CHECK(dir_entries(dir) == 0);

    /* A finished write replaces an existing file whole. */
    CHECK(th_write_file(path, "old", 3));
    CHECK_OK(tp_tensor_writer_open(path, names, d, 2, &w));
    CHECK_OK(tp_tensor_writer_put(w, 0, x, sizeof x));
    CHECK_OK(tp_tensor_writer_put(w, 1, x, 8));
    CHECK_OK(tp_tensor_writer_finish(w));
    CHECK(dir_entries(dir) == 1);
    tp_tensor_file *f;
    CHECK_OK(tp_tensor_file_open(path, &f));
    tp_tensor_file_close(f);
    unlink(path);

    /* A directory that does not exist fails at open. */
    CHECK_ERR(tp_tensor_writer_open("/nonexistent/dir/x.safetensors", names, d, 2, &w), TP_ERR_IO);
    rmdir(dir);
}

TEST(io_writer_bad_arguments)
{
    tp_tensor d[2] = {desc(TP_F32, 1, 4, 0, 0), desc(TP_F32, 1, 2, 0, 0)};
    static const char *const dup[] = {"a", "a"}, *const reserved[] = {"a", "__metadata__"},
                             *const empty[] = {"a", ""}, *const bad_utf8[] = {"a", "\xff"};
    const char *path = th_tmp_path(".safetensors");
    tp_tensor_writer *w;
    CHECK_ERR(tp_tensor_writer_open(path, dup, d, 2, &w), TP_ERR_ARG);
    CHECK_ERR(tp_tensor_writer_open(path, reserved, d, 2, &w), TP_ERR_ARG);
    CHECK_ERR(tp_tensor_writer_open(path, empty, d, 2, &w), TP_ERR_ARG);
    CHECK_ERR(tp_tensor_writer_open(path, bad_utf8, d, 2, &w), TP_ERR_ARG);
    CHECK_ERR(tp_tensor_writer_open(path, NULL, d, 2, &w), TP_ERR_ARG);
    CHECK_ERR(tp_tensor_writer_open(th_tmp_path(".npy"), NULL, d, 2, &w), TP_ERR_ARG);
    tp_tensor bad = desc(TP_DTYPE_INVALID, 1, 4, 0, 0);
    CHECK_ERR(tp_tensor_writer_open(th_tmp_path(".npy"), NULL, &bad, 1, &w), TP_ERR_DTYPE);
    bad = desc(TP_F32, 9, 1, 1, 1);
    CHECK_ERR(tp_tensor_writer_open(path, dup, &bad, 1, &w), TP_ERR_SHAPE);
    bad = desc(TP_F64, 3, 1u << 30, 1u << 30, 1u << 30);
    CHECK_ERR(tp_tensor_writer_open(path, dup, &bad, 1, &w), TP_ERR_SHAPE);
    CHECK(!file_exists(path));
}

/* Metadata becomes __metadata__; values that are not strings keep their
 * JSON text; anything but an object is refused before a file exists. */
TEST(io_writer_metadata)
{
    tp_tensor d = desc(TP_F32, 1, 2, 0, 0);
    static const char *const names[] = {"a"};
    const float x[2] = {1, 2};
    const char *path = th_tmp_path(".safetensors");
    tp_tensor_writer *w;
    CHECK_OK(tp_tensor_writer_open_meta(path, names, &d, 1, "{\"format\":\"pt\",\"total_size\":8}", &w));
    CHECK_OK(tp_tensor_writer_put(w, 0, x, sizeof x));
    CHECK_OK(tp_tensor_writer_finish(w));
    tp_tensor_file *f;
    CHECK_OK(tp_tensor_file_open(path, &f));
    const char *m = tp_tensor_file_metadata(f);
    CHECK(m && !strcmp(m, "{\"format\":\"pt\",\"total_size\":\"8\"}"));
    tp_tensor_file_close(f);
    unlink(path);
    CHECK_ERR(tp_tensor_writer_open_meta(path, names, &d, 1, "[1,2]", &w), TP_ERR_ARG);
    CHECK_ERR(tp_tensor_writer_open_meta(path, names, &d, 1, "{\"a\":", &w), TP_ERR_ARG);
    CHECK(!file_exists(path));
}

/* Every kind by its first bytes; a short head is unknown, never another kind. */
TEST(io_sniff_kinds)
{
    static const struct { const char *head; size_t n; tp_file_kind kind; } cases[] = {
        {"TPZA\1\0\0\0", 8, TP_FILE_ARCHIVE},
        {"TPFR\1\0\0\0", 8, TP_FILE_FRAME},
        {"GGUF\3\0\0\0", 8, TP_FILE_GGUF},
        {"\x93NUMPY\1\0", 8, TP_FILE_NPY},
        {"\x10\0\0\0\0\0\0\0{\"a\":", 13, TP_FILE_SAFETENSORS},
        {"\x89PNG\r\n\x1a\n", 8, TP_FILE_PNG},
        {"\xff\xd8\xff\xe0", 4, TP_FILE_JPEG},
        {"\x89PNG\r\n\x1a", 7, TP_FILE_UNKNOWN},
        {"\x10\0\0\0\0\0\0\0", 8, TP_FILE_UNKNOWN},
        {"hello world", 11, TP_FILE_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        CHECK(tp_sniff(cases[i].head, cases[i].n) == cases[i].kind);
    CHECK(tp_sniff(NULL, 0) == TP_FILE_UNKNOWN);
    CHECK(!strcmp(tp_file_kind_name(TP_FILE_SAFETENSORS), "safetensors"));
    CHECK(!strcmp(tp_file_kind_name((tp_file_kind)99), "unknown"));
    tp_file_kind k;
    CHECK_ERR(tp_sniff_path("/nonexistent/x.npy", &k), TP_ERR_IO);
    CHECK_OK(tp_sniff_path(th_data_path("fixture.safetensors"), &k));
    CHECK(k == TP_FILE_SAFETENSORS);
}
