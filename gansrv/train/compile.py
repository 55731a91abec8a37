"""``--compile`` (torch.compile) and ``--channels-last`` for the training step, per module.

Both act on the built modules in place, so checkpoint keys never change: ``nn.Module.compile()``
compiles the module's call without wrapping it (``torch.compile(m)`` would return an
``OptimizedModule`` whose state_dict keys gain an ``_orig_mod.`` prefix), and channels-last only
changes the memory layout of 4-D weights. What each one gains per family is measured by
``benchmarks/compile_speed.py`` (docs/benchmarks.md, "int8 exports and --compile"). Neither is on
by default. On the 2-core CPU, measured quietly with the modes' order alternating (2026-12-02):
``--compile`` x0.79-0.96 of eager's steps/s after its warm-up, because ~79 % of a dcgan or cgan
step is in convolution kernels that Inductor calls unchanged (benchmarks/step_profile.py: no
compile can beat x1.27 there), and x0.58-1.05 across the other families; ``--channels-last``
x1.07-1.10 on those two and x0.88-1.25 across the others (one round each): no consistent gain.

Exact resume holds with ``--compile``: a resumed run compiles the same graphs again, and Inductor's
generated kernels are the same code for the same shapes, so the run continues bit for bit (tested
for cgan and dcgan in tests/test_compile.py, as is channels-last).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn


def apply(modules: dict[str, nn.Module], compile: bool, channels_last: bool,
          eager: Iterable[str] = (), log: Callable[[str], None] | None = None) -> None:
    """Compile and/or re-layout every module of a run (a no-op when both are off); the roles in
    ``eager`` (a gradient penalty's double backward: Family.double_backward) stay uncompiled."""
    eager = set(eager)
    for role, m in modules.items():
        if channels_last:
            m.to(memory_format=torch.channels_last)
        if compile and role not in eager:
            m.compile(dynamic=False)
    kept = sorted(eager & set(modules)) if compile else []
    if kept and log is not None:
        log(f"--compile: {', '.join(kept)} stays eager (its gradient penalty differentiates it "
            f"twice, which torch.compile cannot)")
