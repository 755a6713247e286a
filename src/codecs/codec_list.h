/* The one list of codecs, in registry order (what tp_codec_at and `tpress
 * codecs` show). Each row is TP_CODEC(id, name): the codec is defined as
 * `const tp_codec tp_codec_<name>` in its family folder with .info.id = id.
 * Ids are written into frames, so they are pinned: append new codecs with
 * the next id, never reuse one; a retired codec stays here as a comment
 * with its id. Included with TP_CODEC defined by the includer. */
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
