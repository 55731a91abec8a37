"""Coarse-to-fine pieces shared by multi-scale families: image pyramids and packed noise.

- :func:`downsample` / :func:`upsample` are the pyramid's two operators (LAPGAN's d(.) and u(.),
  Denton et al. 2015, sec. 3.1): 2x2 average pooling, and bilinear doubling, both exact in ONNX
  (AveragePool, Resize), so an exported chain of levels equals torch;
- :func:`pyramid_sizes` and :func:`gaussian_pyramid` build the real images every level trains on;
- :class:`ZLayout` packs the noise of several networks (levels, stages, conditioning
  augmentation's epsilon) into ONE ``z`` input, so the exported graph stays a plain noise ->
  image model that the runtime, ``generate`` and the demo serve unchanged; its JSON goes into the
  metadata (key ``z_layout``) so a user can still address one level's noise.

Nothing here names a family.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gansrv.errors import UserError


def downsample(x: torch.Tensor) -> torch.Tensor:
    """d(I): half the side by 2x2 average pooling (sides must be even)."""
    return F.avg_pool2d(x, 2)


def upsample(x: torch.Tensor) -> torch.Tensor:
    """u(I): double the side by bilinear interpolation (half-pixel centres, ONNX Resize)."""
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


def pyramid_sizes(size: int, levels: int, smallest: int = 4) -> list[int]:
    """Sides from the coarsest level to `size`, halving `levels - 1` times; raises UserError when a
    side would be odd or below `smallest`."""
    sides = [size]
    for _ in range(levels - 1):
        if sides[0] % 2 or sides[0] // 2 < smallest:
            raise UserError(f"image size {size} cannot be halved {levels - 1} times down to a side "
                            f">= {smallest} (choose fewer levels or another size)")
        sides.insert(0, sides[0] // 2)
    return sides


def halvings(size: int, smallest: int = 4) -> list[int]:
    """Every side `size` halves down to while even and not below `smallest`, coarsest first
    (32 -> [4, 8, 16, 32]; 28 -> [7, 14, 28])."""
    sides = [size]
    while sides[0] % 2 == 0 and sides[0] // 2 >= smallest:
        sides.insert(0, sides[0] // 2)
    return sides


def gaussian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """[I_coarsest, ..., I_0 = x]: each level the 2x2 average of the next finer one."""
    out = [x]
    for _ in range(levels - 1):
        out.insert(0, downsample(out[0]))
    return out


@dataclass(frozen=True)
class ZPart:
    """One slice of the packed z: its name and the shape it is viewed as (without the batch)."""

    name: str
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return math.prod(self.shape)


class ZLayout:
    """Several noise tensors packed into one standard-normal vector, in a fixed order."""

    def __init__(self, parts: list[ZPart]):
        if not parts:
            raise ValueError("a z layout needs at least one part")
        self.parts = list(parts)

    @property
    def size(self) -> int:
        return sum(p.size for p in self.parts)

    def split(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """The parts of a (batch, size) z, each viewed as (batch, *shape)."""
        out, at = {}, 0
        for p in self.parts:
            out[p.name] = z[:, at:at + p.size].reshape(-1, *p.shape)
            at += p.size
        return out

    def to_json(self) -> str:
        """What the metadata key ``z_layout`` holds: [{name, offset, size, shape}, ...]."""
        rows, at = [], 0
        for p in self.parts:
            rows.append({"name": p.name, "offset": at, "size": p.size, "shape": list(p.shape)})
            at += p.size
        return json.dumps(rows)
