/* Strict UTF-8 validation for text that files carry (safetensors headers,
 * tensor names, archive metadata). */
#ifndef TP_CORE_UTF8_H
#define TP_CORE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 if the n bytes at s are UTF-8 without overlongs, surrogates, code
 * points above U+10FFFF or NUL bytes (text that C strings can carry). */
int tp_utf8_valid(const uint8_t *s, size_t n);

#endif
