"""Data-efficient discriminator training: DiffAugment policies steered by an ADA-style probability.

A discriminator trained on a few hundred images memorises them, and G then learns from a D that
only says "not one of those". Two published remedies, combined here:

- DiffAugment (Zhao et al. 2020): the same kind of differentiable augmentation T is applied to
  real *and* generated images before D, in D's update and in G's, so D never sees a raw image and
  G still gets gradients through T. Ops: ``translation`` (shift by up to 1/8 of the side, border
  filled with the background -1), ``cutout`` (one square of half the side set to 0 per image) and
  ``colour`` (brightness, saturation, contrast; RGB data only: on grey digits it would only
  teach D that ink may be grey).
- ADA (Karras et al. 2020): each op is applied to an image with probability p, and p is steered by
  the overfitting signal r_t = E[sign(D(real))] (the share of real images D is sure of, in [-1, 1]):
  every ``INTERVAL`` generator steps p moves up by ``INTERVAL / RAMP_STEPS`` while r_t is above
  the target, down while below, kept in [0, 1]. p and the signal's running sum are family state
  (``ctx.state``): saved in every checkpoint, so a resumed run augments exactly as an uninterrupted
  one; every random draw comes from the step context's seeded generator.

The small interface a family (or a shared update loop) uses:

- its ``Config`` inherits :class:`AugmentOptions` (fields ``augment``, ``augment_policy``,
  ``augment_target``, ``augment_shift``), and ``saved_config`` loads older runs with it off;
- ``aug = augmenter(ctx)``: a callable ``x -> T(x)`` (the identity when off), for every D input;
- ``observe(ctx, real_out)`` after each D update: feeds r_t and adjusts p; returns the row to log.

Light at import (no torch): family modules import the options to build their Config.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from gansrv.family import option

if TYPE_CHECKING:
    import torch

OPS = ("translation", "cutout", "colour")
MODES = ("auto", "on", "off")
# `--augment auto`: on below SMALL_DATA training images, where the family has not opted out
# (``auto_on_small_data``). From issue 17's low-data runs (docs/benchmarks.md, "Low data"):
# - at 100 digits it cut cgan's FID (88.6 -> 66.1 at 300 s, 95.3 -> 71.1 at 2,000 steps) and
#   raised acgan's class accuracy (0.900 -> 0.980) and augmentation gain (-4.2 -> -1.5 points);
# - at 500 digits cgan's FID was level (65.0 vs 65.1): the threshold sits there;
# - cgan opts out: with it, its samples' class accuracy and gain fell in every run (100, 500).
SMALL_DATA = 500
INTERVAL = 4  # generator steps between adjustments of p (ADA: every 4 minibatches)
# Steps for p to climb from 0 to 1 at the fastest. ADA's 500k images would be ~7,800 steps at
# batch 64, more than a whole default 2,000-step run: p would never reach the strength small
# data needs before training ends.
RAMP_STEPS = 500
P_KEY, SUM_KEY, COUNT_KEY = "augment_p", "augment_signal_sum", "augment_signal_n"
LAST_KEY = "augment_adjusted_at"  # the step p last moved at (several D updates per step move it once)


@dataclass
class AugmentOptions:
    """Config fields of the data-efficient mechanism; a family's Config inherits them."""

    augment: str = option("auto", "Data-efficient D augmentation (DiffAugment ops before D on real "
                          f"and generated images, ADA probability): auto = on below {SMALL_DATA:,} "
                          "training images where it was not measured to hurt the family (README); "
                          "config.json records the choice.",
                          choices=MODES)
    augment_policy: str = option("translation,cutout,colour", "Comma-separated ops of the "
                                 "augmentation: translation, cutout, colour (colour on RGB only).")
    augment_target: float = option(0.6, "ADA target of r_t = E[sign(D(real))]: the probability p "
                                   "rises while r_t is above it; 0 = no adaptation, every op "
                                   "always on (plain DiffAugment).", min=0.0, max=1.0)
    augment_shift: int = option(0, "Largest translation in pixels (0: 1/8 of the image side, "
                                "DiffAugment's ratio).", min=0, max=64)

    # runs saved before the mechanism existed trained without it
    legacy_values: ClassVar[dict[str, Any]] = {"augment": "off"}
    # False: `auto` never turns the mechanism on for this family (a measured loss; see SMALL_DATA)
    auto_on_small_data: ClassVar[bool] = True

    def for_data(self, data: Any) -> AugmentOptions:
        """This config with ``augment`` auto decided for the training set (a DataSpec: its
        ``count``); called by the engine before config.json is written, so the run records it."""
        self.check_policy()
        if self.augment != "auto":
            return self
        return replace(self, augment=self.auto_choice(data.count))

    def auto_choice(self, count: int) -> str:
        """``on`` or ``off``: ``augment`` with ``auto`` decided for ``count`` training images."""
        if self.augment != "auto":
            return self.augment
        return "on" if count < SMALL_DATA and self.auto_on_small_data else "off"

    def check_policy(self) -> tuple[str, ...]:
        """The policy's ops; a UserError names an unknown one."""
        from gansrv.errors import UserError

        ops = tuple(o.strip() for o in self.augment_policy.split(",") if o.strip())
        bad = [o for o in ops if o not in OPS]
        if bad or not ops:
            raise UserError(f"--augment-policy: unknown op {', '.join(bad) or '(empty)'}; "
                            f"choose from {', '.join(OPS)}")
        return ops


