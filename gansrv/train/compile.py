"""``--compile`` (torch.compile) and ``--channels-last`` for the training step, per module.

Both act on the built modules in place, so checkpoint keys never change: ``nn.Module.compile()``
compiles the module's call without wrapping it (``torch.compile(m)`` would return an
``OptimizedModule`` whose state_dict keys gain an ``_orig_mod.`` prefix), and channels-last only
changes the memory layout of 4-D weights. What each one gains per family is measured by
``benchmarks/compile_speed.py`` (docs/benchmarks.md); neither is on by default, because on the
2-core CPU neither was faster at the measured step counts (the compile itself costs more than
it saves; see the benchmark section).

Exact resume holds with ``--compile``: a resumed run compiles the same graphs again, and Inductor's
generated kernels are the same code for the same shapes, so the run continues bit for bit (tested
for cgan and dcgan in tests/test_compile.py).
"""

from __future__ import annotations

import torch
from torch import nn


def apply(modules: dict[str, nn.Module], compile: bool, channels_last: bool) -> None:
    """Compile and/or re-layout every module of a run; a no-op when both are off."""
    for m in modules.values():
        if channels_last:
            m.to(memory_format=torch.channels_last)
        if compile:
            m.compile(dynamic=False)
