"""Why began collapses on MNIST within a few hundred seconds (issue 23): two measurements on the
plugin's own networks (``gansrv.kits.autoencoder.build_players``) and losses (``gansrv.nn.energy``).

- ``autoencoder``: D alone, trained as a plain autoencoder on real images, its reconstruction error
  every 100 steps against the error of predicting every pixel's median (an "all background" image):
  whether D learns anything at a given learning rate and energy before a game can depend on it.
- ``game``: the BEGAN step (eq. 4: D on L(x) - k_t L(G(z)), G on L(G(z)), the k_t control) in a
  plain loop with options the CLI does not have (a separate learning rate for D), then FID and
  precision/recall of 1,000 samples against the held-out last 2,000 in the cached evaluator's
  features (the features ``gansrv eval`` uses; its figures need an export, these need none), and
  an 8 x 8 sample grid. The loop has no data-efficient augmentation and draws its own noise, so its
  runs are trials of options, not ``gansrv train`` runs.

    python benchmarks/began_diagnosis.py autoencoder --lr 1e-4 --steps 401
    python benchmarks/began_diagnosis.py game --name base --steps 1300 --json trials.jsonl
    python benchmarks/began_diagnosis.py game --name fast-d --lr-d 1e-3 --gamma 1.0 --lambda-k 0.01
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from gansrv.kits.autoencoder import build_players
from gansrv.metrics import distances
from gansrv.metrics.evaluator import get_evaluator
from gansrv.metrics.recipe import Recipe
from gansrv.metrics.split import load_split
from gansrv.nn import energy as E
from gansrv.nn.optim import update

MNIST = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"
LATENT = 64


def players(a: argparse.Namespace) -> dict[str, torch.nn.Module]:
    cfg = SimpleNamespace(conditional=False, embed_dim=16, image_size=28, latent_dim=LATENT,
                          g_width=a.g_width, d_width=a.d_width, code_dim=a.code_dim, g_norm=a.g_norm)
    return build_players(cfg, 1, 10, a.energy)


def adam(module: torch.nn.Module, lr: float) -> torch.optim.Adam:
    return torch.optim.Adam(module.parameters(), lr, betas=(0.5, 0.999))


def autoencoder(a: argparse.Namespace, x: torch.Tensor) -> None:
    D = players(a)["D"]
    opt, gen = adam(D, a.lr_d), torch.Generator().manual_seed(a.seed)
    probe = x[:512]
    median = (probe - x.median(0).values).abs().mean().item()
    t = time.time()
    for s in range(a.steps):
        update(opt, D(x[torch.randint(0, len(x), (a.batch,), generator=gen)])[0].mean())
        if s % 100 == 0 or s == a.steps - 1:
            with torch.no_grad():
                err = (D(probe)[1] - probe).abs().mean().item()
            print(f"step {s}: L1 reconstruction error {err:.4f} (median image: {median:.4f}), "
                  f"{time.time() - t:.0f} s", flush=True)


def game(a: argparse.Namespace, x: torch.Tensor) -> tuple[torch.nn.Module, dict]:
    P = players(a)
    G, D = P["G"], P["D"]
    opt_g, opt_d, gen = adam(G, a.lr_g), adam(D, a.lr_d), torch.Generator().manual_seed(a.seed)
    k, t = a.k0, time.time()
    for s in range(a.steps):
        real = x[torch.randint(0, len(x), (a.batch,), generator=gen)]
        with torch.no_grad():
            fake = G(torch.randn(a.batch, LATENT, generator=gen))
        real_energy, fake_energy = D(real)[0], D(fake)[0]
        update(opt_d, E.began_d_loss(real_energy, fake_energy, k))
        D.requires_grad_(False)
        loss_g = D(G(torch.randn(a.batch, LATENT, generator=gen)))[0].mean()
        update(opt_g, loss_g)
        D.requires_grad_(True)
        lx, lg = real_energy.mean().item(), loss_g.item()
        k = E.began_k_update(k, lx, lg, a.gamma, a.lambda_k)
        if s % 200 == 0 or s == a.steps - 1:
            print(f"step {s}: L(x) {lx:.4f} L(G) {lg:.4f} k_t {k:.4f} "
                  f"M {E.convergence_measure(lx, lg, a.gamma):.4f}, {time.time() - t:.0f} s", flush=True)
    return G, {"train_s": round(time.time() - t), "k_end": round(k, 4)}


def score(G: torch.nn.Module, split, n: int) -> tuple[dict, np.ndarray]:
    evaluator = get_evaluator(split.train, Recipe(), print)
    G.eval()
    with torch.no_grad():
        z = torch.randn(n, LATENT, generator=torch.Generator().manual_seed(99))
        images = ((G(z).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).numpy()
    _, test_feat = evaluator.run(split.test.images)
    _, fake_feat = evaluator.run(images)
    precision, recall = distances.precision_recall(test_feat, fake_feat, 3)
    return {"fid": round(distances.frechet_distance(test_feat, fake_feat), 2),
            "precision": round(precision, 3), "recall": round(recall, 3)}, images


def save_grid(images: np.ndarray, path: Path) -> None:
    from PIL import Image

    grid = images[:64, 0].reshape(8, 8, 28, 28).transpose(0, 2, 1, 3).reshape(224, 224)
    Image.fromarray(grid).save(path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=("autoencoder", "game"))
    p.add_argument("--name", default="trial")
    p.add_argument("--data", default=str(MNIST))
    p.add_argument("--steps", type=int, default=1300, help="1,300: what 300 s gave on a quiet machine")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr-g", type=float, default=1e-4)
    p.add_argument("--lr-d", "--lr", type=float, default=1e-4)
    p.add_argument("--gamma", type=float, default=0.5)
    p.add_argument("--lambda-k", type=float, default=1e-3)
    p.add_argument("--k0", type=float, default=0.0)
    p.add_argument("--energy", choices=("l1", "l2"), default="l1")
    p.add_argument("--g-width", type=int, default=64)
    p.add_argument("--d-width", type=int, default=64)
    p.add_argument("--code-dim", type=int, default=64)
    p.add_argument("--g-norm", choices=("none", "batch"), default="none")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n", type=int, default=1000, help="samples scored")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", type=Path, help="append the trial's figures here (JSON lines)")
    p.add_argument("--grid-dir", type=Path, default=Path("."))
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    split = load_split([a.data], train_limit=8000)
    x = torch.tensor(split.train.images).float() / 127.5 - 1
    if a.what == "autoencoder":
        return autoencoder(a, x)
    G, figures = game(a, x)
    scored, images = score(G, split, a.n)
    row = {"name": a.name, **{k: v for k, v in vars(a).items() if k not in ("json", "grid_dir", "data")},
           **figures, **scored}
    print(json.dumps(row, default=str), flush=True)
    if a.json:
        with a.json.open("a") as f:
            f.write(json.dumps(row, default=str) + "\n")
    save_grid(images, a.grid_dir / f"began-{a.name}.png")


if __name__ == "__main__":
    main()
