"""The ``--filter`` options shared by ``gansrv generate`` and ``gansrv eval``: one decorator that
hands the command a single ``sample_filter`` argument (a FilterRequest, or None without --filter)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

NAMES = ("filter_spec", "min_confidence", "burn_in", "gamma_percentile")


def filter_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add --filter, --min-confidence, --burn-in and --gamma-percentile; pass ``sample_filter``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        spec, p, burn_in, pct = (kwargs.pop(n) for n in NAMES)
        request = None
        if spec is not None:
            from gansrv.generate.filtering import FilterRequest, check_filter

            request = FilterRequest(spec, p, burn_in, pct)
            check_filter(request)
        return fn(*args, sample_filter=request, **kwargs)

    options = [
        click.option("--filter", "filter_spec", default=None, metavar="SPEC",
                     help="Keep only good samples: classifier=MODEL.onnx (a classifier graph, or the "
                          "evaluator gansrv eval caches; keeps a sample the classifier reads as its "
                          "class with probability >= --min-confidence) or discriminator[=D.onnx] "
                          "(rejection sampling with the run's exported discriminator, default "
                          "<model stem>.discriminator.onnx). Counts per class stay exact."),
        click.option("--min-confidence", type=float, default=0.9, show_default=True,
                     help="classifier filter: the least probability of the class asked for, in (0, 1]."),
        click.option("--burn-in", type=int, default=1000, show_default=True,
                     help="discriminator filter: images (100..1,000,000) that estimate the largest "
                          "logit and gamma; part of the dataset's identity."),
        click.option("--gamma-percentile", type=float, default=80.0, show_default=True,
                     help="discriminator filter: gamma is this percentile of F(x) over the burn-in "
                          "(higher: fewer, better samples kept)."),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper
