/* The one list of codecs: TP_CODEC(id, name) per row, for a tp_codec named
 * tp_codec_NAME whose info.name is "NAME". No include guard: each includer
 * defines TP_CODEC, includes this file, and the file undefines it.
 *
 * Ids are pinned: they are written into frames. Rows stay in id order, which
 * is also the order of tp_codec_at() (and so of `tpress codecs`). A new codec
 * takes the next id at the end; an id is never reused — a retired codec stays
 * here as a comment with its id. */
TP_CODEC(1, int)
TP_CODEC(2, fp16)
TP_CODEC(3, bf16)
TP_CODEC(4, zstd)
TP_CODEC(5, lossless)
TP_CODEC(6, kmeans)
TP_CODEC(7, nf)
TP_CODEC(8, log)
TP_CODEC(9, fp8)
TP_CODEC(10, ternary)
TP_CODEC(11, kq)
TP_CODEC(12, vq)
TP_CODEC(13, seedlm)
TP_CODEC(14, dct2d)
TP_CODEC(15, tokdct)
TP_CODEC(16, svd)
TP_CODEC(17, pca)
TP_CODEC(18, sparse)
TP_CODEC(19, sparsecode)
TP_CODEC(20, autoenc)

#undef TP_CODEC
