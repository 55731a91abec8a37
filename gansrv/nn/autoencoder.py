"""Networks of energy-based GANs: a discriminator that is an autoencoder, and a code-to-image decoder.

In the energy-based view (Zhao et al. 2016, "Energy-based Generative Adversarial Network", sec. 2.3)
the discriminator is an autoencoder and its output is an *energy*, the reconstruction error

    D(x) = || Dec(Enc(x)) - x ||                                  (EBGAN eq. 7)

low for images that look like the training data and high for the rest. BEGAN (Berthelot et al.
2017, sec. 3.1) keeps the same discriminator with the pixel-wise L1 error  L(v) = |v - D(v)|^eta
(eq. 1, eta = 1), and gives the generator the decoder's architecture. :class:`Decoder` is that
shared shape: a fully connected map from a code (the noise z for G, the encoder embedding for D) to
a feature map, then the DCGAN-style transposed-conv stages of :mod:`gansrv.nn.blocks`.

Initialisation: the DCGAN recipe's N(0, 0.02) weights only where BatchNorm follows (G with
``norm="batch"``). Without normalisation they shrink the signal layer after layer: measured on a
width-16 decoder at 28 px, G(z) had a standard deviation of 0.002 with them (grey images whose
gradients barely move G) against 0.15 with torch's default (Kaiming-uniform) init, which is what the
unnormalised networks here keep.

Energies are per-pixel means, so their scale does not depend on the resolution (a margin or a
threshold chosen at 28 px still means the same at 64 px). Optional class conditioning joins a label
embedding to the decoder's code and, in the autoencoder, one-hot label maps to the encoder's input,
so an image can be reconstructed well for its own class and badly for another.
"""

from __future__ import annotations

import torch
from torch import nn

from gansrv.nn.blocks import ConvDown, ConvUp, init_normal, one_hot, stages, up_width

ENERGIES = ("l1", "l2")


def energy(x: torch.Tensor, reconstruction: torch.Tensor, norm: str) -> torch.Tensor:
    """Per-image energy: mean |x - r| (``l1``, BEGAN eq. 1) or mean (x - r)^2 (``l2``, the EBGAN
    MSE of sec. 2.3), averaged over channels and pixels; shape (batch,)."""
    diff = x - reconstruction
    per_pixel = diff.abs() if norm == "l1" else diff * diff
    return per_pixel.flatten(1).mean(1)


class Decoder(nn.Module):
    """code (and label) -> fc -> (C, s, s) -> transposed-conv stages -> image.

    With ``tanh`` it is a generator (images in [-1, 1]); without, the decoder half of an
    autoencoder, whose reconstruction stays unbounded so it can match saturated pixels exactly.
    """

    def __init__(self, code_dim: int, size: int, channels: int, width: int, classes: int = 0,
                 embed_dim: int = 0, norm: str = "batch", tanh: bool = True):
        super().__init__()
        self.side, _ = stages(size)
        self.ch = up_width(size, width)
        self.embed = nn.Embedding(classes, embed_dim) if classes else None
        features = self.ch * self.side**2
        use_norm = norm != "none"
        layers: list[nn.Module] = [nn.Linear(code_dim + (embed_dim if classes else 0), features,
                                             bias=not use_norm)]
        if use_norm:
            layers.append(nn.BatchNorm1d(features))
        self.fc = nn.Sequential(*layers, nn.ReLU(True))
        self.up = ConvUp(self.ch, size, channels, width, norm=norm)
        if not tanh:
            del self.up[-1]
        if use_norm:
            init_normal(self)

    def forward(self, code: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            code = torch.cat([code, self.embed(label)], 1)
        return self.up(self.fc(code).view(code.size(0), self.ch, self.side, self.side))


class AutoencoderD(nn.Module):
    """The energy discriminator: image (and label) -> code -> reconstruction; forward gives both
    the per-image energy and the reconstruction, which is what the exported scorer graph outputs.

    No normalisation layers: the energy of an image must not depend on the rest of its batch (the
    recipe's advice for a D that judges single samples), and the exported scorer judges one at a time.
    """

    def __init__(self, size: int, channels: int, width: int, code_dim: int, norm: str = "l2",
                 classes: int = 0, embed_dim: int = 0):
        super().__init__()
        if norm not in ENERGIES:
            raise ValueError(f"energy norm must be one of {ENERGIES}, got {norm!r}")
        self.norm, self.classes = norm, classes
        self.trunk = ConvDown(channels + classes, size, width, norm="none")
        # not named `code`: that is a GraphModule property, and torch.export then fails to unlift it
        self.to_code = nn.Linear(self.trunk.features, code_dim)
        self.decoder = Decoder(code_dim, size, channels, width, classes, embed_dim, norm="none",
                               tanh=False)

    def encode(self, x: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        """The embedding S of EBGAN's pulling-away term: (batch, code_dim)."""
        if self.classes:
            maps = one_hot(label, self.classes)[:, :, None, None].expand(-1, -1, *x.shape[2:])
            x = torch.cat([x, maps], 1)
        return self.to_code(self.trunk(x).flatten(1))

    def reconstruct(self, x: torch.Tensor, label: torch.Tensor | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction, code) in one pass, for losses that need the code too."""
        code = self.encode(x, label)
        return self.decoder(code, label), code

    def forward(self, image: torch.Tensor, label: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        recon, _ = self.reconstruct(image, label)
        return energy(image, recon, self.norm), recon
