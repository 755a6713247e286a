"""tensorpress: compress neural-network tensors (a thin ctypes binding of libtpress).

    import numpy as np, tensorpress as tp
    frame = tp.encode(np.random.randn(256, 512).astype(np.float32), "int:bits=4,group=32")
    x = tp.decode(frame)                          # numpy array, original dtype and shape
    tp.save("w.tpz", {"w": x}, "int:bits=8")      # archive; errors measured on write
    weights = tp.load("w.tpz")                    # dict name -> numpy array
    tp.compress_model("model.safetensors", "m.tpz", target_mb=12)  # planner; result dict

The library is found through $TPRESS_LIB, next to this package (build/ of a
source checkout), or the system library path.
"""
from ._lib import TensorpressError, codecs
from ._api import Archive, decode, decode_into, encode, frame_info, load, save
from ._model import compress_model

__all__ = ["TensorpressError", "codecs", "encode", "decode", "decode_into", "frame_info", "save", "load", "Archive",
           "compress_model"]
__version__ = "0.1.0"
