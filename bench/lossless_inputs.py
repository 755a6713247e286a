"""Writes the raw inputs of the lossless benchmark: MiniLM FP32 float tensors
concatenated, the same as BF16 (round to nearest even) and FP16, and a
synthetic BF16 Gaussian (sigma 0.02) of GAUSS_MIB MiB.
Usage: lossless_inputs.py MODEL.safetensors OUTDIR GAUSS_MIB"""
import numpy as np, json, struct, sys, os
p=sys.argv[1]; out=sys.argv[2]; gauss_mib=int(sys.argv[3])
os.makedirs(out, exist_ok=True)
b=open(p,'rb').read(); n=struct.unpack('<Q',b[:8])[0]; h=json.loads(b[8:8+n]); base=8+n
parts=[]
for k,v in h.items():
    if k=='__metadata__': continue
    if v['dtype']=='F32':
        s,e=v['data_offsets']; parts.append(np.frombuffer(b[base+s:base+e],dtype=np.float32))
f32=np.concatenate(parts)
f32.tofile(out+'/minilm_f32.raw')
# bf16 by round-to-nearest-even on the bits
u=f32.view(np.uint32).astype(np.uint64)
bf=((u + 0x7fff + ((u>>16)&1))>>16).astype(np.uint16)
bf.tofile(out+'/minilm_bf16.raw')
f32.astype(np.float16).tofile(out+'/minilm_f16.raw')
rng=np.random.default_rng(0)
g=(rng.standard_normal(gauss_mib << 19, dtype=np.float32)*0.02)
gu=g.view(np.uint32).astype(np.uint64)
((gu + 0x7fff + ((gu>>16)&1))>>16).astype(np.uint16).tofile(out+'/gauss_bf16.raw')
print('values', f32.size)
