/* tpress image compress IN.(png|jpg) -o OUT.tpz [--codec SPEC]
 * tpress image decompress IN.tpz -o OUT.png
 * Images travel as u8 tensors: [H, W] for grey, [3, H, W] (planar RGB) for
 * colour, the layout dct2d's colour modes expect. PNG via libpng, JPEG via
 * libjpeg(-turbo). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
/* jpeglib.h needs stddef.h and stdio.h first. */
#include <jpeglib.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define IMAGE_DEFAULT_SPEC "dct2d:quality=75"

static const char help[] =
    "usage: tpress image compress IN.(png|jpg) -o OUT.tpz [options]\n"
    "       tpress image decompress IN.tpz -o OUT.png [options]\n"
    "\n"
    "compress stores the image as one u8 tensor named \"image\": [H, W] when grey,\n"
    "[3, H, W] (planar RGB) when colour; alpha is dropped. It prints the size,\n"
    "bits per pixel and the PSNR of the stored image. decompress writes the\n"
    "tensor back as a PNG.\n"
    "\n"
    "options:\n"
    "  -o, --output PATH   output file (required)\n"
    "  -c, --codec SPEC    pipeline (default \"" IMAGE_DEFAULT_SPEC "\"), e.g.\n"
    "                      \"dct2d:quality=50\", \"dct2d:keep=0.5,quality=0\"\n"
    "  -f, --force         overwrite OUT if it exists\n"
    "  -q, --quiet         print only errors\n"
    "  -h, --help          this help\n";

typedef struct {
    uint32_t h, w, c; /* c = 1 or 3 */
    uint8_t *data;    /* planar c x h x w */
} image;

static int read_png(const char *path, image *im)
{
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&pi, path)) return cli_fail("%s: not a readable PNG: %s", path, pi.message);
    int color = (pi.format & PNG_FORMAT_FLAG_COLOR) != 0;
    pi.format = color ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    size_t n = PNG_IMAGE_SIZE(pi);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) { png_image_free(&pi); return cli_fail("%s: out of memory", path); }
    if (!png_image_finish_read(&pi, NULL, buf, 0, NULL)) {
        free(buf);
        return cli_fail("%s: PNG decoding failed: %s", path, pi.message);
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

/* Warnings stay quiet: a failure is reported once, by the caller. */
static void jpeg_quiet(j_common_ptr cinfo) { (void)cinfo; }

static int read_jpeg(const char *path, image *im)
{
    FILE *f = fopen(path, "rb");
    if (!f) return cli_fail("%s: %s", path, strerror(errno));
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
        return cli_fail("%s: JPEG decoding failed: %s", path, msg);
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

static int read_image(const char *path, image *im)
{
    FILE *f = fopen(path, "rb");
    if (!f) return cli_fail("%s: %s", path, strerror(errno));
    uint8_t magic[8] = {0};
    size_t got = fread(magic, 1, 8, f);
    fclose(f);
    int rc;
    if (got >= 8 && !png_sig_cmp(magic, 0, 8)) rc = read_png(path, im);
    else if (got >= 3 && magic[0] == 0xFF && magic[1] == 0xD8 && magic[2] == 0xFF) rc = read_jpeg(path, im);
    else return cli_fail("%s: not a PNG or JPEG file", path);
    if (rc) return rc;
    if (!im->h || !im->w) { free(im->data); return cli_fail("%s: empty image", path); }
    if (im->c == 3) {
        uint8_t *p = to_planar(im->data, im->h, im->w, 3);
        free(im->data);
        if (!p) return cli_fail("%s: out of memory", path);
        im->data = p;
    }
    return 0;
}

static int image_compress(int argc, char **argv)
{
    const char *in = NULL, *spec = IMAGE_DEFAULT_SPEC, *v;
    cli_out_opts o = {0};
    int k;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) { fputs(help, stdout); return 0; }
        if ((k = cli_out_opt(argc, argv, &i, &o))) { if (k < 0) return EXIT_BAD; }
        else if ((k = cli_opt(argc, argv, &i, "-c", &v)) || (k = cli_opt(argc, argv, &i, "--codec", &v))) {
            if (k < 0) return cli_fail("%s needs a value", a);
            spec = v;
        } else if (a[0] == '-' && a[1]) return cli_fail("image compress: unknown option '%s' (see tpress image --help)", a);
        else if (!in) in = a;
        else return cli_fail("image compress: unexpected argument '%s'", a);
    }
    const char *out = o.out;
    int quiet = o.quiet;
    if (!in || !out) return cli_fail("image compress: needs IN and -o OUT.tpz (see tpress image --help)");
    if (!o.force && cli_exists(out)) return cli_fail("%s exists (use --force to overwrite)", out);
    tp_pipeline *p;
    size_t r = tp_pipeline_parse(spec, &p);
    if (tp_is_error(r)) return cli_fail_result("--codec", r);
    image im;
    if (read_image(in, &im)) { tp_pipeline_free(p); return EXIT_BAD; }
    tp_tensor t = {TP_U8, im.c == 3 ? 3u : 2u, {0}, im.data};
    if (im.c == 3) { t.shape[0] = 3; t.shape[1] = im.h; t.shape[2] = im.w; }
    else { t.shape[0] = im.h; t.shape[1] = im.w; }
    void *frame = NULL;
    r = tp_frame_encode_alloc(p, &t, NULL, &frame);
    tp_pipeline_free(p);
    if (tp_is_error(r)) { free(im.data); return cli_fail_result(in, r); }
    size_t frame_size = r, npix = (size_t)im.h * im.w, nval = npix * im.c;
    uint8_t *back = malloc(nval);
    double psnr = NAN;
    if (back && !tp_is_error(tp_frame_decode(frame, frame_size, back, nval))) {
        double e = 0;
        for (size_t i = 0; i < nval; i++) e += ((double)im.data[i] - back[i]) * ((double)im.data[i] - back[i]);
        psnr = e > 0 ? 10 * log10(255.0 * 255.0 * (double)nval / e) : INFINITY;
    }
    free(back);
    free(im.data);
    tp_archive_writer *w;
    r = tp_archive_writer_open(out, &w);
    if (tp_is_error(r)) { free(frame); return cli_fail_result(out, r); }
    r = tp_archive_writer_add(w, "image", frame, frame_size, NULL);
    free(frame);
    if (tp_is_error(r)) { tp_archive_writer_abort(w); return cli_fail_result(out, r); }
    r = tp_archive_writer_finish(w);
    if (tp_is_error(r)) return cli_fail_result(out, r);
    if (!quiet)
        printf("%s: %ux%u %s, %zu bytes -> frame %zu bytes, %.3f bits/pixel, ratio %.2fx, PSNR %.2f dB\n", in, im.w, im.h,
               im.c == 3 ? "RGB" : "grey", nval, frame_size, 8.0 * (double)frame_size / (double)npix,
               (double)nval / (double)frame_size, psnr);
    return 0;
}

