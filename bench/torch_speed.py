#!/usr/bin/env python3
"""Peer speed for bench/eval.sh: sentences/s of all-MiniLM-L6-v2 in
transformers + torch (float32, CPU, batches of 32 padded sentences, as
sentence-transformers' encode does) on the same text. Prints one JSON line."""
import json, os, sys, time
import torch
from transformers import AutoModel, AutoTokenizer

model_dir, text, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.set_num_threads(threads)
lines = [l.rstrip("\r\n") for l in open(text, encoding="utf-8") if l.strip(" \t\r\n")]
tok = AutoTokenizer.from_pretrained(model_dir)
model = AutoModel.from_pretrained(model_dir).eval()

def run():
    with torch.no_grad():
        for i in range(0, len(lines), 32):
            enc = tok(lines[i:i + 32], padding=True, truncation=True, max_length=256, return_tensors="pt")
            h = model(**enc).last_hidden_state
            m = enc["attention_mask"].unsqueeze(-1).float()
            torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=1)

run()  # warm-up
times = []
for _ in range(5):
    t0 = time.perf_counter(); run(); times.append(time.perf_counter() - t0)
times.sort()
print(json.dumps({"torch": torch.__version__, "threads": threads,
                  "sentences_per_s": [len(lines) / t for t in (times[-1], times[2], times[0])]}))
