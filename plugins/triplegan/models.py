"""Triple-GAN's three networks: the classifier C, the pair discriminator D and (from the core)
the conditional generator G. Nothing here is trained; the losses are in ``step.py``.

C normalises per sample (GroupNorm with one group) rather than with BatchNorm: it sees labelled,
unlabelled and generated batches, and BatchNorm's statistics would mix them; it is also exported
for single user images. D reads (image, y) with y a vector of class probabilities, so that a
straight-through one-hot of C's prediction carries C's gradient (``step.py``); its exported graph
takes an int64 ``label`` like every other conditional discriminator.
"""

from __future__ import annotations

import torch
from torch import nn

from gansrv.nn.blocks import ConvDown, init_normal, one_hot


def _conv_block(cin: int, cout: int, dropout: float) -> list[nn.Module]:
    """Two 3x3 convs (GroupNorm, LeakyReLU 0.1), 2x2 max-pool, dropout: the authors' C, smaller."""
    layers: list[nn.Module] = []
    for a, b in ((cin, cout), (cout, cout)):
        layers += [nn.Conv2d(a, b, 3, 1, 1), nn.GroupNorm(1, b), nn.LeakyReLU(0.1, True)]
    layers += [nn.MaxPool2d(2), nn.Dropout(dropout)]
    return layers


class TripleClassifier(nn.Module):
    """C: image (C, H, W) in [-1, 1] -> class logits. Two conv blocks of ``width`` and 2 x ``width``
    channels, a 3x3 conv of 4 x ``width``, global average pooling, one linear layer."""

    def __init__(self, channels: int, classes: int, width: int = 32, dropout: float = 0.3):
        super().__init__()
        self.body = nn.Sequential(
            *_conv_block(channels, width, dropout), *_conv_block(width, 2 * width, dropout),
            nn.Conv2d(2 * width, 4 * width, 3, 1, 1), nn.GroupNorm(1, 4 * width),
            nn.LeakyReLU(0.1, True), nn.AdaptiveAvgPool2d(1))
        self.fc = nn.Linear(4 * width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(x).flatten(1))

    def class_logits(self, x: torch.Tensor) -> torch.Tensor:
        """What the exported classifier graph calls (as acgan's class head)."""
        return self(x)


class PairDiscriminator(nn.Module):
    """D: (image, y) -> logit, > 0 meaning "a real labelled pair". y (batch, K) is joined to the
    image as K constant channels and again to the features as a projection term <W y, h>, so both
    the pixels and the pairing are judged; dropout on the features plays the authors' noise layers."""

    def __init__(self, channels: int, size: int, width: int, classes: int, dropout: float = 0.2):
        super().__init__()
        self.classes = classes
        self.body = ConvDown(channels + classes, size, width, "none")
        feats = self.body.features
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(feats, 1)
        self.project = nn.Linear(classes, feats, bias=False)
        init_normal(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        maps = y[:, :, None, None].expand(-1, -1, *x.shape[2:])
        h = self.drop(self.body(torch.cat([x, maps], 1)).flatten(1))
        return self.head(h).squeeze(1) + (self.project(y) * h).sum(1)


class LabelledDiscriminator(nn.Module):
    """The exported discriminator graph: (``image``, int64 ``label``) -> ``logit``."""

    def __init__(self, D: PairDiscriminator):
        super().__init__()
        self.D = D

    def forward(self, image: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return self.D(image, one_hot(label, self.D.classes))
