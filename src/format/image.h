/* PNG and JPEG images as u8 tensors for `tpress image`: [H, W] when grey,
 * [3, H, W] (planar RGB) when colour, the layout dct2d's colour modes
 * expect. Alpha is dropped on reading. */
#ifndef TP_FORMAT_IMAGE_H
#define TP_FORMAT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h, w, c; /* c = 1 or 3 */
    uint8_t *data;    /* planar c x h x w, malloc'd */
} tp_image;

/* Reads a PNG or JPEG (told by tp_sniff) into a new planar image. Errors:
 * TP_ERR_IO (cannot open), TP_ERR_UNSUPPORTED (neither kind), TP_ERR_CORRUPT
 * (decoding failed), TP_ERR_SHAPE (no pixels), TP_ERR_NOMEM. */
size_t tp_image_read(const char *path, tp_image *im);
void tp_image_free(tp_image *im);

/* Writes planar u8 pixels (c = 1 or 3) as a PNG, atomically (atomic_file.h). */
size_t tp_image_write_png(const char *path, const uint8_t *planar, uint32_t h, uint32_t w, uint32_t c);

#endif
