"""Exact rewrite of strided transposed convolutions into Conv + PixelShuffle (sub-pixel convolution).

onnxruntime's CPU quantizer leaves ``ConvTranspose`` in float (it has no integer kernel for it), so
an int8 generator would spend most of its time dequantizing around float ConvTransposes. A transposed
conv of stride s is s*s ordinary convolutions, one per output phase (Shi et al. 2016, "Real-Time
Single Image and Video Super-Resolution Using an Efficient Sub-Pixel CNN"): output row
``o = s*q + r`` only sums taps ``t ≡ (r + p) mod s`` over input rows ``q + (r + p - t) / s``. Stacking
the phases as s*s output channels of one Conv (taps a phase does not use are zero) and interleaving
them with PixelShuffle (ONNX DepthToSpace, CRD) gives the same sums in another order: the export's
fp32 parity check against the untouched module still bounds the difference.

The window and padding do not depend on the input size, so the rewrite also holds for graphs whose
height and width are dynamic (pix2pix's U-Net).

Between two such layers the interleave can go: :func:`fold_shuffles` lets the second layer read the
first one's phases directly (a conv on the coarse grid whose output is the phases of both shuffles
at once), so one DepthToSpace at the end replaces two. Folding multiplies that layer's multiply-adds
by the earlier shuffle's s*s (each coarse tap covers s*s fine pixels, most of them zero weights), so
it only pays where the layer is narrow and the shuffle it removes is wide: into an image layer (1-4
output channels) after a feature map of tens of channels. At 28 px that shuffle was
a third of the int8 generator's time (docs/benchmarks.md, "int8 exports and --compile").
"""

from __future__ import annotations

import torch
from torch import nn


class SubPixelConvTranspose(nn.Module):
    """``PixelShuffle(s)(Conv2d(x))``: the same function as the ConvTranspose2d it replaces."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, padding: tuple[int, int, int, int],
                 stride: int, inner: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(weight.shape[1], weight.shape[0], tuple(weight.shape[2:]), bias=True)
        self.conv.weight = nn.Parameter(weight, requires_grad=False)
        self.conv.bias = nn.Parameter(bias, requires_grad=False)
        self.pad = padding  # (left, right, top, bottom), as F.pad takes it
        self.stride = stride  # this layer's own upsampling
        self.inner = inner  # > 1: the input is the phases of an earlier shuffle, folded in here
        self.shuffle = nn.PixelShuffle(stride * inner)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(self.pad):
            x = nn.functional.pad(x, self.pad)
        return self.shuffle(self.conv(x))


def _taps(k: int, s: int, p: int, op: int) -> tuple[list[tuple[int, int, int]], int, int] | None:
    """Per axis: (phase r, input offset d, kernel tap t) triples, and the conv's padding (lo, hi);
    None when the output is not a whole number of phases or would need cropping."""
    if (k - 2 * p + op) % s:
        return None
    taps = [(r, (r + p - t) // s, t) for r in range(s) for t in range((r + p) % s, k, s)]
    if not taps:
        return None
    lo, hi = min(d for _, d, _ in taps), max(d for _, d, _ in taps)
    grow = (k - 2 * p + op - s) // s  # output phases minus input size: constant in the input size
    pad_lo, pad_hi = -lo, grow + hi
    if pad_lo < 0 or pad_hi < 0:
        return None
    return [(r, d - lo, t) for r, d, t in taps], pad_lo, pad_hi


def rewritable(ct: nn.ConvTranspose2d) -> bool:
    """Square stride > 1, no groups or dilation, zero padding mode, and whole phases."""
    (sh, sw), (kh, kw) = ct.stride, ct.kernel_size
    (ph, pw), (oh, ow) = ct.padding, ct.output_padding
    return (sh == sw > 1 and ct.groups == 1 and ct.dilation == (1, 1) and ct.padding_mode == "zeros"
            and _taps(kh, sh, ph, oh) is not None and _taps(kw, sw, pw, ow) is not None)


def as_subpixel(ct: nn.ConvTranspose2d) -> SubPixelConvTranspose:
    """The Conv + PixelShuffle that computes what `ct` computes (check :func:`rewritable` first)."""
    s = ct.stride[0]
    th, lo_h, hi_h = _taps(ct.kernel_size[0], s, ct.padding[0], ct.output_padding[0])
    tw, lo_w, hi_w = _taps(ct.kernel_size[1], s, ct.padding[1], ct.output_padding[1])
    w = ct.weight.detach()  # (Cin, Cout, kh, kw)
    cin, cout = w.shape[0], w.shape[1]
    kh = max(d for _, d, _ in th) + 1
    kw = max(d for _, d, _ in tw) + 1
    conv = torch.zeros(cout, s, s, cin, kh, kw, dtype=w.dtype)
    for rh, dh, tap_h in th:
        for rw, dw, tap_w in tw:
            # correlation: output phase (rh, rw) at q reads input q + offset, offset = d - lo
            conv[:, rh, rw, :, dh, dw] = w[:, :, tap_h, tap_w].t()
    bias = ct.bias.detach() if ct.bias is not None else torch.zeros(cout, dtype=w.dtype)
    return SubPixelConvTranspose(conv.reshape(cout * s * s, cin, kh, kw).contiguous(),
                                 bias.repeat_interleave(s * s), (lo_w, hi_w, lo_h, hi_h), s)


def subpixel_convtransposes(module: nn.Module) -> int:
    """Replace, in place, every rewritable ConvTranspose2d of `module` (with an eval-mode BatchNorm
    right after it in a Sequential folded in, so the quantizer sees one Conv); returns how many."""
    count = 0
    for parent in list(module.modules()):
        names = list(parent._modules)
        for i, name in enumerate(names):
            child = parent._modules[name]
            if type(child) is not nn.ConvTranspose2d or not rewritable(child):
                continue
            nxt = parent._modules[names[i + 1]] if i + 1 < len(names) else None
            fold = isinstance(parent, nn.Sequential) and type(nxt) is nn.BatchNorm2d \
                and not nxt.training and nxt.track_running_stats
            sub = as_subpixel(child)
            if fold:
                _fold_batchnorm(sub, nxt)
                parent._modules[names[i + 1]] = nn.Identity()
            parent._modules[name] = sub
            count += 1
    return count


def _fold_batchnorm(sub: SubPixelConvTranspose, bn: nn.BatchNorm2d) -> None:
    """y = (conv - mean) * gamma / sqrt(var + eps) + beta, per output channel of the shuffle: conv
    channels c*s*s .. c*s*s + s*s - 1 all become output channel c."""
    s2 = sub.stride ** 2
    scale = 1 / torch.sqrt(bn.running_var + bn.eps)
    if bn.affine:
        scale = scale * bn.weight.detach()
    shift = bn.bias.detach() if bn.affine else torch.zeros_like(scale)
    w, b = sub.conv.weight.detach(), sub.conv.bias.detach()
    rep = scale.repeat_interleave(s2)
    sub.conv.weight = nn.Parameter(w * rep.view(-1, 1, 1, 1), requires_grad=False)
    sub.conv.bias = nn.Parameter((b - bn.running_mean.repeat_interleave(s2)) * rep
                                 + shift.repeat_interleave(s2), requires_grad=False)


ELEMENTWISE = (nn.Identity, nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid)


def fold_shuffles(module: nn.Module, max_channels: int = 4) -> int:
    """In every Sequential, fold the shuffle of a sub-pixel layer into a later one with at most
    `max_channels` output channels when only elementwise layers lie between (see the module
    docstring for why narrow layers only); returns how many shuffles went."""
    count = 0
    for parent in list(module.modules()):
        if not isinstance(parent, nn.Sequential):
            continue
        names = list(parent._modules)
        for j, name in enumerate(names):
            b = parent._modules[name]
            if type(b) is not SubPixelConvTranspose or b.inner > 1 \
                    or b.conv.out_channels // b.stride ** 2 > max_channels:
                continue
            i = j - 1
            while i >= 0 and isinstance(parent._modules[names[i]], ELEMENTWISE):
                i -= 1
            a = parent._modules[names[i]] if i >= 0 else None
            if type(a) is not SubPixelConvTranspose or not isinstance(a.shuffle, nn.PixelShuffle):
                continue
            folded = _fold_pair(b, a.stride)
            if folded is not None:
                a.shuffle = nn.Identity()
                parent._modules[name] = folded
                count += 1
    return count


def _fold_axis(k: int, s: int, inner: int, lo: int, hi: int
               ) -> tuple[list[tuple[int, int, int, int, int]], int, int] | None:
    """Per axis, for a layer of kernel k, padding (lo, hi) and shuffle s that reads the phases of a
    shuffle `inner` on the coarse grid: (output phase of both shuffles, own output phase, tap,
    input phase, coarse offset) rows, and the coarse padding; None when the layer's output is not
    a whole number of coarse cells."""
    grow = lo + hi - k + 1  # the layer's conv output minus its input size, on the fine grid
    if grow % inner:
        return None
    rows = []
    for r1 in range(inner):
        for r2 in range(s):
            for d in range(k):
                t = r1 + d - lo
                rows.append((r1 * s + r2, r2, d, t % inner, t // inner))
    o_min, o_max = min(r[4] for r in rows), max(r[4] for r in rows)
    pad_lo, pad_hi = -o_min, o_max + grow // inner
    if pad_lo < 0 or pad_hi < 0:
        return None
    return [(big, r2, d, rin, o - o_min) for big, r2, d, rin, o in rows], pad_lo, pad_hi


def _fold_pair(b: SubPixelConvTranspose, inner: int) -> SubPixelConvTranspose | None:
    """`b` as a conv on the phases of a shuffle `inner` (its output: the phases of both)."""
    s, (lo_w, hi_w, lo_h, hi_h) = b.stride, b.pad
    w = b.conv.weight.detach()
    cout, cin, kh, kw = w.shape[0] // (s * s), w.shape[1], w.shape[2], w.shape[3]
    ah = _fold_axis(kh, s, inner, lo_h, hi_h)
    aw = _fold_axis(kw, s, inner, lo_w, hi_w)
    if ah is None or aw is None:
        return None
    (rows_h, plo_h, phi_h), (rows_w, plo_w, phi_w) = ah, aw
    big = s * inner
    kh2, kw2 = max(r[4] for r in rows_h) + 1, max(r[4] for r in rows_w) + 1
    src = w.view(cout, s, s, cin, kh, kw)
    out = torch.zeros(cout, big, big, cin, inner, inner, kh2, kw2, dtype=w.dtype)
    for rh, r2h, dh, ih, oh in rows_h:
        for rw, r2w, dw, iw, ow in rows_w:
            out[:, rh, rw, :, ih, iw, oh, ow] = src[:, r2h, r2w, :, dh, dw]
    bias = b.conv.bias.detach().view(cout, 1, s, 1, s).expand(cout, inner, s, inner, s)
    return SubPixelConvTranspose(out.reshape(cout * big * big, cin * inner * inner, kh2, kw2),
                                 bias.reshape(-1).contiguous(), (plo_w, phi_w, plo_h, phi_h), s,
                                 inner)
