"""Loading libtpress and declaring its C structures and functions."""
import ctypes
import ctypes.util
import os

MAX_DIMS = 8


class TensorpressError(RuntimeError):
    """A libtpress call failed; the message carries the library's detail."""


class Tensor(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_int), ("ndim", ctypes.c_uint32),
                ("shape", ctypes.c_uint64 * MAX_DIMS), ("data", ctypes.c_void_p)]


class Metrics(ctypes.Structure):
    _fields_ = [("count", ctypes.c_uint64), ("nonfinite", ctypes.c_uint64), ("mse", ctypes.c_double),
                ("rmse", ctypes.c_double), ("snr_db", ctypes.c_double), ("psnr_db", ctypes.c_double),
                ("max_abs", ctypes.c_double), ("cosine", ctypes.c_double), ("rel_l2", ctypes.c_double)]


class FrameInfo(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_int), ("ndim", ctypes.c_uint32), ("shape", ctypes.c_uint64 * MAX_DIMS),
                ("nbytes", ctypes.c_uint64), ("frame_size", ctypes.c_uint64), ("n_stages", ctypes.c_uint32),
                ("spec", ctypes.c_char * 512)]


class ArchiveEntry(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int), ("ndim", ctypes.c_uint32),
                ("shape", ctypes.c_uint64 * MAX_DIMS), ("offset", ctypes.c_uint64),
                ("frame_size", ctypes.c_uint64), ("raw_size", ctypes.c_uint64), ("spec", ctypes.c_char_p),
                ("metrics", Metrics), ("layer", ctypes.c_uint32), ("n_layers", ctypes.c_uint32)]


class CompressOptions(ctypes.Structure):
    _fields_ = [("spec", ctypes.c_char_p), ("specs", ctypes.c_void_p), ("min_snr_db", ctypes.c_double),
                ("threads", ctypes.c_int), ("quantize_1d", ctypes.c_int), ("lossy_integers", ctypes.c_int),
                ("fallback_on_error", ctypes.c_int), ("col_importance", ctypes.c_void_p), ("n_cols", ctypes.c_void_p),
                ("allow_requantize", ctypes.c_int)]


class PlanRule(ctypes.Structure):
    _fields_ = [("match", ctypes.c_char_p), ("spec", ctypes.c_char_p), ("keep", ctypes.c_int),
                ("weight", ctypes.c_double)]


class ModelOptions(ctypes.Structure):
    _fields_ = [("strategy", ctypes.c_char_p), ("target_bytes", ctypes.c_double), ("target_bpw", ctypes.c_double),
                ("target_ratio", ctypes.c_double), ("min_snr_db", ctypes.c_double),
                ("max_rel_error", ctypes.c_double), ("metric", ctypes.c_void_p), ("metric_user", ctypes.c_void_p),
                ("metric_higher_is_better", ctypes.c_int), ("accuracy_threshold", ctypes.c_double),
                ("check_accuracy", ctypes.c_int), ("measure_sensitivity", ctypes.c_int),
                ("probe_spec", ctypes.c_char_p), ("rules", ctypes.POINTER(PlanRule)), ("n_rules", ctypes.c_size_t),
                ("threads", ctypes.c_int), ("quantize_1d", ctypes.c_int), ("dry_run", ctypes.c_int),
                ("no_benchmark", ctypes.c_int), ("sample_values", ctypes.c_size_t),
                ("col_importance", ctypes.c_void_p), ("n_cols", ctypes.c_void_p), ("allow_requantize", ctypes.c_int)]


class ModelTensor(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char * 256), ("dtype", ctypes.c_int), ("ndim", ctypes.c_uint32),
                ("shape", ctypes.c_uint64 * MAX_DIMS), ("spec", ctypes.c_char * 160), ("role", ctypes.c_char * 16),
                ("bytes_in", ctypes.c_uint64), ("bytes", ctypes.c_uint64), ("predicted_bytes", ctypes.c_uint64),
                ("predicted_snr_db", ctypes.c_double), ("snr_db", ctypes.c_double), ("rel_error", ctypes.c_double),
                ("weight", ctypes.c_double), ("fallback", ctypes.c_char * 320)]


