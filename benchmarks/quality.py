"""Quality of every installed family on MNIST-8k after a fixed training-time budget: one table.

For each installed family that generates from noise (image-to-image kinds are skipped), with its
default hyperparameters: ``gansrv train`` on the first 8,000 images of the shared MNIST split for
``--budget`` seconds of training time, ``gansrv export``, then ``gansrv eval`` against the held-out
last 2,000 (``--train-limit 8000``). Prints one markdown table (family, budget, steps, FID, KID,
precision, recall, class-acc, CAS) with the real-data reference row, and saves a sample grid per
family (``docs/quality/<family>.png``; conditional families: one row per class; with several
``--seeds``, one row per family and seed, grids from the first seed). Families that
also export an image classifier (``<name>.classifier.onnx``: acgan, wgan-c) get its accuracy on the
same held-out images printed and stored as ``classifier_accuracy``. Code families
(InfoGAN) get a second table (code purity and NMI of the categorical code) and one grid per
continuous code (``<family>-code<j>.png``: row r is categorical value r, the columns sweep code j
over the metadata's code range, the other codes at 0).

    python benchmarks/quality.py                                  # every family, 300 s each
    python benchmarks/quality.py --budget 15 --families cgan,dcgan --n 500 --grid-dir /tmp/q  # smoke
    python benchmarks/quality.py --json docs/quality/quality.json
    python benchmarks/quality.py --families cgan --seeds 0,1,2    # seed-to-seed spread
    python benchmarks/quality.py --filter classifier --filter discriminator   # + a row per filter

``--filter SPEC`` (repeatable) scores the same export once more per filter, as ``gansrv eval
--filter SPEC``: ``classifier`` alone means the family's own classifier graph when it exports one,
else the evaluator the unfiltered eval cached (``--min-confidence``, default 0.9); ``discriminator``
is rejection sampling with the run's discriminator (exported with ``--with-discriminator``). A row
per filter follows the family's row; a filter that does not apply (no class to check, no logit, or
one that accepts almost nothing) gets a row saying so instead of stopping the benchmark.
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
    finish_machine,
    gansrv_command,
    machine_info,
    print_machine,
    read_metrics,
    run_gansrv,
    write_json,
)

GRID_OUT = REPO / "docs" / "quality"
COLUMNS = ("family", "budget (s)", "steps", "FID", "KID", "precision", "recall", "class-acc", "CAS")


def families(only: str | None) -> list[str]:
    """Installed families that map noise (or noise and a label/code) to an image."""
    from gansrv.family import Kind
    from gansrv.plugins import registry

    found = {n: f for n, f in registry().families.items() if f.kind != Kind.IMAGE}
    if only is None:
        return sorted(found)
    wanted = [n.strip() for n in only.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in found]
    if unknown:
        raise SystemExit(f"--families: not installed or image-to-image: {', '.join(unknown)} "
                         f"(available: {', '.join(sorted(found))})")
    return wanted


def train_export_eval(family: str, data: Path, budget: float, n: int, metrics: str, tmp: Path,
                      grid_dir: Path, seed: int = 0, grid: bool = True,
                      filters: tuple[str, ...] = (), min_confidence: float = 0.9) -> list[dict[str, Any]]:
    tag = f"{family}-s{seed}"
    run_dir, model, figures = tmp / f"run-{tag}", tmp / f"{tag}.onnx", tmp / f"{tag}.json"
    commands = [
        ["train", family, "--data", str(data), "--limit", str(TRAIN_COUNT), "--max-seconds", f"{budget:g}",
         "--steps", "1000000", "--seed", str(seed), "--out", str(run_dir), "--no-progress",
         "--sample-every", "0"],
        ["export", str(run_dir), "-o", str(model), *(["--with-discriminator"] if filters else [])],
        ["eval", str(model), "--data", str(data), "--train-limit", str(TRAIN_COUNT), "--n", str(n),
         "--metrics", metrics, "--json", str(figures)],
    ]
    for args in commands:
        print(f"$ {shlex.join([*gansrv_command(), *args])}", flush=True)
        _, stdout = run_gansrv(args)
        sys.stdout.write(stdout)
    last = max(read_metrics(run_dir), key=lambda r: r["step"])
    out = json.loads(figures.read_text())
    out.update(steps=int(last["step"]), train_seconds=round(float(last["time"]), 2), budget=budget,
               train_seed=seed)
    if grid:
        out["grid"] = str(save_grid(model, grid_dir / f"{family}.png"))
    classifier = model.with_name(f"{model.stem}.classifier.onnx")
    if classifier.is_file():
        out["classifier_accuracy"] = held_out_accuracy(classifier, data)
        print(f"{family}: exported classifier, held-out accuracy {out['classifier_accuracy']:.4f}")
    sweeps = save_sweep_grids(model, grid_dir, family) if grid else []
    if sweeps:
        out["sweep_grids"] = [str(p) for p in sweeps]
    rows = [out]
    for spec in filters:
        rows.append(filtered_eval(model, data, n, metrics, out, spec, min_confidence))
    return rows


def filtered_eval(model: Path, data: Path, n: int, metrics: str, plain: dict[str, Any], spec: str,
                  min_confidence: float) -> dict[str, Any]:
    """The same export scored through ``gansrv eval --filter``; a row that says why when it fails."""
    import subprocess

    from gansrv.metrics.evaluator import cache_dir

    full = spec
    if spec == "classifier":
        own = model.with_name(f"{model.stem}.classifier.onnx")
        full = f"classifier={own if own.is_file() else cache_dir() / plain['evaluator']}"
    figures = model.with_name(f"{model.stem}.{spec.split('=')[0]}.json")
    args = ["eval", str(model), "--data", str(data), "--train-limit", str(TRAIN_COUNT), "--n", str(n),
            "--metrics", metrics, "--json", str(figures), "--filter", full,
            "--min-confidence", f"{min_confidence:g}"]
    print(f"$ {shlex.join([*gansrv_command(), *args])}", flush=True)
    proc = subprocess.run([*gansrv_command(), *args], capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    base = {k: plain[k] for k in ("family", "steps", "budget", "train_seed", "real_reference_images")
            if k in plain}
    tag = spec.split("=")[0]
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or ["failed"])[-1].removeprefix("error: ").split(";")[0]
        print(f"{plain['family']} + {tag}: {why}")
        return {**base, "filter_label": tag, "filter_error": why}
    return {**base, **json.loads(figures.read_text()), "filter_label": tag}


def held_out_accuracy(classifier: Path, data: Path) -> float:
    """Share of the held-out images (all after the first TRAIN_COUNT) the classifier labels right."""
    from gansrv.data import load_dataset
    from gansrv.runtime import Classifier

    ds = load_dataset([str(data)])
    images, labels = ds.images[TRAIN_COUNT:], ds.labels[TRAIN_COUNT:]
    pred = Classifier.from_file(classifier, "cpu").predict(images.transpose(0, 2, 3, 1))
    return float((pred.labels == labels).mean())


def save_sweep_grids(model: Path, grid_dir: Path, family: str, steps: int = 10) -> list[Path]:
    """Code models: per continuous code j, row r = categorical value r (noise of image r), columns
    code j from the low to the high end of the code range, the other codes 0 (none for other models)."""
    from gansrv.runtime import Generator
    from gansrv.runtime.codes import Sweep

    gen = Generator.from_file(model, "cpu")
    spec = gen.code_spec
    if spec is None:
        return []
    rows = min(gen.info.num_classes, 10)
    paths = []
    for j in range(spec.dim):
        sweep = Sweep(j, tuple(float(v) for v in np.linspace(*spec.range, steps)))
        images = gen.generate(rows * steps, seed=0, sweep=sweep, codes=np.zeros(spec.dim),
                              labels=np.repeat(np.arange(rows), steps))
        paths.append(_save(images, rows, steps, grid_dir / f"{family}-code{j + 1}.png"))
    return paths


def save_grid(model: Path, path: Path, per_row: int = 10) -> Path:
    """A 10x10 sample grid (seed 0); conditional models: row r is class r (code models: categorical
    value r, continuous codes from their prior)."""
    from gansrv.runtime import Generator

    gen = Generator.from_file(model, "cpu")
    k = gen.info.num_classes if gen.conditional else 0
    rows = min(k, 10) if k else 10
    labels = np.repeat(np.arange(rows), per_row) if k else None
    images = gen.generate(rows * per_row, seed=0, labels=labels)  # (N, H, W, C) uint8
    return _save(images, rows, per_row, path)


def _save(images: np.ndarray, rows: int, per_row: int, path: Path) -> Path:
    from PIL import Image

    from gansrv import atomic

    n, h, w, c = images.shape
    grid = images.reshape(rows, per_row, h, w, c).transpose(0, 2, 1, 3, 4).reshape(rows * h, per_row * w, c)
    img = Image.fromarray(grid[..., 0] if c == 1 else grid)
    atomic.write_with(path, lambda fh: img.save(fh, format="PNG"))
    return path


def _fmt(fig: dict[str, Any], key: str, spec: str) -> str:
    return format(fig[key], spec) if fig.get(key) is not None else "–"


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|---|" + "--:|" * (len(COLUMNS) - 1)]
    for f in results:
        if "filter_error" in f:
            lines.append(f"| {_label(f)} |" + " – |" * (len(COLUMNS) - 1))
            continue
        lines.append("| " + " | ".join([
            _label(f), f"{f['budget']:g}", str(f["steps"]), _fmt(f, "fid", ".2f"), _fmt(f, "kid", ".4f"),
            _fmt(f, "precision", ".3f"), _fmt(f, "recall", ".3f"), _fmt(f, "class_accuracy", ".3f"),
            _fmt(f, "cas", ".3f")]) + " |")
    ref = results[0]
    ceiling = next((f["cas_ceiling"] for f in results if f.get("cas_ceiling") is not None), None)
    lines.append("| " + " | ".join([
        f"real data ({ref['real_reference_images']} training images)", "–", "–",
        _fmt(ref, "real_fid", ".2f"), _fmt(ref, "real_kid", ".4f"), _fmt(ref, "real_precision", ".3f"),
        _fmt(ref, "real_recall", ".3f"), _fmt(ref, "evaluator_accuracy", ".3f"),
        "–" if ceiling is None else f"{ceiling:.3f}"]) + " |")
    return "\n".join(lines)


def _label(fig: dict[str, Any]) -> str:
    """The family, with the training seed when it is not the default 0, and the filter if any."""
    seed = fig.get("train_seed", 0)
    label = fig["family"] if not seed else f"{fig['family']} (seed {seed})"
    if "filter_label" in fig:
        rate = fig.get("filter_result", {}).get("acceptance_rate")
        label += f" + {fig['filter_label']}" + (f" (kept {rate:.1%})" if rate is not None else
                                                  f" ({fig.get('filter_error', 'failed')})")
    return label


def code_table(results: list[dict[str, Any]]) -> str:
    """Code families: how well the categorical code separates the classes the evaluator reads."""
    rows = [f for f in results if f.get("code_purity") is not None]
    if not rows:
        return ""
    lines = ["| family | steps | code purity | code NMI | chance purity | chance NMI |",
             "|---|--:|--:|--:|--:|--:|"]
    lines += [f"| {_label(f)} | {f['steps']} | {f['code_purity']:.3f} | {f['code_nmi']:.3f} | "
              f"{f['code_purity_chance']:.3f} | {f['code_nmi_chance']:.3f} |" for f in rows]
    ref = rows[0]
    lines.append(f"| real held-out images by class | – | {ref['real_code_purity']:.3f} | "
                 f"{ref['real_code_nmi']:.3f} | – | – |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MNIST IDX folder (default: %(default)s)")
    p.add_argument("--budget", type=float, default=300.0,
                   help="Training seconds per family (gansrv --max-seconds; default: %(default)g).")
    p.add_argument("--families", help="Comma list (default: every installed noise/conditional family).")
    p.add_argument("--n", type=int, default=2000, help="Images generated for eval (default: %(default)s).")
    p.add_argument("--metrics", default="fid,kid,pr,class-acc,cas",
                   help="gansrv eval --metrics (default: the table's columns, %(default)s).")
    p.add_argument("--grid-dir", type=Path, default=GRID_OUT,
                   help="Where the sample grids go (default: %(default)s).")
    p.add_argument("--seeds", default="0",
                   help="Comma list of training seeds; one row per family and seed, grids from the "
                        "first (default: %(default)s).")
    p.add_argument("--json", type=Path, help="Also write every figure to this JSON file.")
    p.add_argument("--filter", dest="filters", action="append", default=[],
                   help="Also score each export through gansrv eval --filter SPEC (repeatable): "
                        "classifier (its own classifier graph, else the cached evaluator), "
                        "classifier=PATH, or discriminator.")
    p.add_argument("--min-confidence", type=float, default=0.9,
                   help="The classifier filter's P (default: %(default)g).")
    args = p.parse_args(argv)
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        p.error(f"--seeds must be a comma list of integers, got {args.seeds!r}")
    if args.budget <= 0 or not 2 <= args.n <= 50_000:
        p.error("--budget must be positive and --n between 2 and 50,000")
    names = families(args.families)
    info = machine_info()
    print_machine(info)
    results = []
    with tempfile.TemporaryDirectory(prefix="gansrv-quality-") as tmp:
        for name in names:
            for i, seed in enumerate(seeds):
                results += train_export_eval(name, args.data, args.budget, args.n, args.metrics,
                                             Path(tmp), args.grid_dir, seed, grid=i == 0,
                                             filters=tuple(args.filters),
                                             min_confidence=args.min_confidence)
    finish_machine(info)
    print(f"\nload average at end: {' '.join(map(str, info['loadavg_end'] or []))}; "
          f"held-out: last {results[0]['held_out_images']} images, {args.n} generated per family\n")
    print(table(results))
    codes = code_table(results)
    if codes:
        print(f"\n{codes}")
    if args.json:
        write_json(args.json, {"machine": info, "results": results})
        print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
