"""onnxruntime sessions: a sane install check, a quiet CUDA probe, provider choice and a cache.

onnxruntime-gpu lists ``CUDAExecutionProvider`` even where the CUDA libraries are missing, and asking
for it then prints red error lines before falling back to CPU. So "auto" asks for CUDA only after a
probe on a one-node model, run with the logger silenced, has confirmed that a session really gets
CUDA first (``get_providers()[0]``; ``get_available_providers()`` cannot tell).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import io
import threading
from pathlib import Path
from typing import Any

from gansrv.errors import UserError
from gansrv.extras import INSTALL_HINT

PROVIDERS = ("auto", "cpu", "cuda")
CPU, CUDA = "CPUExecutionProvider", "CUDAExecutionProvider"
_ORT_DISTS = ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml", "onnxruntime-openvino")
_FIX = ("pip uninstall -y {dists} && pip install {keep}  (they share one module and break each "
        "other)")


def installed_ort_distributions() -> list[str]:
    """The onnxruntime distributions pip has installed (more than one breaks the shared module)."""
    found = []
    for name in _ORT_DISTS:
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        found.append(name)
    return found


def double_install_message() -> str | None:
    """How to fix a double install of onnxruntime flavours, or None when there is none."""
    dists = installed_ort_distributions()
    if len(dists) < 2:
        return None
    keep = "onnxruntime-gpu" if "onnxruntime-gpu" in dists else dists[0]
    return f"several onnxruntime packages installed ({', '.join(dists)}): " + _FIX.format(
        dists=" ".join(dists), keep=keep)


def ort() -> Any:
    """Import onnxruntime, turning a missing or broken install into one actionable line."""
    problem = double_install_message()
    try:
        import onnxruntime

        onnxruntime.InferenceSession  # noqa: B018 - a half-uninstalled package lacks it
    except (ImportError, AttributeError) as exc:
        hint = problem or INSTALL_HINT["serve"]
        raise UserError(f"onnxruntime cannot be imported ({exc}); {hint}") from None
    if problem:
        raise UserError(problem)
    return onnxruntime


@functools.lru_cache(maxsize=1)
def cuda_usable() -> bool:
    """True only if a real session gets CUDA as its first provider; probed once, quietly."""
    rt = ort()
    if CUDA not in rt.get_available_providers():
        return False
    opts = rt.SessionOptions()
    opts.log_severity_level = 4
    rt.set_default_logger_severity(4)  # hides the library-load E/W lines of a CPU-only machine
    try:
        sess = rt.InferenceSession(_probe_model(), opts, providers=[CUDA, CPU])
        return sess.get_providers()[0] == CUDA
    except Exception:  # any failure to create means: not usable
        return False
    finally:
        rt.set_default_logger_severity(3)


def _probe_model() -> bytes:
    """A one-node (Identity) model: the cheapest graph a CUDA session can be created for."""
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "probe", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


def resolve_providers(provider: str = "auto") -> list[str]:
    """Provider list for a session: ``auto`` takes CUDA only when it really works."""
    if provider not in PROVIDERS:
        raise UserError(f"--provider must be one of {', '.join(PROVIDERS)}, got {provider!r}")
    if provider == "cpu":
        return [CPU]
    if cuda_usable():
        return [CUDA, CPU]
    if provider == "cuda":
        raise UserError("--provider cuda: CUDA is not usable here (no GPU, or onnxruntime-gpu cannot "
                        "load the CUDA libraries); use --provider cpu or auto")
    return [CPU]


_lock = threading.Lock()
_cache: dict[tuple, Any] = {}


def session(path: str | Path, provider: str = "auto", threads: int = 0, cache: bool = True) -> Any:
    """An InferenceSession for `path` (cached by file identity, provider and threads).

    ``threads`` 0 keeps onnxruntime's default, which measured best on small CPUs.
    """
    path = Path(path).resolve()
    if not 0 <= threads <= 1024:
        raise UserError(f"threads must be between 0 and 1024, got {threads}")
    providers = resolve_providers(provider)
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size, tuple(providers), threads)
    with _lock:
        if cache and key in _cache:
            return _cache[key]
    rt = ort()
    opts = rt.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    opts.graph_optimization_level = rt.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        # onnxruntime prints "EP Error ... Falling back" to stdout before re-raising for some bad
        # files; that would break the one-line error and pollute piped output.
        with contextlib.redirect_stdout(io.StringIO()):
            sess = rt.InferenceSession(str(path), opts, providers=providers)
    except Exception as exc:  # onnxruntime raises its own pybind types (Fail, InvalidGraph, ...)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"{path}: onnxruntime cannot load the model ({first})") from None
    if cache:
        with _lock:
            _cache[key] = sess
    return sess


def provider_in_use(sess: Any) -> str:
    """The provider a session actually runs on (its first), e.g. ``CPUExecutionProvider``."""
    return sess.get_providers()[0]
