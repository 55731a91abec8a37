"""Search for a low-data recipe at a fixed step budget, and the ceiling any generator could reach.

``low_data.py`` is the protocol of record (a seconds budget, every N, seeds and families); this is
the cheaper loop used to look for a recipe that passes it. For one N and seed it trains each
``--variant NAME=ARGS`` (extra ``gansrv train`` arguments) for ``--steps`` generator steps, so its
figures do not depend on the machine's load, exports it, generates ``--gen`` images and scores
them as ``low_data.py`` does (FID and class accuracy with the cached evaluator, CAS, the
augmentation gain against the N real images alone) at every share of ``--mixes``.

``--ceiling`` adds two rows without a GAN: ``oracle``, where the "generated" set is 10,000 other
real training digits (a perfect generator of the real distribution: the most any model can add
under this protocol), and ``memoriser``, the N real images repeated to 10,000 (a model that only
copies its training set: it adds nothing).

    python benchmarks/low_data_search.py --n 100 --steps 2000 --ceiling \\
        --variant off="--augment off" --variant on="--augment on"
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from common import (
    DEFAULT_DATA,
    TRAIN_COUNT,
    finish_machine,
    gansrv_command,
    machine_info,
    print_machine,
    write_json,
)
from low_data import subsets


def train_and_export(family: str, args: list[str], a, data: Path, out: Path) -> Path:
    run_dir, model = out / "run", out / "model.onnx"
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    for cmd in (["train", family, "--data", str(data), "--steps", str(a.steps), "--seed",
                 str(a.seed), "--out", str(run_dir), "--no-progress", "--sample-every", "0", *args],
                ["export", str(run_dir), "-o", str(model)]):
        print(f"$ {shlex.join([*gansrv_command(), *cmd])}", flush=True)
        subprocess.run([*gansrv_command(), *cmd], check=True, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return model


class Scorer:
    """The held-out split, the cached evaluator and the N-real baseline, shared by every row."""

    def __init__(self, eval_npz: Path, n: int, gen: int):
        import torch

        from gansrv.metrics.evaluator import get_evaluator
        from gansrv.metrics.recipe import Recipe
        from gansrv.metrics.split import load_split

        torch.set_num_threads(1)
        self.split = load_split([str(eval_npz)], TRAIN_COUNT, (), None)
        self.recipe = Recipe()
        self.evaluator = get_evaluator(self.split.train, self.recipe, lambda m: None)
        self.real = (self.split.train.images[:n], self.split.train.labels[:n])
        self.steps = self.recipe.epochs * -(-(n + gen) // self.recipe.batch_size)
        self.test_feat = self.evaluator.run(self.split.test.images)[1]
        self.real_only = self.accuracy(None, 0.0)

    def accuracy(self, fake: tuple[np.ndarray, np.ndarray] | None, mix: float) -> float:
        from gansrv.metrics import classifier

        model = classifier.train_mixed(self.real, fake, mix, self.steps, self.split.num_classes,
                                       self.recipe, lambda m: None)
        return classifier.accuracy(model, self.split.test.images, self.split.test.labels)

    def row(self, name: str, fake: tuple[np.ndarray, np.ndarray], mixes: list[float]
            ) -> dict[str, Any]:
        from gansrv.metrics import distances

        pred, feat = self.evaluator.run(fake[0])
        out: dict[str, Any] = {"variant": name, "fid": distances.frechet_distance(self.test_feat, feat),
                               "class_acc": float(np.mean(pred == fake[1])),
                               "cas": self.accuracy(fake, 1.0), "real_only": self.real_only}
        for mix in mixes:
            out[f"gain@{mix:g}"] = 100 * (self.accuracy(fake, mix) - self.real_only)
        print(json.dumps(out), flush=True)
        return out


def generated(model: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    from gansrv.metrics.evaluate import generate
    from gansrv.runtime import Generator

    images, labels = generate(Generator.from_file(model, "cpu"), n, 0, 256)
    return images, labels


def ceiling_rows(scorer: Scorer, n: int, gen: int, mixes: list[float]) -> list[dict[str, Any]]:
    train = scorer.split.train
    others = (train.images[n:n + gen], train.labels[n:n + gen])
    repeat = np.resize(np.arange(n), gen)
    return [scorer.row("oracle (other real digits)", others, mixes),
            scorer.row("memoriser (the N repeated)", (train.images[repeat], train.labels[repeat]),
                       mixes)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--n", type=int, default=100, help="Real labelled images (100: 10 per class).")
    p.add_argument("--family", default="cgan")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=2000, help="Generator steps per variant.")
    p.add_argument("--gen", type=int, default=10000, help="Generated images per variant.")
    p.add_argument("--mixes", default="0.25,0.5", help="Generated shares per batch to score.")
    p.add_argument("--variant", action="append", default=[], metavar="NAME=ARGS",
                   help="A recipe: extra `gansrv train` arguments (repeatable).")
    p.add_argument("--ceiling", action="store_true", help="Add the oracle and memoriser rows.")
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args()
    mixes = [float(v) for v in a.mixes.split(",")]
    info = machine_info()
    print_machine(info)
    rows = []
    with tempfile.TemporaryDirectory(prefix="gansrv-lowsearch-") as tmp_name:
        tmp = Path(tmp_name)
        train_npz, eval_npz = subsets(a.data, a.n, tmp)
        scorer = Scorer(eval_npz, a.n, a.gen)
        if a.ceiling:
            rows += ceiling_rows(scorer, a.n, a.gen, mixes)
        for spec in a.variant:
            name, _, extra = spec.partition("=")
            model = train_and_export(a.family, shlex.split(extra), a, train_npz, tmp / name)
            rows.append(scorer.row(f"{a.family} {name}", generated(model, a.gen), mixes))
    finish_machine(info)
    print(f"\nN = {a.n}, seed {a.seed}, {a.steps} steps; real only {scorer.real_only:.4f}")
    print("| variant | FID | class-acc | CAS | " + " | ".join(f"gain @ {m:g}" for m in mixes) + " |")
    print("|---|--:|--:|--:|" + "--:|" * len(mixes))
    for r in rows:
        gains = " | ".join(f"{r[f'gain@{m:g}']:+.2f}" for m in mixes)
        print(f"| {r['variant']} | {r['fid']:.2f} | {r['class_acc']:.3f} | {r['cas']:.4f} | {gains} |")
    if a.json:
        write_json(a.json, {"machine": info, "args": {**vars(a), "data": str(a.data),
                                                      "json": str(a.json)}, "rows": rows})


if __name__ == "__main__":
    main()
