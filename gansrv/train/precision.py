"""``--precision fp32|bf16|fp16``: the arithmetic a training step runs in.

fp32 (the default, and the only choice on CPU) keeps exact resume and bit-identical processes.
bf16 runs each ``train_step`` under CUDA autocast (weights, optimizer state and gradients stay
fp32; bf16 has fp32's exponent range, so no loss scaling is needed); not bit-exact across kernels,
and not run on the project's CPU machine. fp16 would need loss scaling (a GradScaler around the
``backward`` each family calls itself), which the family contract has no place for yet: refused.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any

from gansrv.errors import UserError

CHOICES = ("fp32", "bf16", "fp16")


def check(device: Any, precision: str) -> None:
    """One line for a precision this device or the engine cannot train in."""
    if precision == "fp32":
        return
    if getattr(device, "type", str(device)) != "cuda":
        raise UserError(f"--precision {precision} needs a CUDA device; CPU training is fp32")
    if precision == "fp16":
        raise UserError("--precision fp16 needs loss scaling inside each family's own backward, "
                        "which gansrv does not do yet; use --precision bf16")


def autocast(device: Any, precision: str) -> AbstractContextManager:
    """The context a training step runs in (nothing for fp32)."""
    if precision != "bf16":
        return nullcontext()
    import torch

    return torch.autocast("cuda", dtype=torch.bfloat16)