static int write_png(const char *path, const uint8_t *planar, uint32_t h, uint32_t w, uint32_t c)
{
    const uint8_t *px = planar;
    uint8_t *inter = NULL;
    if (c == 3) {
        inter = to_interleaved(planar, h, w, 3);
        if (!inter) return cli_fail("%s: out of memory", path);
        px = inter;
    }
    size_t len = strlen(path);
    char *tmp = malloc(len + 32);
    if (!tmp) { free(inter); return cli_fail("%s: out of memory", path); }
    snprintf(tmp, len + 32, "%s.tmp.%ld", path, (long)getpid());
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    pi.width = w;
    pi.height = h;
    pi.format = c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    int ok = png_image_write_to_file(&pi, tmp, 0, px, 0, NULL);
    free(inter);
    if (!ok) {
        unlink(tmp);
        int rc = cli_fail("%s: PNG writing failed: %s", path, pi.message);
        free(tmp);
        return rc;
    }
    if (rename(tmp, path)) {
        int rc = cli_fail("%s: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return rc;
    }
    free(tmp);
    return 0;
}

static int image_decompress(int argc, char **argv)
{
    const char *in = NULL;
    cli_out_opts o = {0};
    int k;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) { fputs(help, stdout); return 0; }
        if ((k = cli_out_opt(argc, argv, &i, &o))) { if (k < 0) return EXIT_BAD; }
        else if (a[0] == '-' && a[1]) return cli_fail("image decompress: unknown option '%s' (see tpress image --help)", a);
        else if (!in) in = a;
        else return cli_fail("image decompress: unexpected argument '%s'", a);
    }
    const char *out = o.out;
    int quiet = o.quiet;
    if (!in || !out) return cli_fail("image decompress: needs IN.tpz and -o OUT.png (see tpress image --help)");
    if (!cli_has_suffix(out, ".png") && !cli_has_suffix(out, ".PNG")) return cli_fail("%s: output must be a .png file", out);
    if (!o.force && cli_exists(out)) return cli_fail("%s exists (use --force to overwrite)", out);
    tp_archive *a;
    size_t r = tp_archive_open(in, &a);
    if (tp_is_error(r)) return cli_fail_result(in, r);
    size_t idx = tp_archive_find(a, "image");
    if (tp_is_error(idx)) idx = 0;
    const tp_archive_entry *e = tp_archive_entry_at(a, idx);
    if (!e) { tp_archive_close(a); return cli_fail("%s: archive holds no tensor", in); }
    uint32_t h, w, c;
    if (e->dtype == TP_U8 && e->ndim == 2) { h = (uint32_t)e->shape[0]; w = (uint32_t)e->shape[1]; c = 1; }
    else if (e->dtype == TP_U8 && e->ndim == 3 && (e->shape[0] == 3 || e->shape[0] == 1)) {
        c = (uint32_t)e->shape[0]; h = (uint32_t)e->shape[1]; w = (uint32_t)e->shape[2];
    } else {
        int rc = cli_fail("%s: tensor '%s' is not a u8 [H,W] or [3,H,W] image", in, e->name);
        tp_archive_close(a);
        return rc;
    }
    if ((uint64_t)h * w * c != e->raw_size || !h || !w || h > 1u << 24 || w > 1u << 24) {
        int rc = cli_fail("%s: tensor '%s' has an unusable image size", in, e->name);
        tp_archive_close(a);
        return rc;
    }
    uint8_t *buf = malloc(e->raw_size ? (size_t)e->raw_size : 1);
    if (!buf) { tp_archive_close(a); return cli_fail("%s: out of memory", in); }
    r = tp_archive_decode(a, idx, buf, (size_t)e->raw_size);
    tp_archive_close(a);
    if (tp_is_error(r)) { free(buf); return cli_fail_result(in, r); }
    int rc = write_png(out, buf, h, w, c);
    free(buf);
    if (!rc && !quiet) printf("%s: %ux%u %s -> %s\n", in, w, h, c == 3 ? "RGB" : "grey", out);
    return rc;
}

int cmd_image(int argc, char **argv)
{
    if (argc < 2) return cli_fail("image: needs 'compress' or 'decompress' (see tpress image --help)");
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) { fputs(help, stdout); return 0; }
    if (!strcmp(argv[1], "compress")) return image_compress(argc - 1, argv + 1);
    if (!strcmp(argv[1], "decompress")) return image_decompress(argc - 1, argv + 1);
    return cli_fail("image: unknown action '%s' (compress or decompress)", argv[1]);
}
