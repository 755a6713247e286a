/* tpress image compress IN.(png|jpg) -o OUT.tpz [--codec SPEC]
 * tpress image decompress IN.tpz -o OUT.png
 * Images travel as u8 tensors: [H, W] for grey, [3, H, W] (planar RGB) for
 * colour, the layout dct2d's colour modes expect; reading and writing them
 * is the library's (src/format/image.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "format/image.h"

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

/* What the compress job measured for the image. */
typedef struct {
    size_t frame_size;
    double mse;
} image_report;

static size_t note_image(void *ctx, const tp_compress_event *e)
{
    image_report *rep = ctx;
    rep->frame_size = e->frame_size;
    rep->mse = e->metrics.mse;
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
    tp_pipeline_free(p);
    tp_image im;
    r = tp_image_read(in, &im);
    if (tp_is_error(r)) return cli_fail_result("image compress", r);
    tp_tensor t = {TP_U8, im.c == 3 ? 3u : 2u, {0}, im.data};
    if (im.c == 3) { t.shape[0] = 3; t.shape[1] = im.h; t.shape[2] = im.w; }
    else { t.shape[0] = im.h; t.shape[1] = im.w; }
    const char *name = "image";
    /* An image is the one integer tensor a lossy codec (dct2d) is made for. */
    tp_compress_options opt = {.spec = spec, .threads = 1, .lossy_integers = 1};
    image_report rep = {0};
    r = tp_compress_tensors(1, &name, &t, out, &opt, note_image, &rep, NULL);
    free(im.data);
    if (tp_is_error(r)) return cli_fail_result(in, r);
    size_t npix = (size_t)im.h * im.w, nval = npix * im.c;
    double psnr = rep.mse > 0 ? 10 * log10(255.0 * 255.0 / rep.mse) : INFINITY;
    if (!quiet)
        printf("%s: %ux%u %s, %zu bytes -> frame %zu bytes, %.3f bits/pixel, ratio %.2fx, PSNR %.2f dB\n", in, im.w, im.h,
               im.c == 3 ? "RGB" : "grey", nval, rep.frame_size, 8.0 * (double)rep.frame_size / (double)npix,
               (double)nval / (double)rep.frame_size, psnr);
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
    r = tp_image_write_png(out, buf, h, w, c);
    free(buf);
    if (tp_is_error(r)) return cli_fail_result("image decompress", r);
    if (!quiet) printf("%s: %ux%u %s -> %s\n", in, w, h, c == 3 ? "RGB" : "grey", out);
    return 0;
}

int cmd_image(int argc, char **argv)
{
    if (argc < 2) return cli_fail("image: needs 'compress' or 'decompress' (see tpress image --help)");
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) { fputs(help, stdout); return 0; }
    if (!strcmp(argv[1], "compress")) return image_compress(argc - 1, argv + 1);
    if (!strcmp(argv[1], "decompress")) return image_decompress(argc - 1, argv + 1);
    return cli_fail("image: unknown action '%s' (compress or decompress)", argv[1]);
}
