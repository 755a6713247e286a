/* Model inputs beyond the tensors of a single file: the metadata a file
 * carries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static int detail_has(const char *s)
{
    int ok = strstr(tp_last_error_detail(), s) != NULL;
    if (!ok) printf("  detail \"%s\" lacks \"%s\"\n", tp_last_error_detail(), s);
    return ok;
}

/* Opens path expecting the error code, with a detail; 1 if so. */
static int open_fails(const char *path, tp_error code)
{
    tp_tensor_file *f = (tp_tensor_file *)1;
    size_t r = tp_tensor_file_open(path, &f);
    if (!tp_is_error(r)) { tp_tensor_file_close(f); printf("  %s opened\n", path); return 0; }
    if (tp_error_code(r) != code) printf("  %s: got %s (%s)\n", path, tp_error_name(r), tp_last_error_detail());
    return tp_error_code(r) == code && f == NULL && tp_last_error_detail()[0];
}

/* ---- metadata ----------------------------------------------------------- */

/* A .safetensors file around header json and n zero data bytes. */
static int write_st(const char *path, const char *json, size_t ndata)
{
    size_t len = strlen(json), hl = (len + 7) / 8 * 8;
    uint8_t *b = calloc(1, 8 + hl + ndata);
    if (!b) return 0;
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(hl >> (8 * i));
    memcpy(b + 8, json, len);
    memset(b + 8 + len, ' ', hl - len);
    int ok = th_write_file(path, b, 8 + hl + ndata);
    free(b);
    return ok;
}

TEST(inputs_safetensors_metadata_kept)
{
    const char *path = th_tmp_path(".safetensors");
    CHECK(write_st(path, "{\"__metadata__\": {\"format\": \"pt\", \"note\": \"a \\\"q\\\"\"},"
                         " \"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8));
    tp_tensor_file *f;
    CHECK_OK(tp_tensor_file_open(path, &f));
    const char *meta = tp_tensor_file_metadata(f);
    int ok = tp_tensor_file_count(f) == 1 && meta && !strcmp(meta, "{\"format\":\"pt\",\"note\":\"a \\\"q\\\"\"}");
    if (!ok) printf("  metadata: %s\n", meta ? meta : "(null)");
    tp_tensor_file_close(f);
    CHECK(ok);
    /* None given: NULL; an empty object stays an object. */
    CHECK(write_st(path, "{\"w\": {\"dtype\": \"U8\", \"shape\": [1], \"data_offsets\": [0, 1]}}", 1));
    CHECK_OK(tp_tensor_file_open(path, &f));
    ok = tp_tensor_file_metadata(f) == NULL;
    tp_tensor_file_close(f);
    CHECK(ok);
    CHECK(write_st(path, "{\"__metadata__\": {}}", 0));
    CHECK_OK(tp_tensor_file_open(path, &f));
    ok = tp_tensor_file_metadata(f) && !strcmp(tp_tensor_file_metadata(f), "{}");
    tp_tensor_file_close(f);
    CHECK(ok);
    /* Values must be strings; the object comes once. */
    CHECK(write_st(path, "{\"__metadata__\": {\"n\": 1}}", 0));
    CHECK(open_fails(path, TP_ERR_CORRUPT) && detail_has("not a string"));
    CHECK(write_st(path, "{\"__metadata__\": {}, \"__metadata__\": {}}", 0));
    CHECK(open_fails(path, TP_ERR_CORRUPT) && detail_has("twice"));
    unlink(path);
    CHECK(tp_tensor_file_metadata(NULL) == NULL);
}
