"""stargan on four MNIST domains with known answers, against the input unchanged and six pairwise
cyclegans that share the same training time.

Domains (tests/paired_tasks.py and :func:`domain_images`): ``plain`` (the digit), ``thick`` (grey
dilation by a 3x3 square), ``thin`` (grey erosion by a 2x2 square: the strokes lose about a pixel,
and the benchmark's reader still reads 93 % of them) and ``inverted`` (255 - x). Each domain is built
from its own quarter of the first ``--train`` of the canonical 8,000 digits, so no digit is seen in
two domains. ``gansrv train stargan`` learns all 12 directions in one model within ``--budget``
seconds; ``gansrv export`` writes the generator and the domain head (a classifier graph).

On the 2,000 held-out digits x, for each of the 12 directed pairs (i, j): L1, PSNR and SSIM of
G(T_i(x), j) against the known answer T_j(x), and the share of outputs the benchmark's MNIST reader
(benchmarks/mnist_classifier.py) reads as x's class (``inverted`` images are shown to the reader
inverted back, the same fixed step for outputs and for the real T_j(x)); the reader's accuracy on
the real T_j(x) beside it; and the exported domain head's accuracy on all 4 x 2,000 held-out T_i(x),
run through the torch-free runtime. Baselines in the same run: the input unchanged (T_i(x) itself),
and six ``cyclegan`` runs, one per unordered pair of domains (its two generators give both
directions), each trained for ``budget / 6`` seconds on the same quarters.

    python benchmarks/stargan_mnist.py                               # 600 s stargan + 6 x 100 s
    python benchmarks/stargan_mnist.py --budget 30 --train 800 --json /tmp/s.json    # smoke test
    python benchmarks/stargan_mnist.py -- --n-critic 2   # args after -- go to gansrv train stargan
"""

from __future__ import annotations

import itertools
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
from cyclegan_mnist import DEFAULT_TRAIN_ARGS as CYCLEGAN_ARGS
from pix2pix_mnist import HELD_OUT, SIZE, reader_accuracy

sys.path.insert(0, str(REPO))  # tests/paired_tasks.py holds the tasks, shared with the tests
from gansrv.metrics.similarity import l1_psnr, ssim  # noqa: E402
from tests.paired_tasks import mnist_digits, thicken  # noqa: E402

DOMAINS = ("plain", "thick", "thin", "inverted")
# Small nets as for cyclegan_mnist.py. Not the paper's 5 critic steps at Adam 1e-4: within 600 s on
# the shared 2-core machine that reached SSIM 0.08 after 120 s (217 steps); one critic step, Adam
# 1e-3 and the optional identity term reached 0.30 in the same time (trials on 500 held-out digits,
# 2026-12-01, load 6-9).
STARGAN_ARGS = ("--g-width", "16", "--d-width", "16", "--blocks", "3", "--batch-size", "16",
                "--n-critic", "1", "--lr", "1e-3", "--lambda-id", "10")


def thin(digits: np.ndarray) -> np.ndarray:
    """Grey erosion by a 2x2 square: each pixel the min of itself and its right, lower and
    lower-right neighbours (a 3x3 square erodes MNIST's strokes until the reader fails on 56 %)."""
    pad = np.pad(digits, ((0, 0), (0, 1), (0, 1)))
    h, w = digits.shape[1:]
    return np.min([pad[:, i:i + h, j:j + w] for i in (0, 1) for j in (0, 1)], axis=0)


def domain_images(name: str, digits: np.ndarray) -> np.ndarray:
    """T_name(digits), uint8 (N, H, W)."""
    if name == "thick":
        return thicken(digits)
    if name == "thin":
        return thin(digits)
    if name == "inverted":
        return 255 - digits
    return digits


def for_reader(name: str, images: np.ndarray) -> np.ndarray:
    """What the reader (trained on white-on-black digits) is shown: inverted images inverted back."""
    return 255 - images if name == "inverted" else images


def write_domain_folders(root: Path, quarters: dict[str, np.ndarray]) -> Path:
    from PIL import Image

    for name, images in quarters.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(images):
            Image.fromarray(img).save(root / name / f"{i:05d}.png")
    return root


