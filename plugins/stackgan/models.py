"""StackGAN's networks (Zhang et al. 2017, sec. 3 and fig. 2; StackGAN-Pytorch), label-conditioned
and scaled down for digits: the condition is a class embedding instead of a text embedding.

Conditioning augmentation (sec. 3.1): embedding -> fc -> (mu, log sigma^2), c = mu + sigma * eps,
KL(N(mu, sigma^2) || N(0, I)) added to G's loss; eps is an input (a slice of the packed z), never a
random op, so the exported graph stays deterministic. Stage I: concat(z, c) -> fc -> base x base
-> (nearest x2, conv3x3, BN, ReLU) blocks -> conv3x3, tanh at half the target side. Stage II: the
stage-I image encoded by convs, its own CA code joined spatially, residual blocks, one upsampling
block, tanh at the target side. D: strided convs, the label embedding replicated spatially and
joined, conv, logit; stage II's D also has an unconditional logit.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gansrv.nn.blocks import init_normal
from gansrv.nn.pyramid import ZLayout, ZPart, upsample


class ConditioningAugmentation(nn.Module):
    """label -> embedding -> fc -> (mu, logvar); c = mu + exp(logvar / 2) * eps (eps given)."""

    def __init__(self, num_classes: int, embed_dim: int, ca_dim: int, sample: bool = True):
        super().__init__()
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.fc = nn.Linear(embed_dim, 2 * ca_dim)
        self.sample = sample

    def forward(self, labels: torch.Tensor, eps: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = F.leaky_relu(self.fc(self.embed(labels)), 0.2).chunk(2, dim=1)
        c = mu + torch.exp(0.5 * logvar) * eps if self.sample else mu
        return c, mu, logvar

    def reset_parameters(self) -> None:
        """torch's default init, called after the stage's DCGAN init: N(0, 0.02) on both the
        embedding and fc put mu near 1e-3 beside sigma = 1, so c was pure noise, the gradient
        that could give mu a class signal was as small, and G ignored the label (class-acc at
        chance, docs/benchmarks.md). With these, mu is of the order of sigma from the start,
        as StackGAN's text embedding makes it."""
        self.embed.reset_parameters()
        self.fc.reset_parameters()


def kl_loss(mu: torch.Tensor, logvar: torch.Tensor, per_dim: bool = True) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) = -1/2 sum(1 + log sigma^2 - mu^2 - sigma^2), batch mean;
    ``per_dim`` divides it by the code's size, as StackGAN-Pytorch's KL_loss (a mean over every
    element) does. The sum is ca_dim times stronger: at ca_dim 16 it drove mu to the prior and
    stage I's class-acc stayed near chance (docs/benchmarks.md)."""
    kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()
    return kl / mu.size(1) if per_dim else kl


def up_block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Upsample(scale_factor=2.0, mode="nearest"),
                         nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True))