class ModelResult(ctypes.Structure):
    _fields_ = [("strategy", ctypes.c_char * 16), ("bytes_in", ctypes.c_uint64), ("file_bytes", ctypes.c_uint64),
                ("predicted_bytes", ctypes.c_uint64), ("values", ctypes.c_uint64), ("target_bytes", ctypes.c_uint64),
                ("smallest_bytes", ctypes.c_uint64), ("ratio", ctypes.c_double), ("bits_per_weight", ctypes.c_double),
                ("target_met", ctypes.c_int), ("fidelity_measured", ctypes.c_int), ("fidelity_name", ctypes.c_char * 32),
                ("fidelity", ctypes.c_double), ("fidelity_reference", ctypes.c_double), ("accuracy_met", ctypes.c_int),
                ("mobile_compatible", ctypes.c_int), ("sensitivity_measured", ctypes.c_int),
                ("rounds", ctypes.c_size_t), ("fallbacks", ctypes.c_size_t), ("seconds_plan", ctypes.c_double),
                ("seconds_write", ctypes.c_double), ("seconds_eval", ctypes.c_double),
                ("peak_rss_bytes", ctypes.c_uint64), ("changes", ctypes.c_char * 2048), ("n_tensors", ctypes.c_size_t),
                ("tensors", ctypes.POINTER(ModelTensor))]


class EvalMetricSpec(ctypes.Structure):
    _fields_ = [("ref_path", ctypes.c_char_p), ("text_path", ctypes.c_char_p), ("max_tokens", ctypes.c_size_t),
                ("cache", ctypes.c_void_p)]


class ParamDef(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("type", ctypes.c_int), ("default", ctypes.c_double),
                ("min", ctypes.c_double), ("max", ctypes.c_double),
                ("choices", ctypes.POINTER(ctypes.c_char_p)), ("help", ctypes.c_char_p),
                ("yields_to", ctypes.c_char_p)]


class CodecInfo(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint16), ("name", ctypes.c_char_p), ("flags", ctypes.c_uint),
                ("summary", ctypes.c_char_p), ("n_params", ctypes.c_size_t), ("params", ctypes.POINTER(ParamDef))]


def _find_library():
    env = os.environ.get("TPRESS_LIB")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (os.path.join(here, "libtpress.so"),
                      os.path.join(here, "..", "..", "build", "libtpress.so")):
        if os.path.exists(candidate):
            return candidate
    found = ctypes.util.find_library("tpress")
    if not found:
        raise ImportError("libtpress.so not found: build it with `make` or set TPRESS_LIB")
    return found


lib = ctypes.CDLL(_find_library())
_size_t, _p = ctypes.c_size_t, ctypes.c_void_p


def _declare(name, restype, *argtypes):
    fn = getattr(lib, name)
    fn.restype, fn.argtypes = restype, list(argtypes)


_declare("tp_is_error", ctypes.c_int, _size_t)
_declare("tp_error_name", ctypes.c_char_p, _size_t)
_declare("tp_last_error_detail", ctypes.c_char_p)
_declare("tp_pipeline_parse", _size_t, ctypes.c_char_p, ctypes.POINTER(_p))
_declare("tp_pipeline_free", None, _p)
_declare("tp_error_code", ctypes.c_int, _size_t)
_declare("tp_frame_bound", _size_t, _p, ctypes.POINTER(Tensor))
_declare("tp_frame_encode", _size_t, _p, ctypes.POINTER(Tensor), _p, _p, _size_t)
_declare("tp_compress_tensors", _size_t, _size_t, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(Tensor),
         ctypes.c_char_p, ctypes.POINTER(CompressOptions), _p, _p, _p)
