"""``--compile`` (torch.compile) and ``--channels-last`` for the training step, per module.

Both act on the built modules in place, so checkpoint keys never change: ``nn.Module.compile()``
compiles the module's call without wrapping it (``torch.compile(m)`` would return an
``OptimizedModule`` whose state_dict keys gain an ``_orig_mod.`` prefix), and channels-last only
changes the memory layout of 4-D weights. What each one gains per family is measured by
``benchmarks/compile_speed.py`` (docs/benchmarks.md, "int8 exports and --compile"). Neither is on
by default: at a few hundred steps the compile costs more than it saves on the 2-core CPU, and
channels-last's measured gain came from one run per mode whose order favoured it (the load fell
during the run), so it is to be re-measured before it becomes any family's default.

Exact resume holds with ``--compile``: a resumed run compiles the same graphs again, and Inductor's
generated kernels are the same code for the same shapes, so the run continues bit for bit (tested
for cgan and dcgan in tests/test_compile.py, as is channels-last).
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
