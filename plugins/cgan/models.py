"""Conditional G and D in both label placements: the MLPs here, the conv nets in gansrv.nn.convnets."""

from __future__ import annotations

import torch
from torch import nn

from gansrv.nn.blocks import init_normal, mlp, one_hot
from gansrv.nn.convnets import ConvCritic, ConvGenerator


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


def build(config, channels: int, classes: int) -> dict[str, nn.Module]:
    """G and D, and G_ema (a frozen copy of G to average its weights into) when ``config.ema`` > 0."""
    nets = _players(config, channels, classes)
    if config.ema > 0:
        from gansrv.nn.ema import ema_copy
        from gansrv_plugins.cgan import EMA

        nets[EMA] = ema_copy(nets["G"])
    return nets


def _players(config, channels: int, classes: int) -> dict[str, nn.Module]:
    size, at = config.image_size, config.label_at
    if config.backbone == "mlp":
        shape = (channels, size, size)
        return {"G": MLPGenerator(config.latent_dim, classes, shape, config.g_width, at,
                                  config.embed_dim),
                "D": MLPDiscriminator(classes, shape, config.d_width, at, config.embed_dim)}
    return {"G": ConvGenerator(config.latent_dim, size, channels, config.g_width, classes, at,
                               config.embed_dim),
            "D": ConvCritic(channels, size, config.d_width, classes, at)}
