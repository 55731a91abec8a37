"""StarGAN networks (Choi et al. 2018, after yunjey/stargan): one conditional residual generator for
all domains and a PatchGAN discriminator with a domain-classification head."""

from __future__ import annotations

import torch
from torch import nn

MULTIPLE = 4  # G's two stride-2 convs: H and W must be multiples of 4 to come back at their size


def _inorm(channels: int) -> nn.Module:
    """Per-image statistics, learnt scale and shift; no running statistics, so train and eval (and
    the exported graph) normalise alike."""
    return nn.InstanceNorm2d(channels, affine=True, track_running_stats=False)


class DomainInstanceNorm(nn.Module):
    """InstanceNorm whose scale and shift are the target domain's own (conditional instance norm,
    Dumoulin et al. 2017). Joined to the input only, the domain's one-hot maps are constant over the
    image, and the InstanceNorm after the first conv subtracts each map's mean: what gets through is
    only the unevenness the zero-padded border gives them, and only additively. Here the domain
    scales and shifts every normalised map: a global change such as inversion is one sign."""

    def __init__(self, channels: int, domains: int):
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
        self.scale = nn.Embedding(domains, channels)
        self.shift = nn.Embedding(domains, channels)
        nn.init.ones_(self.scale.weight)
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return self.norm(x) * self.scale(label)[:, :, None, None] + self.shift(label)[:, :, None, None]


def _norm(channels: int, domains: int) -> nn.Module:
    """Plain instance norm (``domains`` = 0) or the domain-conditional one."""
    return DomainInstanceNorm(channels, domains) if domains else _inorm(channels)


def _run(layers: nn.Sequential, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    for m in layers:
        x = m(x, label) if isinstance(m, (DomainInstanceNorm, ResidualBlock)) else m(x)
    return x


class ResidualBlock(nn.Module):
    def __init__(self, width: int, domains: int = 0):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, 1, 1, bias=False), _norm(width, domains), nn.ReLU(True),
            nn.Conv2d(width, width, 3, 1, 1, bias=False), _norm(width, domains))

    def forward(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        return x + _run(self.body, x, label)


class StarGenerator(nn.Module):
    """G(image, label): the target domain's one-hot replicated over H x W and joined to the image's
    channels; c7s1-w, two stride-2 convs, ``blocks`` residual blocks, two transposed convs, c7s1-C,
    tanh. Fully convolutional: any H and W that are multiples of :data:`MULTIPLE`. With
    ``domain_norm`` every InstanceNorm is a :class:`DomainInstanceNorm` (same layer indices)."""

    multiple = MULTIPLE

    def __init__(self, channels: int, domains: int, width: int, blocks: int,
                 domain_norm: bool = False):
        super().__init__()
        self.domains = domains
        k = domains if domain_norm else 0
        # one-hot rows as a buffer: eye[label] is a Gather in ONNX (no OneHot op, no Python loop)
        self.register_buffer("eye", torch.eye(domains), persistent=False)
        layers: list[nn.Module] = [nn.Conv2d(channels + domains, width, 7, 1, 3, bias=False),
                                   _norm(width, k), nn.ReLU(True)]
        w = width
        for _ in range(2):
            layers += [nn.Conv2d(w, w * 2, 4, 2, 1, bias=False), _norm(w * 2, k), nn.ReLU(True)]
            w *= 2
        layers += [ResidualBlock(w, k) for _ in range(blocks)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(w, w // 2, 4, 2, 1, bias=False), _norm(w // 2, k),
                       nn.ReLU(True)]
            w //= 2
        layers += [nn.Conv2d(w, channels, 7, 1, 3, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        c = self.eye[label][:, :, None, None].expand(-1, -1, image.shape[2], image.shape[3])
        return _run(self.net, torch.cat([image, c], 1), label)


def d_side(size: int, layers: int) -> int:
    """Side of D's last feature map after ``layers`` 4x4 stride-2 convs with padding 1."""
    for _ in range(layers):
        size = (size + 2 - 4) // 2 + 1
    return size


def auto_layers(size: int, cap: int = 6) -> int:
    """The most stride-2 layers (at most ``cap``, the paper's 6 at 128 px) that leave a map of at
    least 2 x 2, so the patch head still sees more than one patch."""
    n = 1
    while n < cap and d_side(size, n + 1) >= 2:
        n += 1
    return n


def branch(src: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """The realness map of each image's domain branch (N, 1, h, w); a one-branch map as it is."""
    if src.shape[1] == 1:
        return src
    return src.gather(1, label[:, None, None, None].expand(-1, 1, *src.shape[2:]))


class StarDiscriminator(nn.Module):
    """PatchGAN of ``layers`` 4x4 stride-2 convs with LeakyReLU 0.01 and no normalisation, and two
    heads on its last map: ``src`` (3x3 conv, one realness score per patch) and ``cls`` (a conv whose
    kernel covers the whole remaining map, so one vector of K domain logits per image; PyTorch-GAN's
    port leaves a map here). The input size is therefore fixed: the training size.

    With ``domain_critic`` the realness head has one branch per domain (StarGAN v2's multi-task D,
    Choi et al. 2020): branch k judges only whether an image is a real image *of domain k*, so a fake
    for a target is compared with that domain's real images, not with the mix of all domains."""

    def __init__(self, channels: int, size: int, domains: int, width: int, layers: int,
                 domain_critic: bool = False):
        super().__init__()
        trunk: list[nn.Module] = []
        prev, w = channels, width
        for _ in range(layers):
            trunk += [nn.Conv2d(prev, w, 4, 2, 1), nn.LeakyReLU(0.01)]
            prev, w = w, w * 2
        self.trunk = nn.Sequential(*trunk)
        self.src = nn.Conv2d(prev, domains if domain_critic else 1, 3, 1, 1, bias=False)
        self.cls = nn.Conv2d(prev, domains, d_side(size, layers), bias=False)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(patch realness map (N, 1, h, w), domain logits (N, K))."""
        h = self.trunk(image)
        return self.src(h), self.cls(h).flatten(1)

    def patch_logits(self, image: torch.Tensor) -> torch.Tensor:
        return self.src(self.trunk(image))

    def class_logits(self, image: torch.Tensor) -> torch.Tensor:
        """The domain head alone: what the exported classifier graph runs."""
        return self.cls(self.trunk(image)).flatten(1)
