"""cyclegan (and its dualgan/discogan variants) on an unpaired task from MNIST: digit <-> thick digit.

Domain A is the first half of ``--train`` digits of the canonical 8,000; domain B is the *other*
half, thickened (tests/paired_tasks.py: a 3x3 grey-level dilation), so no digit is ever seen in both
styles. ``gansrv train cyclegan --variant V`` learns both directions within a training-time budget,
``gansrv export`` writes both generators, and the torch-free ``gansrv.runtime.Translator``
translates the 2,000 held-out digits (A -> B) and their thick versions (B -> A). The right answer is
known for each: the digit's own thick version, and the digit itself. Reported per direction: L1,
PSNR and SSIM against it (gansrv.metrics.similarity), and the share of outputs the benchmark's MNIST
reader (benchmarks/mnist_classifier.py) reads as the true class; beside the identity baseline
(the input returned unchanged) and the reader on the real targets.

    python benchmarks/cyclegan_mnist.py                                    # cyclegan, 240 s budget
    python benchmarks/cyclegan_mnist.py --variant dualgan --budget 120 --json /tmp/d.json
    python benchmarks/cyclegan_mnist.py --budget 20 --train 400            # smoke test
    python benchmarks/cyclegan_mnist.py -- --blocks 3   # args after -- go to gansrv train cyclegan
"""

from __future__ import annotations

import shlex
import sys
import tempfile
from pathlib import Path

import numpy as np
from common import (
    REPO,
    TRAIN_COUNT,
    finish_machine,
    machine_info,
    parse_train_count,
    print_machine,
    read_metrics,
    run_gansrv,
    translation_parser,
    write_json,
)
from pix2pix_mnist import HELD_OUT, SIZE, reader_accuracy

sys.path.insert(0, str(REPO))  # tests/paired_tasks.py holds the task, shared with the tests
from gansrv.metrics.similarity import l1_psnr, ssim  # noqa: E402
from tests.paired_tasks import mnist_digits, thicken, write_unpaired_folders  # noqa: E402

DEFAULT_TRAIN_ARGS = ("--ngf", "16", "--ndf", "16", "--blocks", "3", "--batch-size", "16",
                      "--no-flip")


def train_and_export(domains: Path, work: Path, variant: str, budget: float, extra: list[str]
                     ) -> tuple[Path, Path, list]:
    run_dir, model = work / "run", work / "cyclegan-mnist.onnx"
    args = ["train", "cyclegan", "--variant", variant, "--data", str(domains), "--image-size",
            str(SIZE), "--steps", "1000000", "--max-seconds", str(budget), "--sample-every", "0",
            "--checkpoint-every", "0", "--no-progress", "--out", str(run_dir), *DEFAULT_TRAIN_ARGS,
            *extra]
    print(f"$ gansrv {shlex.join(args)}", flush=True)
    wall, _ = run_gansrv(args, quiet=True)
    print(f"  trained: wall {wall:.1f}s", flush=True)
    run_gansrv(["export", str(run_dir), "-o", str(model)], quiet=True)
    return model, model.with_name(f"{model.stem}.generator_ba.onnx"), [args, read_metrics(run_dir)]


def score(reader, pred: np.ndarray, truth: np.ndarray, labels: np.ndarray) -> dict:
    l1, psnr = l1_psnr(pred, truth)
    return {"l1": round(l1, 4), "psnr_db": round(psnr, 2), "ssim": round(ssim(pred, truth), 4),
            "reader_accuracy": round(reader_accuracy(reader, np.ascontiguousarray(pred), labels), 4)}


def main(argv: list[str] | None = None) -> int:
    p = translation_parser(__doc__, "cyclegan", 240.0, "Training seconds (default 240).",
                           "Training digits (<= 8,000): half become domain A, the other half B.")
    p.add_argument("--variant", default="cyclegan", choices=("cyclegan", "dualgan", "discogan"))
    a = parse_train_count(p, argv, 2)
    info = machine_info()
    print_machine(info)
    from mnist_classifier import train_or_load_classifier

    from gansrv.data.idx import find_idx_pair, load_idx
    from gansrv.runtime import Translator

    data = Path(a.data)
    labels = load_idx(*find_idx_pair(data)).labels[TRAIN_COUNT:TRAIN_COUNT + HELD_OUT]
    held = mnist_digits(data, TRAIN_COUNT, HELD_OUT, SIZE)
    held_thick = thicken(held)
    digits = mnist_digits(data, 0, a.train, SIZE)
    half = a.train // 2
    with tempfile.TemporaryDirectory(prefix="cyclegan-mnist-") as tmp:
        domains = write_unpaired_folders(Path(tmp) / "domains", digits[:half], thicken(digits[half:]))
        ab, ba, (args, metrics) = train_and_export(domains, Path(tmp), a.variant, a.budget, a.extra)
        to_thick = Translator.from_file(ab, provider="cpu").translate(held[..., None], 200)[..., 0]
        to_thin = Translator.from_file(ba, provider="cpu").translate(held_thick[..., None], 200)[..., 0]
    reader, reader_real = train_or_load_classifier(data, log=lambda m: None)
    rows = {
        ("A->B (thicken)", a.variant): (to_thick, held_thick),
        ("A->B (thicken)", "baseline: identity"): (held, held_thick),
        ("B->A (thin)", a.variant): (to_thin, held),
        ("B->A (thin)", "baseline: identity"): (held_thick, held),
    }
    steps = metrics[-1]["step"] if metrics else 0
    print(f"\nheld-out digits: {HELD_OUT} (MNIST test split {TRAIN_COUNT}..{TRAIN_COUNT + HELD_OUT - 1}),"
          f" {SIZE}x{SIZE}; variant {a.variant}; steps trained: {steps}")
    print(f"{'direction':<16} {'prediction':<20} {'L1':>7} {'PSNR dB':>8} {'SSIM':>7} {'reader acc':>10}")
    figures: dict = {}
    for (direction, name), (pred, truth) in rows.items():
        f = score(reader, pred, truth, labels)
        figures.setdefault(direction, {})[name] = f
        print(f"{direction:<16} {name:<20} {f['l1']:7.4f} {f['psnr_db']:8.2f} {f['ssim']:7.4f} "
              f"{f['reader_accuracy']:10.4f}")
    thick_real = reader_accuracy(reader, held_thick, labels)
    print(f"reader on the real held-out digits: {reader_real:.4f}; on their thick versions: "
          f"{thick_real:.4f}")
    finish_machine(info)
    print(f"load average at end: {' '.join(map(str, info['loadavg_end'] or []))}")
    if a.json:
        write_json(a.json, {"machine": info, "command": ["gansrv", *args], "variant": a.variant,
                            "budget_s": a.budget, "train_digits": a.train, "held_out": HELD_OUT,
                            "steps": steps, "figures": figures,
                            "reader_on_real": round(reader_real, 4),
                            "reader_on_thick_real": round(thick_real, 4),
                            "last_metrics": metrics[-1] if metrics else None})
    return 0


if __name__ == "__main__":
    sys.exit(main())
