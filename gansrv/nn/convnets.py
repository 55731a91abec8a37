"""DCGAN-style conv generator and critic, optionally class-conditional, shared by several families.

Both take ``classes=0`` for an unconditional model (``forward(z)`` / ``forward(x)``) or the number of
classes for a conditional one (``forward(z, label)`` / ``forward(x, label)``). Two label placements,
as compared in the CGAN notes: ``input`` joins a one-hot y to the raw input (z for G, constant
channels of the image for D); ``hidden`` joins y inside the network (G: an embedding as extra
s x s maps beside fc(z); D: the projection term <embed(y), h> of Miyato & Koyama 2018).
Attribute names are part of the checkpoint format (``G.stem.0.weight``, ``D.head.bias``, ...).
"""

from __future__ import annotations

import torch
from torch import nn

from gansrv.nn.blocks import ConvDown, ConvUp, init_normal, one_hot, stages, up_width

LABEL_AT = ("hidden", "input")


class ConvGenerator(nn.Module):
    """z (as latent x 1 x 1, one-hot y joined at `input`) -> ConvT to s x s -> ConvUp -> tanh.

    At ``hidden``, fc(z) and embed(y) become s x s maps that are joined before ConvUp.
    """

    def __init__(self, latent: int, size: int, channels: int, width: int, classes: int = 0,
                 label_at: str = "input", embed: int = 64, norm: str = "batch"):
        super().__init__()
        self.classes, self.at = classes, label_at if classes else "input"
        self.side, _ = stages(size)
        ch = up_width(size, width)
        if self.at == "input":
            self.stem = nn.Sequential(
                nn.ConvTranspose2d(latent + classes, ch, self.side, 1, 0, bias=False),
                nn.BatchNorm2d(ch), nn.ReLU(True))
            stem_out = ch
        else:
            self.z_in = nn.Sequential(nn.Linear(latent, ch * self.side**2, bias=False),
                                      nn.BatchNorm1d(ch * self.side**2), nn.ReLU(True))
            self.embed = nn.Embedding(classes, embed * self.side**2)
            self.embed_ch = embed
            stem_out = ch + embed
        self.up = ConvUp(stem_out, size, channels, width, norm)
        init_normal(self)

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        if self.at == "input":
            h = z if not self.classes else torch.cat([z, one_hot(label, self.classes)], 1)
            return self.up(self.stem(h[:, :, None, None]))
        s = self.side
        hz = self.z_in(z).view(z.size(0), -1, s, s)
        hy = self.embed(label).view(z.size(0), self.embed_ch, s, s)
        return self.up(torch.cat([hz, hy], 1))


class ConvCritic(nn.Module):
    """Strided convs -> features h -> logit (or critic value) w.h + b, + <embed(y), h> at `hidden`.

    ``norm`` applies to every conv but the first (``batch``, ``layer``, ``instance`` or ``none``);
    the last layer has no sigmoid, so the same module serves a BCE discriminator (logit) and a
    Wasserstein critic.
    """

    def __init__(self, channels: int, size: int, width: int, classes: int = 0,
                 label_at: str = "hidden", norm: str = "batch"):
        super().__init__()
        self.classes, self.at = classes, label_at if classes else "none"
        in_ch = channels + (classes if self.at == "input" else 0)
        self.body = ConvDown(in_ch, size, width, norm)
        feats = self.body.features
        self.head = nn.Linear(feats, 1)
        if self.at == "hidden":
            self.embed = nn.Embedding(classes, feats)
        init_normal(self)

    def forward(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        if self.at == "input":
            maps = one_hot(label, self.classes)[:, :, None, None].expand(-1, -1, *x.shape[2:])
            x = torch.cat([x, maps], 1)
        h = self.body(x).flatten(1)
        out = self.head(h).squeeze(1)
        if self.at == "hidden":
            out = out + (self.embed(label) * h).sum(1)
        return out
