"""Networks of classifier-guided GANs: a discriminator with a class head (and TAC-GAN's twin head),
a classifier of its own, and the exported classifier graph. The recipe that trains them, and why
(AC-GAN, TAC-GAN), is told once, in :mod:`gansrv.kits.classifier`.

Classifiers here normalise per sample (``layer``: GroupNorm with one group), never with BatchNorm:
the classifier is exported for single user images, and BatchNorm's running statistics would mix
real and fake batches (and make a prediction depend on what was trained beside it).
Nothing here names a family.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

from gansrv.nn.blocks import ConvDown, init_normal


class ACDiscriminator(nn.Module):
    """One conv trunk, two heads: ``forward(x) -> (real/fake logit (N,), class logits (N, K))``.

    ``twin=True`` adds TAC-GAN's twin class head (``twin``), trained on fakes only. It is left out
    of ``forward`` (the exported discriminator graph) and of ``class_logits`` (the classifier), and
    it exists only when asked for, so a checkpoint of a run without it loads as before.
    """

    def __init__(self, channels: int, size: int, width: int, classes: int, norm: str = "layer",
                 twin: bool = False):
        super().__init__()
        self.body = ConvDown(channels, size, width, norm)
        self.head = nn.Linear(self.body.features, 1)
        self.classify = nn.Linear(self.body.features, classes)
        self.twin = nn.Linear(self.body.features, classes) if twin else None
        init_normal(self)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x).flatten(1)
        return self.head(h).squeeze(1), self.classify(h)

    def adversarial(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).flatten(1)).squeeze(1)

    def class_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.body(x).flatten(1))

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Real/fake logit, class logits and twin logits (None without a twin head), one trunk pass."""
        h = self.body(x).flatten(1)
        return (self.head(h).squeeze(1), self.classify(h),
                None if self.twin is None else self.twin(h))

    def adversarial_parameters(self) -> Iterator[nn.Parameter]:
        """The trunk, the real/fake head and the twin head if any: what the D optimizer moves
        (so the twin head's weights and Adam state are checkpointed with D's)."""
        yield from self.body.parameters()
        yield from self.head.parameters()
        if self.twin is not None:
            yield from self.twin.parameters()

    def classifier_parameters(self) -> Iterator[nn.Parameter]:
        """The trunk and the class head: what the C optimizer moves (the trunk is shared)."""
        yield from self.body.parameters()
        yield from self.classify.parameters()


class ConvClassifier(nn.Module):
    """A classifier of its own: strided convs -> fc(hidden) -> class logits (WGAN + classifier)."""

    def __init__(self, channels: int, size: int, width: int, classes: int, hidden: int = 128):
        super().__init__()
        self.body = ConvDown(channels, size, width, "layer")
        self.fc = nn.Sequential(nn.Linear(self.body.features, hidden), nn.LeakyReLU(0.2, True),
                                nn.Linear(hidden, classes))
        init_normal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(x).flatten(1))

    def class_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self(x)


class ClassifierGraph(nn.Module):
    """The exported image classifier: ``image`` in [-1, 1] -> (``logits``, ``probs`` = softmax)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.net.class_logits(image)
        return logits, torch.softmax(logits, dim=1)
