"""Exact rewrites of torch modules into forms onnxruntime's CPU kernels run faster.

The one rewrite so far: a transposed convolution that only ever sees a 1x1 input (the stem of a
DCGAN-style generator: z as ``latent x 1 x 1`` -> ``C x k x k``) is a matrix product, and so is the
BatchNorm after it. onnxruntime runs ConvTranspose image by image, so at batch 64 that stem was 64
matrix-vector products; as one MatMul over the batch (``N x Cin`` times ``Cin x C*k*k``) it is one
matrix product; what that gains is measured by ``benchmarks/export_rewrite.py`` (docs/benchmarks.md,
"Stem rewrite, batch PNG encoder, ``--compression``"). The arithmetic is the same sums in another
order, so the export's parity check (against the untouched module) still bounds the difference.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class PointConvTranspose(nn.Module):
    """``ConvTranspose2d(stride 1, padding 0)`` applied to a 1x1 input, as one matrix product.

    The output pixel (i, j) of a transposed conv on a 1x1 input is ``sum_c x[c] * W[c, :, i, j]``:
    a Linear layer whose weight is W flattened, followed by a reshape to ``C x kh x kw``.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        super().__init__()
        cin, self.cout, self.kh, self.kw = weight.shape
        self.weight = nn.Parameter(weight.reshape(cin, -1).t().contiguous(), requires_grad=False)
        self.bias = nn.Parameter(bias.repeat_interleave(self.kh * self.kw), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = nn.functional.linear(x.flatten(1), self.weight, self.bias)
        return y.view(x.size(0), self.cout, self.kh, self.kw)


def point_convtransposes(module: nn.Module, inputs: dict[str, torch.Tensor]) -> int:
    """Replace, in place, every transposed conv that the example saw on a 1x1 input (with the
    BatchNorm right after it, folded in); returns how many were replaced.

    Only for graphs of fixed spatial size (the caller's job): an image graph whose input size
    varies could feed the same layer more than 1x1.
    """
    seen = _one_by_one(module, inputs)
    count = 0
    for parent in list(module.modules()):
        names = list(parent._modules)
        for i, name in enumerate(names):
            child = parent._modules[name]
            if child is None or id(child) not in seen:
                continue
            nxt = parent._modules[names[i + 1]] if i + 1 < len(names) else None
            folded = isinstance(parent, nn.Sequential) and isinstance(nxt, nn.BatchNorm2d) \
                and not nxt.training and nxt.track_running_stats
            parent._modules[name] = _as_point(child, nxt if folded else None)
            if folded:
                parent._modules[names[i + 1]] = nn.Identity()
            count += 1
    return count


def _one_by_one(module: nn.Module, inputs: dict[str, torch.Tensor]) -> set[int]:
    """ids of the plain ConvTranspose2d layers whose input was 1x1 in a forward pass."""
    found: set[int] = set()
    handles = []

    def hook(mod: nn.Module, args: tuple, _out: Any) -> None:
        if args[0].dim() == 4 and tuple(args[0].shape[2:]) == (1, 1):
            found.add(id(mod))

    for sub in module.modules():
        if type(sub) is nn.ConvTranspose2d and _plain(sub):
            handles.append(sub.register_forward_hook(hook))
    try:
        with torch.no_grad():
            module(*inputs.values())
    finally:
        for h in handles:
            h.remove()
    return found


def _plain(ct: nn.ConvTranspose2d) -> bool:
    return (ct.stride == (1, 1) and ct.padding == (0, 0) and ct.output_padding == (0, 0)
            and ct.dilation == (1, 1) and ct.groups == 1 and ct.padding_mode == "zeros")


def _as_point(ct: nn.ConvTranspose2d, bn: nn.BatchNorm2d | None) -> PointConvTranspose:
    w = ct.weight.detach()
    b = ct.bias.detach() if ct.bias is not None else torch.zeros(w.shape[1], dtype=w.dtype)
    if bn is not None:  # y = (conv - mean) * gamma / sqrt(var + eps) + beta
        scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps) if bn.affine \
            else 1 / torch.sqrt(bn.running_var + bn.eps)
        shift = bn.bias.detach() if bn.affine else torch.zeros_like(scale)
        w = w * scale.view(1, -1, 1, 1)
        b = (b - bn.running_mean) * scale + shift
    return PointConvTranspose(w, b)
