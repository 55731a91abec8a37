"""torch -> ONNX export of a run's graphs, with metadata and an ORT-vs-torch parity check."""

from gansrv.export.onnx_export import DEFAULT_OPSET, DEFAULT_TOLERANCE, Exported, ExportError, export_run

__all__ = ["DEFAULT_OPSET", "DEFAULT_TOLERANCE", "ExportError", "Exported", "export_run"]
