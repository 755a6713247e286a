/* PNG via libpng's simplified API, JPEG via libjpeg(-turbo) (see image.h). */
#include "format/image.h"

#include <stddef.h>
#include <stdio.h>
/* jpeglib.h needs stddef.h and stdio.h first. */
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "format/atomic_file.h"

static size_t read_png(const char *path, tp_image *im)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&pi, path)) return tp_fail(TP_ERR_CORRUPT, "%s: not a readable PNG: %s", path, pi.message);
    int color = (pi.format & PNG_FORMAT_FLAG_COLOR) != 0;
    pi.format = color ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    size_t n = PNG_IMAGE_SIZE(pi);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) { png_image_free(&pi); return tp_fail(TP_ERR_NOMEM, "%s: %zu bytes of pixels", path, n); }
    if (!png_image_finish_read(&pi, NULL, buf, 0, NULL)) {
        free(buf);
        return tp_fail(TP_ERR_CORRUPT, "%s: PNG decoding failed: %s", path, pi.message);
    }
    im->h = pi.height;
    im->w = pi.width;
    im->c = color ? 3 : 1;
    im->data = buf;
    return 0;
}

struct jerr {
    struct jpeg_error_mgr mgr;
    jmp_buf jb;
};

static void jpeg_fail(j_common_ptr cinfo)
{
    longjmp(((struct jerr *)cinfo->err)->jb, 1);
}

/* libjpeg would print warnings to stderr; a failure is reported once, as
 * the error's detail. */
static void jpeg_quiet(j_common_ptr cinfo) { (void)cinfo; }

static size_t read_jpeg(const char *path, tp_image *im)
{
    FILE *f = fopen(path, "rb");
    if (!f) return tp_fail(TP_ERR_IO, "cannot open %s", path);
    struct jpeg_decompress_struct cinfo;
    struct jerr err;
    uint8_t *volatile buf = NULL;
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_fail;
    err.mgr.output_message = jpeg_quiet;
    if (setjmp(err.jb)) {
        char msg[JMSG_LENGTH_MAX];
        err.mgr.format_message((j_common_ptr)&cinfo, msg);
        jpeg_destroy_decompress(&cinfo);
        fclose(f);
        free(buf);
        return tp_fail(TP_ERR_CORRUPT, "%s: JPEG decoding failed: %s", path, msg);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_stdio_src(&cinfo, f);
    jpeg_read_header(&cinfo, TRUE);
    cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    size_t stride = (size_t)cinfo.output_width * cinfo.output_components;
    buf = malloc(stride * cinfo.output_height + 1);
    if (!buf) longjmp(err.jb, 1);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = buf + stride * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    im->h = cinfo.output_height;
    im->w = cinfo.output_width;
    im->c = cinfo.output_components == 1 ? 1 : 3;
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    im->data = buf;
    return 0;
}

/* Interleaved HWC <-> planar CHW. */
static uint8_t *to_planar(const uint8_t *src, uint32_t h, uint32_t w, uint32_t c)
{
    uint8_t *p = malloc((size_t)h * w * c + 1);
    if (!p) return NULL;
    for (size_t i = 0; i < (size_t)h * w; i++)
        for (uint32_t k = 0; k < c; k++) p[k * (size_t)h * w + i] = src[i * c + k];
    return p;
}

static uint8_t *to_interleaved(const uint8_t *src, uint32_t h, uint32_t w, uint32_t c)
{
    uint8_t *p = malloc((size_t)h * w * c + 1);
    if (!p) return NULL;
    for (size_t i = 0; i < (size_t)h * w; i++)
        for (uint32_t k = 0; k < c; k++) p[i * c + k] = src[k * (size_t)h * w + i];
    return p;
}

size_t tp_image_read(const char *path, tp_image *im)
{
    if (!path || !im) return tp_fail(TP_ERR_ARG, "NULL argument");
    memset(im, 0, sizeof *im);
    tp_file_kind kind;
    TP_TRY(tp_sniff_path(path, &kind));
    size_t r;
    if (kind == TP_FILE_PNG) r = read_png(path, im);
    else if (kind == TP_FILE_JPEG) r = read_jpeg(path, im);
    else return tp_fail(TP_ERR_UNSUPPORTED, "%s: not a PNG or JPEG file", path);
    if (tp_is_error(r)) return r;
    if (!im->h || !im->w) { tp_image_free(im); return tp_fail(TP_ERR_SHAPE, "%s: empty image", path); }
    if (im->c == 3) {
        uint8_t *p = to_planar(im->data, im->h, im->w, 3);
        if (!p) { tp_image_free(im); return tp_fail(TP_ERR_NOMEM, "%s: planar copy", path); }
        free(im->data);
        im->data = p;
    }
    return 0;
}

void tp_image_free(tp_image *im)
{
    if (!im) return;
    free(im->data);
    memset(im, 0, sizeof *im);
}

size_t tp_image_write_png(const char *path, const uint8_t *planar, uint32_t h, uint32_t w, uint32_t c)
{
    if (!path || !planar) return tp_fail(TP_ERR_ARG, "NULL argument");
    if (c != 1 && c != 3) return tp_fail(TP_ERR_SHAPE, "%s: %u channels (1 or 3)", path, c);
    const uint8_t *px = planar;
    uint8_t *inter = NULL;
    if (c == 3) {
        inter = to_interleaved(planar, h, w, 3);
        if (!inter) return tp_fail(TP_ERR_NOMEM, "%s: interleaved copy", path);
        px = inter;
    }
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = w;
    pi.height = h;
    pi.format = c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    /* Encoded into memory first (a sizing pass, then the bytes) so that the
     * file is written like every other output: whole or not at all. */
    png_alloc_size_t n = 0;
    uint8_t *png = NULL;
    size_t r = 0;
    if (!png_image_write_to_memory(&pi, NULL, &n, 0, px, 0, NULL))
        r = tp_fail(TP_ERR_IO, "%s: PNG writing failed: %s", path, pi.message);
    else if (!(png = malloc(n ? n : 1)))
        r = tp_fail(TP_ERR_NOMEM, "%s: %zu bytes of PNG", path, (size_t)n);
    else if (!png_image_write_to_memory(&pi, png, &n, 0, px, 0, NULL))
        r = tp_fail(TP_ERR_IO, "%s: PNG writing failed: %s", path, pi.message);
    free(inter);
    tp_atomic_file f = {.fd = -1};
    if (!tp_is_error(r)) r = tp_atomic_open(&f, path);
    if (!tp_is_error(r)) r = tp_atomic_write(&f, png, (size_t)n);
    if (!tp_is_error(r)) r = tp_atomic_commit(&f);
    else tp_atomic_abort(&f);
    free(png);
    return r;
}
