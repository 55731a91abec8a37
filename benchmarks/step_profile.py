"""Where a training step's CPU time goes, by operator: the ceiling of what ``--compile`` can gain.

torch.compile (Inductor) on CPU fuses the elementwise work (BatchNorm, activations, losses, the
optimizer's arithmetic) but hands convolutions and matrix products to the same oneDNN/BLAS kernels
eager mode calls. So if those kernels take a fraction f of a step, no compile can make the step
more than 1 / f times faster. This runs ``gansrv train`` in this process under torch's profiler for
``--steps`` steps per family (default config, MNIST's first 8,000 images) and prints the share of
self CPU time in the kernel operators, the top operators, and that ceiling.

    python benchmarks/step_profile.py --families dcgan cgan --steps 200
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import DEFAULT_DATA, finish_machine, machine_info, print_machine, write_json
from steps_per_sec import train_args

# Operators whose kernels Inductor calls unchanged (the convolutions and matrix products)
KERNELS = ("convolution", "conv2d", "conv_transpose", "mkldnn", "addmm", "mm", "bmm", "linear",
           "matmul")


def is_kernel(name: str) -> bool:
    op = name.split("::", 1)[-1]
    return any(op == k or op.startswith(k + "_") or k in op.split("_") for k in KERNELS)


def profile_family(family: str, data: Path, steps: int, root: Path) -> dict[str, Any]:
    from torch.profiler import ProfilerActivity, profile

    from gansrv.cli import cli

    args = train_args(family, data, steps, root / family, [])
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        try:
            cli.main(args, prog_name="gansrv", standalone_mode=False)
        except SystemExit as e:  # click may still exit on its own
            if e.code:
                raise
    rows = [(e.key, e.self_cpu_time_total) for e in prof.key_averages()]
    total = sum(t for _, t in rows)
    kernel = sum(t for k, t in rows if is_kernel(k))
    top = sorted(rows, key=lambda r: -r[1])[:12]
    return {"family": family, "steps": steps, "self_cpu_s": total / 1e6, "kernel_s": kernel / 1e6,
            "kernel_share": kernel / total, "ceiling": total / kernel if kernel else float("inf"),
            "top": [{"op": k, "s": t / 1e6, "share": t / total, "kernel": is_kernel(k)} for k, t in top]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MNIST IDX folder (default: %(default)s)")
    p.add_argument("--families", nargs="+", default=["dcgan", "cgan"], help="default: %(default)s")
    p.add_argument("--steps", type=int, default=200, help="Steps per family (default: %(default)s).")
    p.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    args = p.parse_args(argv)
    info = machine_info()
    print_machine(info)
    results = []
    with tempfile.TemporaryDirectory(prefix="gansrv-profile-") as tmp:
        for fam in args.families:
            r = profile_family(fam, args.data, args.steps, Path(tmp))
            results.append(r)
            print(f"\n{fam}: {r['self_cpu_s']:.2f} s of self CPU time in {r['steps']} steps; "
                  f"convolution/matmul kernels {100 * r['kernel_share']:.1f} % -> a compile can "
                  f"gain at most x{r['ceiling']:.2f}")
            for t in r["top"]:
                print(f"  {t['op']:<44} {t['s']:7.2f} s {100 * t['share']:5.1f} %"
                      f"{'  (kernel)' if t['kernel'] else ''}")
    finish_machine(info)
    if args.json:
        write_json(args.json, {"results": results, "machine": info})
    return 0


if __name__ == "__main__":
    sys.exit(main())
