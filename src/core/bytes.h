/* Little-endian byte access and a bounds-checked reader for parsing
 * untrusted input: every read checks the remaining length first. */
#ifndef TP_CORE_BYTES_H
#define TP_CORE_BYTES_H

#include <stdint.h>
#include <string.h>

static inline void tp_put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void tp_put_u32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline void tp_put_u64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static inline uint16_t tp_get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t tp_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t tp_get_u64(const uint8_t *p) { return (uint64_t)tp_get_u32(p) | ((uint64_t)tp_get_u32(p + 4) << 32); }
static inline void tp_put_f64(uint8_t *p, double d) { uint64_t v; memcpy(&v, &d, 8); tp_put_u64(p, v); }
static inline double tp_get_f64(const uint8_t *p) { uint64_t v = tp_get_u64(p); double d; memcpy(&d, &v, 8); return d; }

/* Cursor over untrusted bytes. Once a read fails, ok stays 0 and further
 * reads return zeros, so a parser can check ok once at the end of a block. */
typedef struct {
    const uint8_t *p;
    size_t left;
    int ok;
} tp_reader;

static inline tp_reader tp_reader_init(const void *p, size_t n) { tp_reader r = {(const uint8_t *)p, n, 1}; return r; }
static inline const uint8_t *tp_read_bytes(tp_reader *r, size_t n)
{
    if (!r->ok || r->left < n) { r->ok = 0; return NULL; }
    const uint8_t *q = r->p;
    r->p += n;
    r->left -= n;
    return q;
}
static inline uint8_t tp_read_u8(tp_reader *r) { const uint8_t *q = tp_read_bytes(r, 1); return q ? q[0] : 0; }
static inline uint16_t tp_read_u16(tp_reader *r) { const uint8_t *q = tp_read_bytes(r, 2); return q ? tp_get_u16(q) : 0; }
static inline uint32_t tp_read_u32(tp_reader *r) { const uint8_t *q = tp_read_bytes(r, 4); return q ? tp_get_u32(q) : 0; }
static inline uint64_t tp_read_u64(tp_reader *r) { const uint8_t *q = tp_read_bytes(r, 8); return q ? tp_get_u64(q) : 0; }
static inline double tp_read_f64(tp_reader *r) { const uint8_t *q = tp_read_bytes(r, 8); return q ? tp_get_f64(q) : 0.0; }

#endif
