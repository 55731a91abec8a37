"""Open an exported ``.onnx`` file: check it is one, read its gansrv metadata, refuse external data.

The onnx package only parses the protobuf here (``load_external_data=False``); onnxruntime runs it.
A model whose weights live in external files is refused: gansrv writes one self-contained file, and
an external path could point anywhere on the serving machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gansrv.errors import UserError
from gansrv.runtime import session as sessions
from gansrv.runtime.metadata import EXPORT_HINT, ModelInfo, parse

MAX_MODEL_BYTES = 2 * 1024**3  # protobuf's own limit for one file


def read_info(path: str | Path) -> ModelInfo:
    """Parse the file's gansrv metadata; any unreadable input becomes one UserError line."""
    proto = _load_proto(Path(path))
    _refuse_external_data(proto, path)
    return parse({p.key: p.value for p in proto.metadata_props}, str(path))


def _load_proto(path: Path) -> Any:
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise UserError(f"{path}: empty file, not an ONNX model")
    if size > MAX_MODEL_BYTES:
        raise UserError(f"{path}: {size} bytes is larger than an ONNX file can be (2 GiB)")
    import onnx
    from google.protobuf.message import Error as ProtobufError

    try:
        proto = onnx.load(str(path), format="protobuf", load_external_data=False)
    except (ProtobufError, RuntimeError, ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not an ONNX model, or truncated ({type(exc).__name__}); "
                        f"{EXPORT_HINT}") from None
    if not proto.HasField("graph") or not proto.graph.output:
        raise UserError(f"{path}: not an ONNX model, or truncated (no graph); {EXPORT_HINT}")
    return proto


def _refuse_external_data(proto: Any, path: str | Path) -> None:
    from onnx.external_data_helper import uses_external_data

    for tensor in proto.graph.initializer:
        if uses_external_data(tensor):
            raise UserError(f"{path}: tensor {tensor.name!r} is stored in an external file; gansrv "
                            f"serves self-contained models only ({EXPORT_HINT})")


@dataclass
class LoadedModel:
    """A model ready to run: its metadata, its onnxruntime session and the provider in use."""

    path: Path
    info: ModelInfo
    session: Any

    @property
    def provider(self) -> str:
        return sessions.provider_in_use(self.session)

    def check_io(self) -> None:
        """The graph's real inputs must be the ones its metadata describes."""
        real = [i.name for i in self.session.get_inputs()]
        if sorted(real) != sorted(self.info.input_names()):
            raise UserError(f"{self.path}: graph inputs {real} do not match its metadata "
                            f"{self.info.input_names()}; re-export it")


def load(path: str | Path, provider: str = "auto", threads: int = 0) -> LoadedModel:
    """Read the metadata first (cheap, catches non-gansrv files), then create the session."""
    path = Path(path)
    info = read_info(path)
    model = LoadedModel(path, info, sessions.session(path, provider, threads))
    model.check_io()
    return model


class ModelUser:
    """Base of the runtime's model wrappers (Generator, Translator): they check in ``__init__``
    that the file is a graph they can drive, then keep the loaded model here."""

    def __init__(self, model: LoadedModel):
        self.model = model

    @classmethod
    def from_file(cls, path: str | Path, provider: str = "auto", threads: int = 0):
        """Load the model (its metadata, then an onnxruntime session on the chosen provider)."""
        return cls(load(path, provider, threads))

    @property
    def info(self) -> ModelInfo:
        return self.model.info

    @property
    def provider(self) -> str:
        return self.model.provider