def train(family: str, data: Path, run_dir: Path, budget: float, args: tuple[str, ...]) -> list:
    cmd = ["train", family, "--data", str(data), "--image-size", str(SIZE), "--steps", "1000000",
           "--max-seconds", f"{budget:g}", "--sample-every", "0", "--checkpoint-every", "0",
           "--no-progress", "--out", str(run_dir), *args]
    print(f"$ gansrv {shlex.join(cmd)}", flush=True)
    wall, _ = run_gansrv(cmd, quiet=True)
    rows = read_metrics(run_dir)
    print(f"  trained: wall {wall:.1f}s, {rows[-1]['step'] if rows else 0} steps", flush=True)
    return [cmd, rows]


def score(reader, name: str, pred: np.ndarray, truth: np.ndarray, labels: np.ndarray) -> dict:
    l1, psnr = l1_psnr(pred, truth)
    read = reader_accuracy(reader, np.ascontiguousarray(for_reader(name, pred)), labels)
    return {"l1": round(l1, 4), "psnr_db": round(psnr, 2), "ssim": round(ssim(pred, truth), 4),
            "reader_accuracy": round(read, 4)}


def stargan_outputs(work: Path, quarters: dict, held: dict, budget: float, extra: list[str]):
    """Train and export stargan; its translations of every held-out T_i(x) to every j, and the
    exported domain head's accuracy on the held-out T_i(x)."""
    from gansrv.runtime import Classifier, Translator

    data = write_domain_folders(work / "domains", quarters)
    run = train("stargan", data, work / "stargan", budget, (*STARGAN_ARGS, *extra))
    model = work / "stargan.onnx"
    run_gansrv(["export", str(work / "stargan"), "-o", str(model)], quiet=True)
    t = Translator.from_file(model, provider="cpu")
    outs = {(i, j): t.translate(held[i][..., None], 200, to=j)[..., 0]
            for i in DOMAINS for j in DOMAINS if i != j}
    head = Classifier.from_file(model.with_name("stargan.classifier.onnx"), provider="cpu")
    names = head.class_names
    correct = sum(int((head.predict(held[i]).labels == names.index(i)).sum()) for i in DOMAINS)
    return outs, correct / (len(DOMAINS) * len(held[DOMAINS[0]])), run


def cyclegan_outputs(work: Path, held: dict, budget: float):
    """Six cyclegans, one per unordered pair (i, j), on the quarters stargan trained on (trainA/
    and trainB/ link to its domain folders): G_AB gives i -> j and G_BA j -> i."""
    from gansrv.runtime import Translator

    outs, runs = {}, []
    for i, j in itertools.combinations(DOMAINS, 2):
        root = work / f"cyclegan-{i}-{j}"
        data = root / "domains"
        data.mkdir(parents=True)
        (data / "trainA").symlink_to(work / "domains" / i, target_is_directory=True)
        (data / "trainB").symlink_to(work / "domains" / j, target_is_directory=True)
        runs.append(train("cyclegan", data, root / "run", budget, CYCLEGAN_ARGS))
        model = root / "m.onnx"
        run_gansrv(["export", str(root / "run"), "-o", str(model)], quiet=True)
        for src, dst, path in ((i, j, model), (j, i, model.with_name("m.generator_ba.onnx"))):
            t = Translator.from_file(path, provider="cpu")
            outs[(src, dst)] = t.translate(held[src][..., None], 200)[..., 0]
    return outs, runs


def main(argv: list[str] | None = None) -> int:
    p = translation_parser(__doc__, "stargan", 600.0,
                           "stargan's training seconds; the six cyclegans get budget/6 each (default 600).",
                           "Training digits (<= 8,000): a quarter per domain.")
    a = parse_train_count(p, argv, 8)
    info = machine_info()
    print_machine(info)
    from mnist_classifier import train_or_load_classifier

    from gansrv.data.idx import find_idx_pair, load_idx

    data = Path(a.data)
    labels = load_idx(*find_idx_pair(data)).labels[TRAIN_COUNT:TRAIN_COUNT + HELD_OUT]
    x = mnist_digits(data, TRAIN_COUNT, HELD_OUT, SIZE)
    held = {d: domain_images(d, x) for d in DOMAINS}
    digits, q = mnist_digits(data, 0, a.train, SIZE), a.train // len(DOMAINS)
    quarters = {d: domain_images(d, digits[k * q:(k + 1) * q]) for k, d in enumerate(DOMAINS)}
    with tempfile.TemporaryDirectory(prefix="stargan-mnist-") as tmp:
        star, domain_acc, star_run = stargan_outputs(Path(tmp), quarters, held, a.budget, a.extra)
        cyc, cyc_runs = cyclegan_outputs(Path(tmp), held, a.budget / 6)
    reader, reader_real = train_or_load_classifier(data, log=lambda m: None)
    figures, real_read = report(reader, labels, held, star, cyc)
    steps = star_run[1][-1]["step"] if star_run[1] else 0
    print(f"stargan steps: {steps}; cyclegan steps: "
          f"{[r[1][-1]['step'] if r[1] else 0 for r in cyc_runs]}")
    print(f"domain head (exported classifier) accuracy on the 4 x {HELD_OUT} held-out images: "
          f"{domain_acc:.4f}; reader on the real held-out digits: {reader_real:.4f}")
    finish_machine(info)
    print(f"load average at end: {' '.join(map(str, info['loadavg_end'] or []))}")
    if a.json:
        write_json(a.json, {"machine": info, "command": ["gansrv", *star_run[0]],
                            "cyclegan_commands": [["gansrv", *r[0]] for r in cyc_runs],
                            "budget_s": a.budget, "train_digits": a.train, "held_out": HELD_OUT,
                            "stargan_steps": steps,
                            "cyclegan_steps": [r[1][-1]["step"] if r[1] else 0 for r in cyc_runs],
                            "figures": figures, "reader_on_real": real_read,
                            "domain_accuracy": round(domain_acc, 4),
                            "last_metrics": star_run[1][-1] if star_run[1] else None})
    return 0


def report(reader, labels, held, star, cyc) -> tuple[dict, dict]:
    """Print and return the per-pair figures, the means and the targets' verdicts."""
    real_read = {j: round(reader_accuracy(reader, for_reader(j, held[j]), labels), 4) for j in DOMAINS}
    print(f"\n{'pair':<18} {'prediction':<10} {'L1':>7} {'PSNR dB':>8} {'SSIM':>7} {'reader':>7}")
    figures: dict = {}
    for i, j in ((i, j) for i in DOMAINS for j in DOMAINS if i != j):
        row = figures[f"{i}->{j}"] = {}
        for name, pred in (("stargan", star[(i, j)]), ("cyclegan", cyc[(i, j)]), ("input", held[i])):
            f = row[name] = score(reader, j, pred, held[j], labels)
            print(f"{i + '->' + j:<18} {name:<10} {f['l1']:7.4f} {f['psnr_db']:8.2f} {f['ssim']:7.4f} "
                  f"{f['reader_accuracy']:7.4f}")
        row["reader_on_real_target"] = real_read[j]
    means = {n: {k: round(float(np.mean([r[n][k] for r in figures.values()])), 4)
                 for k in ("l1", "psnr_db", "ssim", "reader_accuracy")}
             for n in ("stargan", "cyclegan", "input")}
    figures["mean"] = means
    beats = [p for p, r in figures.items() if p != "mean" and r["stargan"]["ssim"] > r["input"]["ssim"]
             and r["stargan"]["l1"] < r["input"]["l1"]]
    readable = [p for p, r in figures.items() if p != "mean"
                and r["stargan"]["reader_accuracy"] >= 0.9 * r["reader_on_real_target"]]
    for n, m in means.items():
        print(f"mean over 12 pairs, {n:<9} L1 {m['l1']:.4f}  PSNR {m['psnr_db']:.2f}  SSIM "
              f"{m['ssim']:.4f}  reader {m['reader_accuracy']:.4f}")
    print(f"stargan beats the unchanged input on SSIM and L1 in {len(beats)}/12 pairs; reader on its "
          f"outputs >= 90 % of the reader on the real targets in {len(readable)}/12 pairs")
    print(f"reader on the real targets: {real_read}")
    figures["verdicts"] = {"beats_input": beats, "readable": readable}
    return figures, real_read


if __name__ == "__main__":
    sys.exit(main())
