"""Conditional G and D in both label placements and both backbones."""

from __future__ import annotations

import torch
from torch import nn

from gansrv.nn.blocks import ConvDown, ConvUp, init_normal, mlp, one_hot, stages, up_width


class MLPGenerator(nn.Module):
    """input: [z, onehot(y)] -> MLP.  hidden: fc(z) joined with embed(y) -> MLP."""

    def __init__(self, latent: int, classes: int, shape: tuple, width: int, at: str, embed: int):
        super().__init__()
        self.classes, self.at, self.shape = classes, at, shape
        h = width * 4
        out = shape[0] * shape[1] * shape[2]
        if at == "input":
            self.net = mlp([latent + classes, h, h * 2, h * 4, out], nn.ReLU(True), norm=True)
        else:
            self.z_in = nn.Sequential(nn.Linear(latent, h), nn.BatchNorm1d(h), nn.ReLU(True))
            self.embed = nn.Embedding(classes, embed)
            self.net = mlp([h + embed, h * 2, h * 4, out], nn.ReLU(True), norm=True)
        init_normal(self)

    def forward(self, z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        if self.at == "input":
            h = torch.cat([z, one_hot(label, self.classes)], 1)
        else:
            h = torch.cat([self.z_in(z), self.embed(label)], 1)
        return torch.tanh(self.net(h)).view(-1, *self.shape)


class MLPDiscriminator(nn.Module):
    """input: [x, onehot(y)] -> MLP -> logit.  hidden: fc(x) joined with embed(y) -> MLP."""

    def __init__(self, classes: int, shape: tuple, width: int, at: str, embed: int):
        super().__init__()
        self.classes, self.at = classes, at
        h = width * 8
        pixels = shape[0] * shape[1] * shape[2]
        act = nn.LeakyReLU(0.2, True)
        if at == "input":
            self.net = mlp([pixels + classes, h, h // 2, 1], act, dropout=0.3)
        else:
            self.x_in = nn.Sequential(nn.Linear(pixels, h), nn.LeakyReLU(0.2, True))
            self.embed = nn.Embedding(classes, embed)
            self.net = mlp([h + embed, h // 2, 1], act, dropout=0.3)
        init_normal(self)

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        if self.at == "input":
            h = torch.cat([x, one_hot(label, self.classes)], 1)
        else:
            h = torch.cat([self.x_in(x), self.embed(label)], 1)
        return self.net(h).squeeze(1)


class ConvGenerator(nn.Module):
    """input: [z, onehot(y)] -> ConvT stem.  hidden: fc(z) and embed(y) as s x s maps, joined."""

    def __init__(self, latent: int, classes: int, size: int, channels: int, width: int, at: str,
                 embed: int):
        super().__init__()
        self.classes, self.at = classes, at
        self.side, _ = stages(size)
        ch = up_width(size, width)
        if at == "input":
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
        self.up = ConvUp(stem_out, size, channels, width)
        init_normal(self)

    def forward(self, z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        if self.at == "input":
            h = torch.cat([z, one_hot(label, self.classes)], 1)
            return self.up(self.stem(h[:, :, None, None]))
        s = self.side
        hz = self.z_in(z).view(z.size(0), -1, s, s)
        hy = self.embed(label).view(z.size(0), self.embed_ch, s, s)
        return self.up(torch.cat([hz, hy], 1))


class ConvDiscriminator(nn.Module):
    """input: image with onehot(y) as extra constant channels -> convs -> logit.
    hidden: convs -> features h; logit = w.h + <embed(y), h> (projection)."""

    def __init__(self, classes: int, size: int, channels: int, width: int, at: str):
        super().__init__()
        self.classes, self.at = classes, at
        in_ch = channels + (classes if at == "input" else 0)
        self.body = ConvDown(in_ch, size, width)
        feats = self.body.features
        self.head = nn.Linear(feats, 1)
        if at == "hidden":
            self.embed = nn.Embedding(classes, feats)
        init_normal(self)

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        if self.at == "input":
            maps = one_hot(label, self.classes)[:, :, None, None].expand(-1, -1, *x.shape[2:])
            x = torch.cat([x, maps], 1)
        h = self.body(x).flatten(1)
        out = self.head(h).squeeze(1)
        if self.at == "hidden":
            out = out + (self.embed(label) * h).sum(1)
        return out


def build(config, channels: int, classes: int) -> dict[str, nn.Module]:
    size, at = config.image_size, config.label_at
    if config.backbone == "mlp":
        shape = (channels, size, size)
        return {"G": MLPGenerator(config.latent_dim, classes, shape, config.g_width, at,
                                  config.embed_dim),
                "D": MLPDiscriminator(classes, shape, config.d_width, at, config.embed_dim)}
    return {"G": ConvGenerator(config.latent_dim, classes, size, channels, config.g_width, at,
                               config.embed_dim),
            "D": ConvDiscriminator(classes, size, channels, config.d_width, at)}