def enabled(ctx: Any) -> bool:
    """Whether this run augments D's inputs (``auto`` decided from the data when not yet decided)."""
    config = ctx.config
    return isinstance(config, AugmentOptions) and config.auto_choice(len(ctx.stream.images)) == "on"


def adaptive(ctx: Any) -> bool:
    return enabled(ctx) and float(getattr(ctx.config, "augment_target", 0.0)) > 0


def probability(ctx: Any) -> float:
    """The current p: 1 for plain DiffAugment, the steered value (from 0) with ADA."""
    return float(ctx.state.get(P_KEY, 0.0)) if adaptive(ctx) else 1.0


def augmenter(ctx: Any) -> Callable[[torch.Tensor], torch.Tensor]:
    """``x -> T(x)`` for D's inputs at the current p; the identity when the mechanism is off."""
    if not enabled(ctx):
        return _identity
    ops = ctx.config.check_policy()
    p = probability(ctx)
    shift = int(getattr(ctx.config, "augment_shift", 0))
    return lambda x: apply(x, ops, p, ctx, shift)


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def apply(x: torch.Tensor, ops: tuple[str, ...], p: float, ctx: Any, shift: int = 0) -> torch.Tensor:
    """Each op of ``ops`` on each image with probability ``p`` (all, drawing no mask, when p = 1)."""
    for op in ops:
        if (op == "colour" and x.shape[1] != 3) or p <= 0:
            continue
        y = _OPS[op](x, ctx, shift)
        if p < 1:
            keep = (ctx.rand(x.shape[0]) < p).view(-1, 1, 1, 1)
            y = y.where(keep, x)
        x = y
    return x


def observe(ctx: Any, real_out: torch.Tensor, centre: float | torch.Tensor = 0.0) -> dict[str, float]:
    """Feed D's raw outputs on the (augmented) real batch to the ADA controller; adjust p every
    ``INTERVAL`` generator steps. ``centre`` is the output that means "undecided" (0 for logits; a
    Wasserstein critic, whose outputs are defined up to a constant, passes its fakes' mean).
    Returns the values to log (``augment_p``; empty when the mechanism is off)."""
    if not enabled(ctx):
        return {}
    if not adaptive(ctx):
        return {P_KEY: 1.0}
    signal = float((real_out.detach() - centre).sign().mean())
    mean = getattr(ctx, "mean", None)  # StepContext.mean: the global batch's value under torchrun
    signal = signal if mean is None else mean(signal)
    total = float(ctx.state.get(SUM_KEY, 0.0)) + signal
    count = int(ctx.state.get(COUNT_KEY, 0)) + 1
    p = float(ctx.state.get(P_KEY, 0.0))
    last = int(ctx.state.get(LAST_KEY, -1))
    if (ctx.step + 1) % INTERVAL == 0 and last != ctx.step:
        r_t = total / count
        step = INTERVAL / RAMP_STEPS
        p = min(1.0, max(0.0, p + (step if r_t > ctx.config.augment_target else -step)))
        total, count, last = 0.0, 0, ctx.step
    ctx.state.update({P_KEY: p, SUM_KEY: total, COUNT_KEY: count, LAST_KEY: last})
    return {P_KEY: p, "augment_rt": signal}


def translation(x: torch.Tensor, ctx: Any, shift: int = 0) -> torch.Tensor:
    """DiffAugment's translation: each image shifted by up to ``shift`` pixels (0: 1/8 of the
    side), the border filled with the background -1 (the same draws as cgan's former --augment N)."""
    from gansrv.nn.augment import translate

    return translate(x, shift or max(1, x.shape[-1] // 8), ctx)


def cutout(x: torch.Tensor, ctx: Any, shift: int = 0) -> torch.Tensor:
    """DiffAugment's cutout: one square of half the side per image, at a random centre, set to 0
    (mid-grey in [-1, 1]; the square may hang over the border)."""
    import torch

    n, _, h, w = x.shape
    sh, sw = h // 2, w // 2
    top = (ctx.randint(h + (1 - sh % 2), n) - sh // 2).view(n, 1, 1)
    left = (ctx.randint(w + (1 - sw % 2), n) - sw // 2).view(n, 1, 1)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= top) & (rows < top + sh) & (cols >= left) & (cols < left + sw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def colour(x: torch.Tensor, ctx: Any, shift: int = 0) -> torch.Tensor:
    """DiffAugment's colour ops on an RGB batch in [-1, 1]: brightness + U(-0.5, 0.5), saturation
    x U(0, 2) about each pixel's channel mean, contrast x U(0.5, 1.5) about the image mean."""
    n = x.shape[0]
    x = x + (ctx.rand(n, 1, 1, 1) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (ctx.rand(n, 1, 1, 1) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (ctx.rand(n, 1, 1, 1) + 0.5) + mean


_OPS: dict[str, Callable[..., torch.Tensor]] = {"translation": translation, "cutout": cutout,
                                                "colour": colour}
