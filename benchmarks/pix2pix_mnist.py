"""pix2pix on a paired task built from MNIST: edge map -> digit, scored on held-out pairs.

The first ``--train`` images of the canonical 8,000 become A/ (edge maps, see tests/paired_tasks.py)
and B/ (the digits, padded to 32 px) folders; ``gansrv train pix2pix`` learns A -> B within a
training-time budget, ``gansrv export`` writes the ONNX file, and the torch-free
``gansrv.runtime.Translator`` translates the edge maps of the 2,000 held-out digits. Reported on
those: L1 (mean absolute error, pixels scaled to 0..1), PSNR (dB, peak 1), SSIM (Wang et al. 2004,
11x11 Gaussian window; gansrv.metrics.similarity), and the share of outputs
the benchmark's MNIST reader (benchmarks/mnist_classifier.py) reads as the digit's true class, next
to the same figures for two baselines (the edge map itself, the mean training digit) and the
reader's accuracy on the real held-out digits.

    python benchmarks/pix2pix_mnist.py                      # 300 s budget, 8,000 training pairs
    python benchmarks/pix2pix_mnist.py --budget 20 --train 500 --json /tmp/p.json   # smoke test
    python benchmarks/pix2pix_mnist.py -- --ngf 64 --ndf 64  # args after -- go to gansrv train
"""

from __future__ import annotations

import shlex
import sys
import tempfile
import time
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

sys.path.insert(0, str(REPO))  # tests/paired_tasks.py holds the task, shared with the tests
from gansrv.metrics.similarity import l1_psnr, ssim  # noqa: E402
from tests.paired_tasks import edge_maps, mnist_digits, write_pair_folders  # noqa: E402

HELD_OUT = 2000
SIZE = 32
DEFAULT_TRAIN_ARGS = ("--ngf", "32", "--ndf", "32", "--batch-size", "32", "--no-flip")


def train_and_export(pairs: Path, work: Path, budget: float, extra: list[str]) -> tuple[Path, list]:
    run_dir, model = work / "run", work / "pix2pix-mnist.onnx"
    args = ["train", "pix2pix", "--data", str(pairs), "--image-size", str(SIZE), "--steps",
            "1000000", "--max-seconds", str(budget), "--sample-every", "0", "--checkpoint-every", "0",
            "--no-progress", "--out", str(run_dir), *DEFAULT_TRAIN_ARGS, *extra]
    print(f"$ gansrv {shlex.join(args)}", flush=True)
    wall, _ = run_gansrv(args, quiet=True)
    print(f"  trained: wall {wall:.1f}s", flush=True)
    run_gansrv(["export", str(run_dir), "-o", str(model)], quiet=True)
    return model, [args, read_metrics(run_dir)]


def reader_accuracy(reader, images_32: np.ndarray, labels: np.ndarray) -> float:
    """Share of (N, 32, 32) uint8 images the reader classifies as their label (centre 28 px)."""
    import torch
    from mnist_classifier import accuracy, to_unit

    pad = (SIZE - 28) // 2
    crop = images_32[:, None, pad:pad + 28, pad:pad + 28]
    return accuracy(reader, to_unit(np.ascontiguousarray(crop)), torch.from_numpy(labels))


def main(argv: list[str] | None = None) -> int:
    p = translation_parser(__doc__, "pix2pix", 300.0, "Training seconds (default 300).",
                           "Training pairs (<= 8,000).")
    a = parse_train_count(p, argv, 1)
    info = machine_info()
    print_machine(info)
    from mnist_classifier import train_or_load_classifier

    from gansrv.data.idx import find_idx_pair, load_idx
    from gansrv.runtime import Translator

    data = Path(a.data)
    labels = load_idx(*find_idx_pair(data)).labels
    held = mnist_digits(data, TRAIN_COUNT, HELD_OUT, SIZE)
    held_labels = labels[TRAIN_COUNT:TRAIN_COUNT + HELD_OUT]
    train_digits = mnist_digits(data, 0, a.train, SIZE)
    with tempfile.TemporaryDirectory(prefix="pix2pix-mnist-") as tmp:
        pairs = write_pair_folders(Path(tmp) / "pairs", train_digits)
        model, (args, metrics) = train_and_export(pairs, Path(tmp), a.budget, a.extra)
        tr = Translator.from_file(model, provider="cpu")
        t0 = time.perf_counter()
        out = tr.translate(edge_maps(held)[..., None], batch_size=200)[..., 0]
        translate_s = time.perf_counter() - t0
    reader, reader_real = train_or_load_classifier(data, log=lambda m: None)
    edges = edge_maps(held)
    mean_digit = np.broadcast_to(np.rint(train_digits.mean(0)).astype(np.uint8), held.shape)
    rows = {"pix2pix": out, "baseline: edge map": edges, "baseline: mean digit": mean_digit}
    figures = {}
    print(f"\nheld-out pairs: {HELD_OUT} (MNIST test split {TRAIN_COUNT}..{TRAIN_COUNT + HELD_OUT - 1}),"
          f" {SIZE}x{SIZE}; steps trained: {metrics[-1]['step'] if metrics else 0}")
    print(f"{'prediction':<22} {'L1':>7} {'PSNR dB':>8} {'SSIM':>7} {'reader acc':>10}")
    for name, pred in rows.items():
        l1, psnr = l1_psnr(pred, held)
        s = ssim(pred, held)
        acc = reader_accuracy(reader, np.ascontiguousarray(pred), held_labels)
        figures[name] = {"l1": round(l1, 4), "psnr_db": round(psnr, 2), "ssim": round(s, 4),
                         "reader_accuracy": round(acc, 4)}
        print(f"{name:<22} {l1:7.4f} {psnr:8.2f} {s:7.4f} {acc:10.4f}")
    print(f"reader on the real held-out digits: {reader_real:.4f}")
    print(f"translate (ORT, CPU, batch 200): {HELD_OUT / translate_s:.0f} img/s")
    finish_machine(info)
    print(f"load average at end: {' '.join(map(str, info['loadavg_end'] or []))}")
    if a.json:
        write_json(a.json, {"machine": info, "command": ["gansrv", *args], "budget_s": a.budget,
                            "train_pairs": a.train, "held_out_pairs": HELD_OUT, "figures": figures,
                            "reader_on_real": round(reader_real, 4),
                            "translate_img_s": round(HELD_OUT / translate_s, 1),
                            "last_metrics": metrics[-1] if metrics else None})
    return 0


if __name__ == "__main__":
    sys.exit(main())
