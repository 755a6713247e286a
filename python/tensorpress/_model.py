"""compress_model: the whole-model planner of libtpress (tp_compress_model)."""
import ctypes
import math
import os

from ._lib import EvalMetricSpec, ModelOptions, ModelResult, PlanRule, TensorpressError, check, lib

_STRATEGIES = ("auto", "simple", "mobile", "advanced")


def _default_text(kind):
    name = "eval_text.txt" if kind == 2 else "eval_sentences.txt"
    roots = [os.environ.get("TPRESS_DATA"),
             os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data")]
    for root in roots:
        if root and os.path.isfile(os.path.join(root, name)):
            return os.path.join(root, name)
    raise TensorpressError(f"no evaluation text: give text= (the bundled data/{name} was not found)")


def _finite(x):
    return x if math.isfinite(x) else None


def _result(r, dry_run):
    tensors = []
    for i in range(r.n_tensors):
        t = r.tensors[i]
        tensors.append({"name": t.name.decode(), "shape": tuple(t.shape[k] for k in range(t.ndim)),
                        "role": t.role.decode(), "spec": t.spec.decode(), "bytes_in": t.bytes_in,
                        "bytes": t.bytes, "predicted_bytes": t.predicted_bytes,
                        "predicted_snr_db": _finite(t.predicted_snr_db), "snr_db": _finite(t.snr_db),
                        "rel_error": _finite(t.rel_error), "weight": t.weight,
                        "fallback": t.fallback.decode() or None})
    out = {"strategy": r.strategy.decode(), "original_bytes": r.bytes_in,
           "compressed_bytes": r.predicted_bytes if dry_run else r.file_bytes,
           "predicted_bytes": r.predicted_bytes, "smallest_bytes": r.smallest_bytes, "weights": r.values,
           "ratio": r.ratio, "bits_per_weight": r.bits_per_weight,
           "target_bytes": r.target_bytes or None, "target_met": None if r.target_met < 0 else bool(r.target_met),
           "fidelity": ({"metric": r.fidelity_name.decode(), "value": r.fidelity, "original": r.fidelity_reference}
                        if r.fidelity_measured else None),
           "accuracy_met": None if r.accuracy_met < 0 else bool(r.accuracy_met),
           "mobile_compatible": bool(r.mobile_compatible), "sensitivity_measured": bool(r.sensitivity_measured),
           "rounds": r.rounds, "fallbacks": r.fallbacks, "seconds_plan": r.seconds_plan,
           "seconds_write": r.seconds_write, "seconds_eval": r.seconds_eval, "peak_rss_bytes": r.peak_rss_bytes,
           "changes": r.changes.decode().splitlines(), "tensors": tensors}
    return out


def compress_model(src, dst=None, target_mb=None, target_bpw=None, target_ratio=None, min_snr=None,
                   max_error=None, strategy="auto", accuracy_threshold=None, ref=None, text=None, max_tokens=0,
                   sensitivity="role", rules=(), dry_run=False, benchmark=True, threads=0, quantize_1d=False,
                   sample=0):
    """Plans and writes every tensor of src (.safetensors/.npy) into the .tpz
    archive dst for one target (target_mb: whole file <= target_mb x 10^6
    bytes; or bits per weight, ratio, per-tensor SNR, relative error), as
    `tpress compress` does with the same options. The model-level metric
    (MiniLM embedding cosine, Llama GGUF next-token KL) is used when ref (or
    src) is a model libtpress can run. rules: (regex, spec) pairs, spec
    "keep" for lossless. Returns the result as a dict; a missed
    accuracy_threshold is reported in it (accuracy_met False), not raised."""
    if strategy not in _STRATEGIES:
        raise ValueError(f"strategy must be one of {_STRATEGIES}")
    if sensitivity not in ("role", "measure"):
        raise ValueError("sensitivity must be 'role' or 'measure'")
    if dst is None and not dry_run:
        raise ValueError("dst is required unless dry_run")
    src_b = os.fsencode(src)
    o = ModelOptions(strategy=strategy.encode(), threads=threads, quantize_1d=int(bool(quantize_1d)),
                     dry_run=int(bool(dry_run)), no_benchmark=int(not benchmark), sample_values=sample)
    if target_mb is not None:
        o.target_bytes = float(target_mb) * 1e6
    o.target_bpw = float(target_bpw or 0)
    o.target_ratio = float(target_ratio or 0)
    o.min_snr_db = float(min_snr or 0)
    o.max_rel_error = float(max_error or 0)
    if accuracy_threshold is not None:
        o.check_accuracy, o.accuracy_threshold = 1, float(accuracy_threshold)
    keep = []  # everything ctypes points at stays alive through the call
    ref_path = ref if ref is not None else (src if lib.tp_eval_model_kind(src_b) else None)
    if ref_path is not None:
        kind = lib.tp_eval_model_kind(os.fsencode(ref_path))
        if not kind:
            raise TensorpressError(f"{ref_path}: neither a GGUF nor MiniLM weights with vocab.txt beside them")
        spec = EvalMetricSpec(os.fsencode(ref_path), os.fsencode(text or _default_text(kind)), max_tokens)
        keep.append(spec)
        o.metric = ctypes.cast(lib.tp_eval_model_metric, ctypes.c_void_p).value
        o.metric_user = ctypes.cast(ctypes.pointer(spec), ctypes.c_void_p).value
        o.metric_higher_is_better = int(kind == 1)
    elif sensitivity == "measure":
        raise TensorpressError("sensitivity='measure' needs a model libtpress can run (ref=)")
    o.measure_sensitivity = int(sensitivity == "measure")
    rules = list(rules)
    if rules:
        arr = (PlanRule * len(rules))()
        for i, (regex, spec) in enumerate(rules):
            arr[i].match = regex.encode()
            if spec == "keep":
                arr[i].keep = 1
            else:
                arr[i].spec = spec.encode()
        keep.append(arr)
        o.rules, o.n_rules = arr, len(rules)
    r = ModelResult()
    dst_b = None if dry_run else os.fsencode(dst)
    result = lib.tp_compress_model(src_b, dst_b, ctypes.byref(o), None, None, ctypes.byref(r))
    for spec in keep:
        if isinstance(spec, EvalMetricSpec):
            lib.tp_eval_metric_spec_release(ctypes.byref(spec))
    try:
        if lib.tp_is_error(result) and r.smallest_bytes and r.target_bytes and r.smallest_bytes > r.target_bytes:
            raise TensorpressError(f"{src}: the target of {r.target_bytes} bytes is below the smallest plan, "
                                   f"{r.smallest_bytes} bytes")
        check(result, str(src))
        return _result(r, dry_run)
    finally:
        lib.tp_model_result_free(ctypes.byref(r))
