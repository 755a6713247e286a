#!/usr/bin/env python3
"""Independent reference for tensorpress's MiniLM: HF transformers + torch
(BertModel in float32 on the CPU, the fast tokenizer from tokenizer.json),
mean pooling over the attention mask and L2 normalisation, i.e. what
sentence-transformers computes for all-MiniLM-L6-v2 (max_seq_length 256).

  minilm_reference.py --write-fixture      writes tests/data/minilm_fixture_{ids,emb}.npy
                                           from tests/data/minilm_fixture.txt
  minilm_reference.py --check DIR TEXT     compares `tpress dump --what embedding`
                                           output in DIR with the reference on TEXT

Run through `make validate` (scripts/validate.sh), which installs the
packages in a separate virtual environment; never part of `make test`.
"""
import argparse, os, subprocess, sys
import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_LEN = 256


def model_dir():
    out = subprocess.check_output([os.path.join(ROOT, "scripts", "minilm_path.sh")], text=True).strip()
    return os.path.dirname(out)


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [l.rstrip("\r\n") for l in f if l.strip(" \t\r\n")]


def reference(lines):
    d = model_dir()
    tok = AutoTokenizer.from_pretrained(d)
    model = AutoModel.from_pretrained(d).eval()
    ids, embs = [], []
    with torch.no_grad():
        for s in lines:
            enc = tok(s, truncation=True, max_length=MAX_LEN, return_tensors="pt")
            out = model(**enc).last_hidden_state[0]  # [L, 384]
            mask = enc["attention_mask"][0].unsqueeze(-1).float()
            e = (out * mask).sum(0) / mask.sum()
            e = torch.nn.functional.normalize(e, dim=0)
            ids.append(enc["input_ids"][0].numpy().astype(np.int32))
            embs.append(e.numpy().astype(np.float32))
    return ids, np.stack(embs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--write-fixture", action="store_true")
    ap.add_argument("--check", nargs=2, metavar=("DUMP_DIR", "TEXT"))
    a = ap.parse_args()
    print(f"reference: torch {torch.__version__}, transformers {__import__('transformers').__version__}")
    if a.write_fixture:
        lines = read_lines(os.path.join(ROOT, "tests", "data", "minilm_fixture.txt"))
        ids, emb = reference(lines)
        width = max(len(x) for x in ids)
        pad = np.full((len(ids), width), -1, np.int32)
        for i, x in enumerate(ids):
            pad[i, : len(x)] = x
        np.save(os.path.join(ROOT, "tests", "data", "minilm_fixture_ids.npy"), pad)
        np.save(os.path.join(ROOT, "tests", "data", "minilm_fixture_emb.npy"), emb)
        print(f"wrote {len(lines)} sentences, ids {pad.shape}, embeddings {emb.shape}")
    if a.check:
        dump, text = a.check
        lines = read_lines(text)
        ids, emb = reference(lines)
        got = np.load(os.path.join(dump, "embeddings.npy"))
        tokens = np.load(os.path.join(dump, "tokens.npy"))
        starts = np.load(os.path.join(dump, "starts.npy"))
        assert got.shape == emb.shape, (got.shape, emb.shape)
        bad_ids = [i for i in range(len(lines)) if not np.array_equal(tokens[starts[i]:starts[i + 1]], ids[i])]
        cos = (got.astype(np.float64) * emb.astype(np.float64)).sum(1) / (
            np.linalg.norm(got.astype(np.float64), axis=1) * np.linalg.norm(emb.astype(np.float64), axis=1))
        print(f"{len(lines)} sentences: token ids identical for {len(lines) - len(bad_ids)}; "
              f"embedding cosine min {cos.min():.9f} (1 - min = {1 - cos.min():.2e}) mean {cos.mean():.9f} (bar 0.9999)")
        for i in bad_ids[:10]:
            print(f"  ids differ for line {i}: {lines[i][:60]!r}")
        if bad_ids or cos.min() < 0.9999:
            sys.exit(1)


if __name__ == "__main__":
    main()
