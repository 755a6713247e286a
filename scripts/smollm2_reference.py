#!/usr/bin/env python3
"""Independent reference for tensorpress's GGUF reader, BPE tokenizer and
Llama forward pass (src/format/gguf.c, src/eval/bpe.c, llama.c).

No llama.cpp here (too heavy to build on the project's machines): the
reference is the `gguf` PyPI package's reader and dequantizer, HF
`tokenizers` for the BPE, and a float64 numpy forward pass written from the
HF Llama definition (q/k rows un-permuted back to HF's layout, rotate_half
RoPE), not from tensorpress's code.

  smollm2_reference.py fixtures      writes tests/data/gguf_types.gguf,
                                     smollm2_tokens.json, smollm2_logits.safetensors
  smollm2_reference.py check DIR TEXT  compares `tpress dump --what logits`
                                     output in DIR with the numpy forward on
                                     the same tokens (bar: top-1 >= 99 %,
                                     mean KL < 1e-3)
"""
import json, os, subprocess, sys
import numpy as np
import gguf
from gguf import GGMLQuantizationType as QT
from gguf import quants

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DATA = os.path.join(ROOT, "tests", "data")


def model_path():
    return subprocess.check_output([os.path.join(ROOT, "scripts", "smollm2_path.sh")], text=True).strip()


def field(r, key):
    return r.fields[key].contents()


def tokenizer_from_gguf(r):
    """HF tokenizers BPE with SmolLM2's pre-tokenizer (individual digits, then
    GPT-2 byte-level regex), from the GGUF's tokens and merges."""
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders
    toks = field(r, "tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ", 1)) for m in field(r, "tokenizer.ggml.merges")]
    vocab = {}
    for i, t in enumerate(toks):
        vocab.setdefault(t, i)
    tk = Tokenizer(models.BPE(vocab, merges, fuse_unk=False))
    assert field(r, "tokenizer.ggml.pre") == "smollm"
    tk.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tk.decoder = decoders.ByteLevel()
    return tk


def unpermute(w, n_head):
    """GGUF stores q/k rows permuted for adjacent-pair RoPE; back to HF's
    half-split layout (inverse of convert_hf_to_gguf's permute)."""
    out, inp = w.shape
    return w.reshape(n_head, out // n_head // 2, 2, inp).swapaxes(1, 2).reshape(out, inp)


class Model:
    def __init__(self, path):
        r = gguf.GGUFReader(path)
        self.r = r
        a = "llama"
        self.L = int(field(r, f"{a}.block_count"))
        self.d = int(field(r, f"{a}.embedding_length"))
        self.nh = int(field(r, f"{a}.attention.head_count"))
        self.nkv = int(field(r, f"{a}.attention.head_count_kv"))
        self.base = float(field(r, f"{a}.rope.freq_base"))
        self.eps = float(field(r, f"{a}.attention.layer_norm_rms_epsilon"))
        self.hd = self.d // self.nh
        self.w = {}
        for t in r.tensors:
            x = quants.dequantize(t.data, t.tensor_type).astype(np.float64)
            self.w[t.name] = x.reshape([int(v) for v in reversed(t.shape)]) if x.ndim != len(t.shape) else x
        for l in range(self.L):
            self.w[f"blk.{l}.attn_q.weight"] = unpermute(self.w[f"blk.{l}.attn_q.weight"], self.nh)
            self.w[f"blk.{l}.attn_k.weight"] = unpermute(self.w[f"blk.{l}.attn_k.weight"], self.nkv)
        self.out = self.w.get("output.weight", self.w["token_embd.weight"])

    def norm(self, x, w):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + self.eps) * w

    def rope(self, x):  # x [T, heads, hd], HF rotate_half
        T = x.shape[0]
        inv = self.base ** (-np.arange(0, self.hd, 2) / self.hd)
        ang = np.arange(T)[:, None] * inv[None, :]
        cos = np.concatenate([np.cos(ang)] * 2, -1)[:, None, :]
        sin = np.concatenate([np.sin(ang)] * 2, -1)[:, None, :]
        h = self.hd // 2
        rot = np.concatenate([-x[..., h:], x[..., :h]], -1)
        return x * cos + rot * sin

    def logits(self, ids):
        W, T = self.w, len(ids)
        x = W["token_embd.weight"][ids]
        mask = np.triu(np.full((T, T), -np.inf), 1)
        g = self.nh // self.nkv
        for l in range(self.L):
            p = f"blk.{l}."
            h = self.norm(x, W[p + "attn_norm.weight"])
            q = self.rope((h @ W[p + "attn_q.weight"].T).reshape(T, self.nh, self.hd))
            k = self.rope((h @ W[p + "attn_k.weight"].T).reshape(T, self.nkv, self.hd))
            v = (h @ W[p + "attn_v.weight"].T).reshape(T, self.nkv, self.hd)
            k, v = np.repeat(k, g, 1), np.repeat(v, g, 1)
            s = np.einsum("thd,shd->hts", q, k) / np.sqrt(self.hd) + mask
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            o = np.einsum("hts,shd->thd", s, v).reshape(T, self.d)
            x = x + o @ W[p + "attn_output.weight"].T
            h = self.norm(x, W[p + "ffn_norm.weight"])
            a = h @ W[p + "ffn_gate.weight"].T
            x = x + ((a / (1 + np.exp(-a))) * (h @ W[p + "ffn_up.weight"].T)) @ W[p + "ffn_down.weight"].T
        return self.norm(x, W["output_norm.weight"]) @ self.out.T


def log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


