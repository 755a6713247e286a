"""Shared by the Unicode table generators: code point classes as sorted,
disjoint (first, last) ranges, from Python's unicodedata."""
import unicodedata


def ranges(pred):
    out, start = [], None
    for cp in range(0x110000):
        if pred(cp):
            if start is None: start = cp
        elif start is not None:
            out.append((start, cp - 1)); start = None
    if start is not None: out.append((start, 0x10FFFF))
    return out


def cat(cp): return unicodedata.category(chr(cp))
