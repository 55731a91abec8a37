"""The one small CNN every gansrv metric trains: the evaluator, the CAS classifier and the
augmentation classifier are this network with this recipe, so their accuracies compare.

It started as the MNIST judge of ``benchmarks/cgan_mnist.py`` (99.2 % on the held-out 2,000) and
keeps its weights layout, so that benchmark's cached reader still loads. This module imports torch:
only code that trains imports it (inside functions); a cached evaluator is used through its ONNX
export (:mod:`gansrv.metrics.evaluator`), without torch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gansrv.metrics.recipe import Recipe

MIN_SIZE, MAX_SIZE = 8, 256  # image sides the network is built for


class SmallCNN(nn.Module):
    """Two conv blocks (conv, BN, ReLU, 2x2 max-pool), pooled to 7x7, then a two-layer head.

    ``forward`` returns the logits; :meth:`logits_and_features` also returns the ReLU output of the
    hidden layer: the embedding in which generated and real sets are compared.
    """

    def __init__(self, channels: int = 1, num_classes: int = 10, size: int = 28,
                 widths: tuple[int, int] = (16, 32), hidden: int = 128, dropout: float = 0.3):
        super().__init__()
        a, b = widths
        # At 28 px the grid is already 7x7; an adaptive pool there would be a no-op node in the graph.
        pool: nn.Module = nn.Identity() if size // 4 == 7 else nn.AdaptiveAvgPool2d(7)
        self.features = nn.Sequential(
            nn.Conv2d(channels, a, 3, padding=1, bias=False), nn.BatchNorm2d(a), nn.ReLU(True),
            nn.MaxPool2d(2),
            nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True), nn.MaxPool2d(2),
            pool,
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(b * 7 * 7, hidden), nn.ReLU(True),
                                  nn.Dropout(dropout), nn.Linear(hidden, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def logits_and_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.head[2](self.head[1](self.head[0](self.features(x))))
        return self.head[4](self.head[3](h)), h


class _Both(nn.Module):
    """The graph exported to ONNX: image -> (logits, features)."""

    def __init__(self, net: SmallCNN):
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net.logits_and_features(image)


def build(recipe: Recipe, channels: int, num_classes: int, size: int) -> SmallCNN:
    return SmallCNN(channels, num_classes, size, tuple(recipe.widths), recipe.hidden, recipe.dropout)


def to_unit(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float in [-1, 1], the range generators produce."""
    return torch.from_numpy(np.ascontiguousarray(images)).float().div_(127.5).sub_(1.0)