TOKEN_CASES = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "In 2024, 3.14159 is pi and 1,000,000 is a million!",
    "  leading spaces,\ttabs\nand\n\nnewlines   \n",
    "don't we'll they're I've she'd it's I'm",
    "def f(x):\n    return x**2 + 1  # square\n",
    "naïve café, Zürich; 東京は日本の首都です。 Привет мир! ½ ² ٣",
    "emoji 🙂👍 and symbols €£¥ -- ... !!! ???",
    "x",
    "   ",
    "",
]

PROMPT = ("The history of data compression begins with Morse code, which gave the most common letters the shortest "
          "codes. In 1948, Claude Shannon")


def gguf_types_fixture(path):
    """A small GGUF: metadata of every value type (arrays too), and one tensor
    per ggml type with its dequantization by the gguf package stored beside
    it as F32 ("<name>.expected")."""
    rng = np.random.default_rng(9)
    w = gguf.GGUFWriter(path, "test")
    w.add_uint8("t.u8", 200); w.add_int8("t.i8", -100); w.add_uint16("t.u16", 60000); w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000); w.add_int32("t.i32", -2000000000); w.add_float32("t.f32", 1.5)
    w.add_uint64("t.u64", 1 << 40); w.add_int64("t.i64", -(1 << 40)); w.add_float64("t.f64", -2.25)
    w.add_bool("t.bool", True); w.add_string("t.str", "héllo")
    w.add_array("t.arr_i32", [1, -2, 3]); w.add_array("t.arr_str", ["a", "", "ccc"])
    w.add_array("t.arr_f32", [0.5, -0.25])
    x = (rng.standard_normal((2, 512)) * 0.05).astype(np.float32)
    for qt in (QT.F32, QT.F16, QT.BF16, QT.Q4_0, QT.Q4_1, QT.Q5_0, QT.Q5_1, QT.Q8_0):
        raw = x if qt == QT.F32 else quants.quantize(x, qt)
        w.add_tensor(qt.name, raw, raw_dtype=qt)
        w.add_tensor(qt.name + ".expected", quants.dequantize(raw, qt).astype(np.float32))
    # K-quants have no quantizer in the gguf package: random blocks with
    # sane f16 scales.
    for qt, scale_at in ((QT.Q4_K, (0, 2)), (QT.Q5_K, (0, 2)), (QT.Q6_K, (208,))):
        bs, ts = gguf.GGML_QUANT_SIZES[qt]
        blocks = rng.integers(0, 256, size=(2 * 512 // bs, ts), dtype=np.uint8)
        for at in scale_at:
            blocks[:, at:at + 2] = np.frombuffer(np.float16(rng.uniform(0.001, 0.01, len(blocks))).tobytes(), np.uint8).reshape(-1, 2)
        raw = blocks.reshape(2, -1)
        w.add_tensor(qt.name, raw, raw_dtype=qt)
        w.add_tensor(qt.name + ".expected", quants.dequantize(raw, qt).astype(np.float32))
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()


def fixtures():
    from safetensors.numpy import save_file
    gguf_types_fixture(os.path.join(DATA, "gguf_types.gguf"))
    m = Model(model_path())
    tk = tokenizer_from_gguf(m.r)
    cases = [{"text": t, "ids": tk.encode(t).ids} for t in TOKEN_CASES]
    for c in cases:
        assert tk.decode(c["ids"]) == c["text"], c
    with open(os.path.join(DATA, "smollm2_tokens.json"), "w", encoding="utf-8") as f:
        f.write("[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n]\n")
    ids = np.array(tk.encode(PROMPT).ids, dtype=np.int32)
    lp = log_softmax(m.logits(ids))
    z = m.logits(ids)
    K = 16
    top = np.argsort(-z, -1)[:, :K].astype(np.int32)
    lse = (z - lp)[:, 0]
    save_file({"ids": ids, "lse": lse.astype(np.float64), "top_ids": top,
               "top_logits": np.take_along_axis(z, top, -1).astype(np.float32)},
              os.path.join(DATA, "smollm2_logits.safetensors"))
    with open(os.path.join(DATA, "smollm2_prompt.txt"), "w") as f:
        f.write(PROMPT)
    print(f"fixtures: {len(cases)} tokenizer cases, {len(ids)} prompt tokens")


def check(d, text):
    m = Model(model_path())
    tk = tokenizer_from_gguf(m.r)
    ids = np.load(os.path.join(d, "tokens.npy"))
    ours = np.load(os.path.join(d, "logits.npy")).astype(np.float64)
    ref_ids = tk.encode(open(text, encoding="utf-8").read()).ids[:len(ids)]
    same_ids = list(ids) == ref_ids
    ref = m.logits(ids.astype(np.int64))
    lp, lq = log_softmax(ref), log_softmax(ours)
    kl = (np.exp(lp) * (lp - lq)).sum(-1)
    top1 = float((ref.argmax(-1) == ours.argmax(-1)).mean())
    ok = same_ids and top1 >= 0.99 and kl.mean() < 1e-3
    print(f"{len(ids)} tokens, token ids identical to HF tokenizers: {same_ids}; top-1 agreement {top1:.4f}; "
          f"KL mean {kl.mean():.3g} max {kl.max():.3g}; max |logit diff| {np.abs(ref - ours).max():.3g} "
          f"-> {'PASS' if ok else 'FAIL'}")
    return ok


if __name__ == "__main__":
    if sys.argv[1:2] == ["fixtures"]:
        fixtures()
    elif sys.argv[1:2] == ["check"] and len(sys.argv) == 4:
        sys.exit(0 if check(sys.argv[2], sys.argv[3]) else 1)
    else:
        sys.exit(__doc__)