class StageOne(nn.Module):
    def __init__(self, latent_dim: int, ca: ConditioningAugmentation, ca_dim: int, base: int,
                 ups: int, channels: int, width: int):
        super().__init__()
        self.ca, self.base, self.latent_dim, self.ca_dim = ca, base, latent_dim, ca_dim
        ch = width * 2 ** ups
        self.fc = nn.Sequential(nn.Linear(latent_dim + ca_dim, ch * base * base, bias=False),
                                nn.BatchNorm1d(ch * base * base), nn.ReLU(True))
        self.ups = nn.Sequential(*[up_block(ch // 2 ** i, ch // 2 ** (i + 1)) for i in range(ups)])
        self.out = nn.Sequential(nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh())
        self.ch = ch
        init_normal(self)
        ca.reset_parameters()

    def forward(self, z: torch.Tensor, eps: torch.Tensor, labels: torch.Tensor):
        """(image at half the target side, mu, logvar)."""
        c, mu, logvar = self.ca(labels, eps)
        h = self.fc(torch.cat([z, c], 1)).view(-1, self.ch, self.base, self.base)
        return self.out(self.ups(h)), mu, logvar


class Residual(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(ch, ch, 3, 1, 1, bias=False), nn.BatchNorm2d(ch),
                                  nn.ReLU(True), nn.Conv2d(ch, ch, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


class StageTwo(nn.Module):
    """(stage-I image, eps, label) -> the image at the target side, with its own CA."""

    def __init__(self, ca: ConditioningAugmentation, ca_dim: int, channels: int, width: int,
                 blocks: int):
        super().__init__()
        self.ca, self.ca_dim = ca, ca_dim
        ch = 2 * width
        self.encode = nn.Sequential(nn.Conv2d(channels, ch, 3, 1, 1), nn.ReLU(True))
        self.join = nn.Sequential(nn.Conv2d(ch + ca_dim, ch, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(ch), nn.ReLU(True))
        self.res = nn.Sequential(*[Residual(ch) for _ in range(blocks)])
        self.up = up_block(ch, width)
        self.out = nn.Sequential(nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh())
        init_normal(self)
        ca.reset_parameters()

    def forward(self, stage1: torch.Tensor, eps: torch.Tensor, labels: torch.Tensor):
        c, mu, logvar = self.ca(labels, eps)
        h = self.encode(stage1)
        grid = c[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        h = self.res(self.join(torch.cat([h, grid], 1)))
        return self.out(self.up(h)), mu, logvar


class Judge(nn.Module):
    """Strided convs down to the base side; conditional logit on [features, label map]; with
    ``uncond`` also an unconditional logit. Returns (cond, uncond or None)."""

    def __init__(self, channels: int, downs: int, width: int, num_classes: int, embed_dim: int,
                 base: int, uncond: bool = False, projection: bool = False):
        super().__init__()
        layers: list[nn.Module] = []
        cin = channels
        for i in range(downs):
            cout = width * 2 ** i
            layers += [nn.Conv2d(cin, cout, 4, 2, 1, bias=i == 0)]
            if i:
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.LeakyReLU(0.2, True))
            cin = cout
        self.body, self.base = nn.Sequential(*layers), base
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.cond = nn.Sequential(nn.Conv2d(cin + embed_dim, cin, 1), nn.LeakyReLU(0.2, True),
                                  nn.Flatten(), nn.Linear(cin * base * base, 1))
        self.uncond = nn.Sequential(nn.Flatten(), nn.Linear(cin * base * base, 1)) if uncond else None
        self.proj = nn.Embedding(num_classes, cin) if projection else None
        init_normal(self)
        self.embed.reset_parameters()  # N(0, 1): the label map on the scale of the features
        if self.proj is not None:
            nn.init.xavier_uniform_(self.proj.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor):
        h = self.body(x)
        e = self.embed(labels)[:, :, None, None].expand(-1, -1, h.shape[2], h.shape[3])
        cond = self.cond(torch.cat([h, e], 1)).squeeze(1)
        if self.proj is not None:  # Miyato & Koyama 2018: <embed(y), pooled features>
            cond = cond + (self.proj(labels) * h.mean((2, 3))).sum(1)
        return cond, (self.uncond(h).squeeze(1) if self.uncond is not None else None)


def z_layout(latent_dim: int, ca_dim: int) -> ZLayout:
    """z, then stage I's and stage II's conditioning-augmentation noise."""
    return ZLayout([ZPart("z", (latent_dim,)), ZPart("ca1", (ca_dim,)), ZPart("ca2", (ca_dim,))])


class StackedGenerator(nn.Module):
    """The export and the grids: packed z + label -> stage II's image (``final``) or stage I's,
    bilinearly upsampled to the same side (``final=False``: the benchmark's stage-I graph)."""

    def __init__(self, one: StageOne, two: StageTwo, final: bool = True):
        super().__init__()
        self.one, self.two, self.final = one, two, final
        self.layout = z_layout(one.latent_dim, one.ca_dim)

    def forward(self, z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        parts = self.layout.split(z)
        low, _, _ = self.one(parts["z"], parts["ca1"], label)
        if not self.final:
            return torch.clamp(upsample(low), -1.0, 1.0)
        return self.two(low, parts["ca2"], label)[0]


class StageTwoJudge(nn.Module):
    """The discriminator graph: stage II's conditional logit of (image, label)."""

    def __init__(self, d: Judge):
        super().__init__()
        self.d = d

    def forward(self, image: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return self.d(image, label)[0]