def random_shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Translate each image by up to ``max_shift`` pixels, padding with the background (-1).

    It makes the classifier tolerant of generated digits that are not perfectly centred.
    """
    if max_shift == 0:
        return x
    n, c, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None].expand(n, c, h, w + 2 * max_shift)
    out = padded.gather(2, rows)
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :].expand(n, c, h, w)
    return out.gather(3, cols)


def train(images: np.ndarray, labels: np.ndarray, num_classes: int, recipe: Recipe | None = None,
          log: Callable[[str], None] | None = None) -> SmallCNN:
    """Adam with a one-cycle schedule; seeded and run on ``recipe.threads`` threads, so the same
    data and recipe give the same weights.

    ``images`` uint8 (N, C, H, W), ``labels`` int (N,). Returns the network in eval mode.
    """
    recipe = recipe or Recipe()
    saved = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    try:
        return _train(images, labels, num_classes, recipe, log)
    finally:
        torch.set_num_threads(saved)


def _train(images: np.ndarray, labels: np.ndarray, num_classes: int, recipe: Recipe,
           log: Callable[[str], None] | None) -> SmallCNN:
    x, y = to_unit(images), torch.from_numpy(np.asarray(labels, dtype=np.int64))
    torch.manual_seed(recipe.seed)
    gen = torch.Generator().manual_seed(recipe.seed + 1)
    model = build(recipe, x.shape[1], num_classes, x.shape[2])
    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    bs = min(recipe.batch_size, len(x))
    per_epoch = len(x) // bs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, recipe.lr, total_steps=recipe.epochs * per_epoch)
    model.train()
    for epoch in range(recipe.epochs):
        order = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(per_epoch):
            idx = order[i * bs:(i + 1) * bs]
            loss = F.cross_entropy(model(random_shift(x[idx], recipe.shift, gen)), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        if log:
            log(f"  classifier epoch {epoch + 1}/{recipe.epochs}: loss {total / per_epoch:.4f}")
    return model.eval()


def train_mixed(real: tuple[np.ndarray, np.ndarray], fake: tuple[np.ndarray, np.ndarray] | None,
                mix: float, steps: int, num_classes: int, recipe: Recipe | None = None,
                log: Callable[[str], None] | None = None) -> SmallCNN:
    """The same network and optimiser for a fixed number of ``steps``, each batch holding
    round(``mix`` * batch) generated images and the rest real: how a user mixes a synthetic set
    into a small labelled one. ``fake`` None or ``mix`` 0 trains on real images only, for the same
    steps, so a gain is never bought with more updates. Each source is drawn in its own seeded
    shuffled epochs; ``real``/``fake`` are (uint8 NCHW images, labels)."""
    recipe = recipe or Recipe()
    saved = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    try:
        return _train_mixed(real, fake if mix > 0 else None, mix, steps, num_classes, recipe, log)
    finally:
        torch.set_num_threads(saved)


class _Draws:
    """Endless batches of one source: shuffled epochs from a seeded generator."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, gen: torch.Generator):
        self.x, self.y = to_unit(images), torch.from_numpy(np.asarray(labels, dtype=np.int64))
        self.gen, self.order, self.pos = gen, torch.empty(0, dtype=torch.long), 0

    def take(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        parts = []
        while k > 0:
            if self.pos >= len(self.order):
                self.order, self.pos = torch.randperm(len(self.x), generator=self.gen), 0
            idx = self.order[self.pos:self.pos + k]
            self.pos += len(idx)
            k -= len(idx)
            parts.append(idx)
        idx = torch.cat(parts)
        return self.x[idx], self.y[idx]


def _train_mixed(real, fake, mix, steps, num_classes, recipe, log) -> SmallCNN:
    torch.manual_seed(recipe.seed)
    gen = torch.Generator().manual_seed(recipe.seed + 1)
    reals = _Draws(*real, gen)
    fakes = None if fake is None else _Draws(*fake, gen)
    model = build(recipe, reals.x.shape[1], num_classes, reals.x.shape[2])
    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, recipe.lr, total_steps=steps)
    bs = recipe.batch_size
    k = 0 if fakes is None else min(bs, max(1, round(mix * bs)))
    model.train()
    for _ in range(steps):
        x, y = reals.take(bs - k) if k < bs else (reals.x[:0], reals.y[:0])
        if k:
            fx, fy = fakes.take(k)
            x, y = torch.cat([x, fx]), torch.cat([y, fy])
        loss = F.cross_entropy(model(random_shift(x, recipe.shift, gen)), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    if log:
        log(f"  classifier: {steps} steps, {k}/{bs} generated per batch, last loss {loss.item():.4f}")
    return model.eval()


@torch.no_grad()
def predict(model: nn.Module, images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Predicted labels (int64, N) for uint8 (N, C, H, W) images."""
    model.eval()
    preds = [model(to_unit(images[i:i + batch_size])).argmax(1) for i in range(0, len(images), batch_size)]
    return torch.cat(preds).numpy() if preds else np.empty(0, dtype=np.int64)


def accuracy(model: nn.Module, images: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(predict(model, images) == np.asarray(labels)))


def export_onnx(model: SmallCNN, path: str, example: np.ndarray, metadata: dict[str, str]) -> float:
    """Write ``image -> (logits, features)`` to ``path`` (dynamic batch, one file); return the max
    |onnxruntime - torch| on ``example`` so a broken export is caught before it is cached."""
    from gansrv.export.onnx_export import export_program
    from gansrv.family import ExportSpec
    from gansrv.runtime.session import session

    both = _Both(model).eval()
    x = to_unit(example)
    spec = ExportSpec("evaluator", both, {"image": x[:2]}, outputs=["logits", "features"])
    prog = export_program(both, spec, 20)
    for key, value in metadata.items():
        prog.model.metadata_props[key] = value
    prog.save(path, external_data=False)
    with torch.no_grad():
        want = [t.numpy() for t in both(x)]
    got = session(path, "cpu", cache=False).run(["logits", "features"], {"image": x.numpy()})
    return max(float(np.max(np.abs(g - w))) for g, w in zip(got, want))
