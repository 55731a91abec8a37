"""The training engine: loop, devices, seeds, checkpoints, resume, sample grids and logging.

It knows nothing about any family; it calls the hooks of :class:`gansrv.family.Family`.
"""

from gansrv.train.options import TrainOptions

__all__ = ["TrainOptions"]