_declare("tp_frame_inspect", _size_t, ctypes.c_char_p, _size_t, ctypes.POINTER(FrameInfo))
_declare("tp_frame_header", _size_t, ctypes.c_char_p, _size_t, ctypes.POINTER(FrameInfo))
_declare("tp_frame_decode", _size_t, ctypes.c_char_p, _size_t, _p, _size_t)
_declare("tp_metrics_compute", _size_t, _p, ctypes.c_int, _p, ctypes.c_int, _size_t, ctypes.POINTER(Metrics))
_declare("tp_archive_writer_open", _size_t, ctypes.c_char_p, ctypes.POINTER(_p))
_declare("tp_archive_writer_add", _size_t, _p, ctypes.c_char_p, _p, _size_t, ctypes.POINTER(Metrics))
_declare("tp_archive_writer_finish", _size_t, _p)
_declare("tp_archive_writer_abort", None, _p)
_declare("tp_archive_open", _size_t, ctypes.c_char_p, ctypes.POINTER(_p))
_declare("tp_archive_close", None, _p)
_declare("tp_archive_count", _size_t, _p)
_declare("tp_archive_entry_at", ctypes.POINTER(ArchiveEntry), _p, _size_t)
_declare("tp_archive_find", _size_t, _p, ctypes.c_char_p)
_declare("tp_archive_decode", _size_t, _p, _size_t, _p, _size_t)
_declare("tp_archive_open_partial", _size_t, ctypes.c_char_p, ctypes.POINTER(_p))
_declare("tp_archive_is_partial", ctypes.c_int, _p)
_declare("tp_archive_metadata", ctypes.c_char_p, _p)
_declare("tp_archive_layer_count", ctypes.c_uint, _p, _size_t)
_declare("tp_archive_layer_at", ctypes.POINTER(ArchiveEntry), _p, _size_t, ctypes.c_uint)
_declare("tp_archive_decode_layers", _size_t, _p, _size_t, ctypes.c_uint, _p, _size_t)
_declare("tp_compress_progressive", _size_t, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), _size_t,
         ctypes.POINTER(CompressOptions), _p, _p, _p)
_declare("tp_codec_count", _size_t)
_declare("tp_codec_at", ctypes.POINTER(CodecInfo), _size_t)
_declare("tp_compress_model", _size_t, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ModelOptions), _p, _p,
         ctypes.POINTER(ModelResult))
_declare("tp_model_result_free", None, ctypes.POINTER(ModelResult))
_declare("tp_eval_model_kind", ctypes.c_int, ctypes.c_char_p)
_declare("tp_eval_model_metric", _size_t, _p, _p, _p, _p)
_declare("tp_eval_metric_spec_release", None, _p)
lib.free.restype, lib.free.argtypes = None, [_p]


def check(result, what):
    """Raises TensorpressError when a size_t result encodes an error."""
    if lib.tp_is_error(result):
        detail = lib.tp_last_error_detail().decode(errors="replace")
        name = lib.tp_error_name(result).decode()
        raise TensorpressError(f"{what}: {name}: {detail}" if detail else f"{what}: {name}")
    return result


def codecs():
    """Every registered codec: name, id, lossy flag, parameters with defaults and ranges."""
    out = []
    for i in range(lib.tp_codec_count()):
        c = lib.tp_codec_at(i).contents
        params = []
        for j in range(c.n_params):
            d = c.params[j]
            p = {"name": d.name.decode(), "default": d.default, "min": d.min, "max": d.max,
                 "help": d.help.decode() if d.help else ""}
            if d.choices:
                names, k = [], 0
                while d.choices[k]:
                    names.append(d.choices[k].decode())
                    k += 1
                p["choices"], p["default"] = names, names[int(d.default)]
            params.append(p)
        out.append({"name": c.name.decode(), "id": c.id, "lossy": bool(c.flags & 1),
                    "summary": c.summary.decode() if c.summary else "", "params": params})
    return out
