# Codec specs and llama.cpp peer types of the model-fidelity tables; sourced by
# bench/eval.sh (MiniLM) and bench/eval_smollm2.sh (SmolLM2) so both tables
# cover the same families.
# shellcheck shell=bash
specs=("int:bits=8,group=32,search=1" "int:bits=6,group=32,search=1" "int:bits=5,group=32,search=1"
       "int:bits=4,group=32,search=1" "int:bits=3,group=32,search=1" "int:bits=2,group=32,search=1"
       "kq:bits=6" "kq:bits=5" "kq:bits=4" "kq:bits=3" "kq:bits=2"
       "kmeans:bits=4" "kmeans:bits=3" "nf:bits=4" "nf:bits=3" "log:bits=4"
       "fp8:format=e4m3,group=128" "fp8:format=e5m2,group=128" "ternary:group=64"
       "vq:dim=4,bits=8,stages=2" "vq:dim=4,bits=8" "seedlm:seed_bits=12,threads=2"
       "fp16" "bf16" "lossless" "zstd:level=3")
peers=(Q8_0 Q5_1 Q5_0 Q4_1 Q4_0 MXFP4)
