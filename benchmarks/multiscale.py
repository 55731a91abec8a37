"""Multi-scale families (lapgan, progan, stackgan) against single-scale ones at the same resolution
and training time, all in one invocation (so one machine state and one evaluator serve them all).

Every run: ``gansrv train`` on the first 8,000 images of the shared MNIST split at 32 px for
``--budget`` seconds of training time, ``gansrv export``, ``gansrv eval --resize`` against the
held-out last 2,000. A suite names its runs:

- ``lapgan``: lapgan --conditional, lapgan, gan, dcgan; then the known-answer check of the finest
  level: real held-out digits cut to 16 px, brought back to 32 px once by plain upsampling and once
  by the conditional run's finest level, both scored (FID, the reader's accuracy) beside the real
  32 px digits;
- ``progan``: progan and wgan-gp as time-to-quality curves: an export and its FID every
  ``--every`` seconds of training (``gansrv train --resume --max-seconds``), drawn to
  ``docs/multiscale/progan-curve.png``;
- ``stackgan``: stackgan (stage II and its stage I graph upsampled) and stackgan without
  conditioning augmentation (``--ca-weight 0 --no-ca``) for the recall comparison.

    python benchmarks/multiscale.py --suite lapgan --budget 300 --json docs/multiscale/lapgan.json
    python benchmarks/multiscale.py --suite progan --budget 600 --every 60
    python benchmarks/multiscale.py --suite lapgan --budget 10 --n 300 --out /tmp/ms   # smoke
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from common import (
    DEFAULT_DATA,
    REPO,
    TRAIN_COUNT,
    add_extra_option,
    extra_args,
    finish_machine,
    gansrv_command,
    machine_info,
    print_machine,
    read_metrics,
    run_gansrv,
    write_json,
)

SIZE = 32
OUT = REPO / "docs" / "multiscale"
SUITES: dict[str, list[tuple[str, str, list[str]]]] = {
    "lapgan": [("lapgan-c", "lapgan", ["--conditional"]), ("lapgan", "lapgan", []),
               ("gan", "gan", []), ("dcgan", "dcgan", [])],
    "progan": [("progan", "progan", []), ("wgan-gp", "wgan-gp", [])],
    "stackgan": [("stackgan", "stackgan", []), ("stackgan-noca", "stackgan", ["--no-ca"])],
}
CURVES = {"progan"}  # suites whose runs are measured as time-to-quality curves


def gansrv(args: list[str]) -> str:
    print(f"$ {shlex.join([*gansrv_command(), *args])}", flush=True)
    _, stdout = run_gansrv(args)
    sys.stdout.write(stdout)
    return stdout


def train(run_dir: Path, family: str, extra: list[str], data: Path, seconds: float) -> None:
    if run_dir.exists():
        gansrv(["train", family, "--resume", str(run_dir), "--max-seconds", f"{seconds:g}", "--steps",
                "100000000", "--no-progress"])
        return
    gansrv(["train", family, "--data", str(data), "--limit", str(TRAIN_COUNT), "--image-size",
            str(SIZE), "--max-seconds", f"{seconds:g}", "--steps", "100000000", "--out", str(run_dir),
            "--no-progress", "--sample-every", "0", *extra])


def evaluate(model: Path, data: Path, n: int, metrics: str, tmp: Path) -> dict[str, Any]:
    figures = tmp / f"{model.stem}.json"
    gansrv(["eval", str(model), "--data", str(data), "--train-limit", str(TRAIN_COUNT), "--resize",
            "--n", str(n), "--metrics", metrics, "--json", str(figures)])
    return json.loads(figures.read_text())


def export(run_dir: Path, model: Path) -> None:
    gansrv(["export", str(run_dir), "-o", str(model)])


def one_run(label: str, family: str, extra: list[str], opts: argparse.Namespace, tmp: Path
            ) -> dict[str, Any]:
    run_dir, model = tmp / f"run-{label}", tmp / f"{label}.onnx"
    train(run_dir, family, extra, opts.data, opts.budget)
    export(run_dir, model)
    fig = evaluate(model, opts.data, opts.n, opts.metrics, tmp)
    last = max(read_metrics(run_dir), key=lambda r: r["step"])
    fig.update(label=label, args=extra, steps=int(last["step"]), train_seconds=float(last["time"]))
    from quality import save_grid

    fig["grid"] = str(save_grid(model, opts.out / f"{label}.png"))
    for extra_graph in sorted(tmp.glob(f"{label}.*.onnx")):  # e.g. stackgan's stage I
        if extra_graph.stem.endswith(("discriminator", "classifier")):
            continue
        part = extra_graph.stem.split(".", 1)[1]
        fig[part] = evaluate(extra_graph, opts.data, opts.n, opts.metrics, tmp)
        fig.setdefault("parts", []).append(part)
    fig["run_dir"] = str(run_dir)
    return fig


def curve(label: str, family: str, extra: list[str], opts: argparse.Namespace, tmp: Path
          ) -> dict[str, Any]:
    """FID of an export every ``opts.every`` training seconds up to the budget."""
    run_dir, points = tmp / f"run-{label}", []
    spent = 0.0
    while spent < opts.budget - 1e-6:
        step = min(opts.every, opts.budget - spent)
        train(run_dir, family, extra, opts.data, step)
        spent += step
        model = tmp / f"{label}-{round(spent)}.onnx"
        export(run_dir, model)
        fig = evaluate(model, opts.data, opts.n, "fid", tmp)
        last = max(read_metrics(run_dir), key=lambda r: r["step"])
        points.append({"seconds": float(last["time"]), "step": int(last["step"]),
                       "fid": fig["fid"], "real_fid": fig["real_fid"]})
        print(f"{label}: {last['time']:.0f} s, step {last['step']}, FID {fig['fid']:.2f}", flush=True)
    from quality import save_grid

    final = tmp / f"{label}-{round(spent)}.onnx"
    return {"label": label, "args": extra, "curve": points, "fid": points[-1]["fid"],
            "real_fid": points[-1]["real_fid"], "steps": points[-1]["step"],
            "grid": str(save_grid(final, opts.out / f"{label}.png"))}


def plot_curves(results: list[dict[str, Any]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=90)
    for r in results:
        pts = r["curve"]
        ax.plot([p["seconds"] for p in pts], [p["fid"] for p in pts], marker="o", label=r["label"])
    ax.axhline(results[0]["real_fid"], color="grey", ls="--", label="real data")
    ax.set(xlabel="training seconds", ylabel="FID (held-out MNIST, 32 px)", yscale="log")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def known_answer(run_dir: Path, data: Path, n: int) -> dict[str, Any]:
    """LAPGAN's finest level on real input: held-out 32 px digits cut to 16 px, then brought back
    by plain upsampling and by the level; FID and the reader's accuracy of both and of the reals."""
    import torch

    from gansrv.metrics.evaluate import Options, run_metrics
    from gansrv.metrics.evaluator import get_evaluator
    from gansrv.metrics.split import fit_to, load_split
    from gansrv.nn.pyramid import downsample, upsample
    from gansrv.train.load import load_run

    run = load_run(run_dir)
    levels = sum(1 for k in run.modules if k.startswith("G"))
    G = run.modules[f"G{levels - 1}"].eval()
    split = fit_to(load_split([str(data)], TRAIN_COUNT), (1, SIZE, SIZE), True)
    images, labels = split.test.images[:n], split.test.labels[:n]
    x = torch.from_numpy(images).float() / 127.5 - 1
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        up = upsample(downsample(x))
        z = torch.randn(len(x), SIZE * SIZE, generator=gen)
        refined = torch.clamp(up + G(up, z, torch.from_numpy(labels).long()), -1, 1)
    evaluator = get_evaluator(split.train, Options().recipe, print)
    out = {}
    for name, t in (("upsampled", up), ("refined", refined), ("real", x)):
        u8 = ((t.numpy() + 1) * 127.5).round().clip(0, 255).astype(np.uint8)
        figs = run_metrics(evaluator, split, u8, labels, ["fid", "class-acc"], Options(n=n), print)
        out[name] = {"fid": figs["fid"], "class_accuracy": figs["class_accuracy"]}
        print(f"known answer, {name}: FID {figs['fid']:.2f}, reader accuracy "
              f"{figs['class_accuracy']:.4f}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--suite", choices=sorted(SUITES), required=True)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--budget", type=float, default=600.0, help="Training seconds per run.")
    p.add_argument("--every", type=float, default=60.0, help="Curve suites: seconds per point.")
    p.add_argument("--n", type=int, default=2000, help="Images generated per evaluation.")
    p.add_argument("--metrics", default="fid,kid,pr,class-acc,cas")
    p.add_argument("--out", type=Path, default=OUT, help="Grids and curves (default: %(default)s).")
    p.add_argument("--json", type=Path, help="Write every figure here.")
    add_extra_option(p, "stackgan='--stage1-images 64000'")
    opts = p.parse_args(argv)
    extra_by_run = extra_args(opts.extra, {label for label, _, _ in SUITES[opts.suite]})
    info = machine_info()
    print_machine(info)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for label, family, extra in SUITES[opts.suite]:
            runner = curve if opts.suite in CURVES else one_run
            results.append(runner(label, family, [*extra, *extra_by_run.get(label, [])], opts, tmp))
        extra_out: dict[str, Any] = {}
        if opts.suite == "lapgan":
            extra_out["known_answer"] = known_answer(Path(results[0]["run_dir"]), opts.data, opts.n)
        if opts.suite in CURVES:
            extra_out["curve_png"] = str(plot_curves(results, opts.out / f"{opts.suite}-curve.png"))
    finish_machine(info)
    print(table(results))
    if opts.json:
        write_json(opts.json, {"machine": info, "suite": opts.suite, "budget": opts.budget,
                               "results": results, **extra_out})
    return 0


def table(results: list[dict[str, Any]]) -> str:
    """One row per run and one per extra generator graph it exported (stackgan's stage I, whose
    images ``gansrv eval --resize`` upsamples to the run's size)."""
    cols = ("run", "steps", "FID", "KID", "precision", "recall", "class-acc", "CAS")
    keys = ("fid", "kid", "precision", "recall", "class_accuracy", "cas")
    lines = ["| " + " | ".join(cols) + " |", "|---|" + "--:|" * (len(cols) - 1)]
    for r in results:
        rows = [(r["label"], r)] + [(f"{r['label']} ({part} graph)", r[part]) for part in r.get("parts", [])]
        for name, figs in rows:
            cells = [format(figs[k], ".4f" if k == "kid" else ".3f") if figs.get(k) is not None else "–"
                     for k in keys]
            lines.append(f"| {name} | {r['steps']} | " + " | ".join(cells) + " |")
    lines.append(f"| real data | – | {results[0]['real_fid']:.3f} | – | – | – | – | – |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
