"""Config fields that many families share, declared once: help text, type and bounds live here, the
default is the family's (``latent_dim: int = fields.latent_dim(62, "paper, MNIST: 62")``).

Each function returns a dataclass field (:func:`gansrv.family.option`); ``note`` adds a family's
reason for its default to the help text, in parentheses. A field's name is a config.json key:
these keep the names the families always had, so older runs load. Torch-free.
"""

from __future__ import annotations

from typing import Any

from gansrv.family import option

CONV_SIZES = (28, 32, 64)  # the resolutions the shared conv stacks (gansrv.nn.blocks) are built for


def _help(text: str, note: str) -> str:
    return f"{text[:-1]} ({note})." if note else text


def latent_dim(default: int, note: str = "") -> Any:
    return option(default, _help("Size of the noise vector z.", note), min=1, max=4096)


def image_size(default: int = 28, choices: tuple[int, ...] = CONV_SIZES, note: str = "") -> Any:
    return option(default, _help("Resolution.", note), choices=choices)


def width(default: int = 64, of: str = "G", note: str = "") -> Any:
    """A base channel width (``g_width``, ``d_width``, ``c_width``): the first layer's, doubled
    toward low resolutions."""
    return option(default, _help(f"Base channel width of {of}.", note), min=1, max=1024)


def lr(default: float, optimizer: str = "Adam", players: str = "G and D", note: str = "") -> Any:
    return option(default, _help(f"{optimizer} learning rate for {players}.", note), min=0.0, max=10.0)


def ema(default: float, text: str) -> Any:
    """A weight-average decay (the averaged copy is what a family samples, evaluates or exports)."""
    return option(default, text, min=0.0, max=0.99999)


def beta1(default: float = 0.5) -> Any:
    return option(default, "Adam beta1.", min=0.0, max=0.9999)


def beta2(default: float = 0.999) -> Any:
    return option(default, "Adam beta2.", min=0.0, max=0.9999)


def steps(default: int, of: str, per: str = "generator step", note: str = "") -> Any:
    """Updates of one player per generator step (``d_steps``, ``g_steps``, ``c_steps``,
    ``n_critic``)."""
    return option(default, _help(f"{of} updates per {per}.", note), min=1, max=100)


def conditional(players: str = "G and critic") -> Any:
    return option(False, f"Class-conditional {players} (needs labelled data).")


def label_smoothing(default: float = 0.0) -> Any:
    return option(default, "One-sided label smoothing of D's real targets.", min=0.0, max=0.5)


def clip(default: float = 0.01) -> Any:
    return option(default, "Critic weights are clipped to [-clip, clip].", min=1e-6, max=10.0)


def g_objective(default: str = "nonsaturating") -> Any:
    """G's adversarial loss: ``nonsaturating`` -log D(G(z)) or the original ``minimax``
    log(1 - D(G(z))) (Goodfellow et al. 2014); a run saved before the field trained non-saturating."""
    return option(default, "G's loss: non-saturating -log D(G(z)) or the original minimax "
                  "log(1 - D(G(z))).", choices=("nonsaturating", "minimax"))
