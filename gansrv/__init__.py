"""gansrv: train classic GAN families, export them to ONNX, serve them without torch."""

__version__ = "0.1.0"

from gansrv.hookspecs import hookimpl  # noqa: E402  (re-exported for plugins)

__all__ = ["__version__", "hookimpl"]
