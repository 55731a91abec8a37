"""Run exported gansrv models with onnxruntime and numpy: no torch, no run directory.

Everything here must stay importable on a serving machine that has no torch (a test imports this
package in a fresh interpreter, generates, and checks that ``torch`` never entered ``sys.modules``).
"""

from gansrv.runtime.classifier import Classifier, Prediction
from gansrv.runtime.generator import Generator, balanced_labels, noise, to_uint8
from gansrv.runtime.metadata import ModelInfo, TensorInfo, parse
from gansrv.runtime.model import LoadedModel, load, read_info
from gansrv.runtime.session import resolve_providers
from gansrv.runtime.translator import Translator

__all__ = ["Classifier", "Generator", "LoadedModel", "ModelInfo", "TensorInfo", "balanced_labels",
           "load", "noise", "parse", "Prediction", "read_info", "resolve_providers", "to_uint8", "Translator"]
