"""The Gradio page: one model picker, the control groups of each model kind, a stable API.

API names (``gradio_client``'s ``api_name=``) are part of the interface and must not change:
``/generate``, ``/one_of_each``, ``/interpolate``, ``/download_zip`` (noise and conditional models),
``/generate_codes`` (code models), ``/translate`` (image→image models; model, file and, for a
multi-domain model, the target domain by name), ``/model_card``, ``/ping``
(a trivial health endpoint; the latency benchmark compares against it). The page's own model-switch
event is private. Every component a test or a user script drives has an ``elem_id``.

Gradio 6: theme and css go to ``launch()``; images are PNG (``format="png"``; the webp default is
lossy); the model Dropdown rejects names outside the configured list before our code runs.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from gansrv.demo import actions
from gansrv.demo.auth import Credentials
from gansrv.demo.guard import Guard, RateLimit, Throttle
from gansrv.demo.models import CONTROL_GROUPS, MAX_CODES, DemoModel, Limits, card_markdown, model_card
from gansrv.errors import UserError
from gansrv.kinds import Kind

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home from a demo
# Gradio's queue rebuilds a pandas summary of its last 10,000 events after every event (3-8 ms of CPU
# per call, measured) for a /monitoring page the demo never enables: keep fewer, rebuild rarely.
# Read when the queue is created (build_app), so setting them here is in time even after an import.
ANALYTICS_EVENTS = "1000"
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", ANALYTICS_EVENTS)
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", ANALYTICS_EVENTS)
import anyio  # noqa: E402 - gradio's own dependency
import gradio as gr  # noqa: E402 - after the environment it reads at import
from starlette.middleware import Middleware  # noqa: E402 - gradio's own dependency

CSS = """
#gallery img, #strip img, #translate-input img, #translate-output img { image-rendering: pixelated; }
#strip img, #translate-input img, #translate-output img { width: 100%; height: 100%; object-fit: contain; }
"""
KEEP_ZIPS = 32  # newest zip files kept in the app's temporary folder


def build_app(models: dict[str, DemoModel], limits: Limits | None = None,
              examples: Sequence[Path] = ()) -> gr.Blocks:
    """The Blocks app for the configured models (the first one is selected at start).

    ``examples``: image files offered as examples for image→image models.
    """
    limits = (limits or Limits()).check()
    if not models:
        raise UserError("no models to serve")
    with gr.Blocks(title="gansrv demo", delete_cache=(3600, 3600)) as app:
        gr.Markdown("# gansrv demo\nImages from exported GAN generators, run with onnxruntime.")
        ui = _layout(models, limits, examples)
        _wire(app, ui, models, limits)
    app.queue(max_size=limits.queue_size, default_concurrency_limit=limits.concurrency)
    app.gansrv_limits = limits  # read by launch()
    return app


def _layout(models: dict[str, DemoModel], limits: Limits, examples: Sequence[Path]) -> SimpleNamespace:
    """Every control group once; each is a list of columns shown when the model's kind uses it."""
    first = next(iter(models.values()))
    groups: dict[str, list] = {g: [] for g in CONTROL_GROUPS}

    def group(name: str, **kw: Any) -> gr.Column:
        col = gr.Column(visible=name in first.controls, elem_id=f"controls-{name}-{len(groups[name])}", **kw)
        groups[name].append(col)
        return col

    ui = SimpleNamespace(groups=groups)
    ui.model = gr.Dropdown(list(models), value=first.name, label="Model", elem_id="model")
    with gr.Row():
        with gr.Column(scale=1):
            with group("sampling"):
                ui.seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=actions.MAX_SEED,
                                    elem_id="seed")
                ui.count = gr.Slider(1, limits.max_images, value=min(16, limits.max_images), step=1,
                                     label="Number of images", elem_id="count")
                ui.truncation = gr.Slider(0, actions.MAX_TRUNCATION, value=0, step=0.05,
                                          label="Truncation (0 = off)", elem_id="truncation")
            with group("class"):
                ui.class_name = gr.Dropdown(_class_choices(models.values()), value=actions.ALL_CLASSES,
                                            label="Class", elem_id="class")
            with group("codes"):
                lo = min([m.code_range[0] for m in models.values() if m.code_dim] or [-2.0])
                hi = max([m.code_range[1] for m in models.values() if m.code_dim] or [2.0])
                ui.codes = [gr.Slider(lo, hi, value=0, step=0.01, label=f"Code {i + 1}",
                                      elem_id=f"code-{i + 1}", visible=i < first.code_dim)
                            for i in range(MAX_CODES)]
                ui.codes_btn = gr.Button("Generate", variant="primary", elem_id="generate-codes")
            with group("batch"):
                ui.each_btn = gr.Button("One of each class", elem_id="one-of-each",
                                        visible=first.kind == Kind.CONDITIONAL)
                ui.generate_btn = gr.Button("Generate", variant="primary", elem_id="generate")
                ui.zip_btn = gr.Button("Download as zip", elem_id="zip")
                ui.zip_file = gr.File(label="zip", height=90, elem_id="zip-file")
            with group("upload"):
                # gr.File, not gr.Image: Gradio would decode the upload before our size check could run
                ui.upload = gr.File(label="Image to translate", file_types=["image"], type="filepath",
                                    elem_id="upload")
                # a multi-domain model's target domain (stargan); hidden for one-way models
                ui.domain = gr.Dropdown(_domain_choices(models.values()), value=(first.domains or [None])[0],
                                        label="Target domain", elem_id="domain", visible=bool(first.domains))
                if examples:
                    gr.Examples([[str(p)] for p in examples], inputs=[ui.upload], label="Examples")
                ui.translate_btn = gr.Button("Translate", variant="primary", elem_id="translate")
        with gr.Column(scale=2):
            with group("sampling"):
                ui.gallery = gr.Gallery(label="Images", format="png", columns=6, height="auto",
                                        object_fit="contain", elem_id="gallery")
            with group("upload"), gr.Row():
                ui.seen = gr.Image(label="Input (as the model sees it)", format="png", interactive=False,
                                   height=320, elem_id="translate-input")
                ui.translated = gr.Image(label="Output", format="png", interactive=False, height=320,
                                         elem_id="translate-output")
    with group("batch"), gr.Accordion("Latent interpolation", open=False):
        with gr.Row():
            ui.seed_a = gr.Number(0, label="Seed A", precision=0, minimum=0, maximum=actions.MAX_SEED)
            ui.seed_b = gr.Number(1, label="Seed B", precision=0, minimum=0, maximum=actions.MAX_SEED)
            ui.steps = gr.Slider(2, limits.max_steps, value=min(8, limits.max_steps), step=1, label="Steps")
        ui.interp_btn = gr.Button("Interpolate", elem_id="interpolate")
        ui.strip = gr.Image(label="Strip", format="png", type="numpy", interactive=False, height=160,
                            elem_id="strip")
    with gr.Accordion("Model card", open=True):
        ui.card = gr.Markdown(elem_id="card")
    return ui


def _wire(app: gr.Blocks, ui: SimpleNamespace, models: dict[str, DemoModel], limits: Limits) -> None:
    """The events, each under its stable API name (the model switch is private)."""
    zips = Path(tempfile.mkdtemp(prefix="gansrv-demo-"))

    def pick(name: str) -> DemoModel:
        if name not in models:
            raise UserError(f"unknown model {name!r}; served: {', '.join(models)}")
        return models[name]

    noise_in = [ui.model, ui.seed, ui.count, ui.truncation, ui.class_name]
    ui.generate_btn.click(_errors(lambda m, *a: _batch(pick(m), limits, *a)), noise_in, ui.gallery,
                          api_name="generate")
    ui.each_btn.click(_errors(lambda m, *a: _each(pick(m), *a)),
                      [ui.model, ui.seed, ui.truncation], ui.gallery, api_name="one_of_each")
    ui.interp_btn.click(_errors(lambda m, *a: actions.interpolate(pick(m), limits, *a)),
                        [ui.model, ui.seed_a, ui.seed_b, ui.steps, ui.truncation, ui.class_name], ui.strip,
                        api_name="interpolate")
    ui.zip_btn.click(_errors(lambda *a: _write_zip(zips, pick(a[0]), limits, *a[1:])), noise_in,
                     ui.zip_file, api_name="download_zip")
    ui.codes_btn.click(_errors(lambda m, *a: _code_batch(pick(m), limits, *a)),
                       [*noise_in, *ui.codes], ui.gallery, api_name="generate_codes")
    translated = ui.translate_btn.click(
        _errors(lambda m, f, d=None: actions.translate(pick(m), limits, f, d)),
        [ui.model, ui.upload, ui.domain], [ui.seen, ui.translated], api_name="translate")
    translated.success(lambda m, d: gr.update(label=f"Output: to {d}" if pick(m).domains else "Output"),
                       [ui.model, ui.domain], ui.translated, api_visibility="private")  # its domain

    def select(name: str) -> list:
        m = pick(name)
        shown = [gr.update(visible=g in m.controls) for g, cols in ui.groups.items() for _ in cols]
        lo, hi = m.code_range
        return [*shown, gr.update(choices=[actions.ALL_CLASSES, *m.class_names], value=actions.ALL_CLASSES,
                                  label="Categorical code" if m.kind == Kind.CODE else "Class"),
                 gr.update(visible=m.kind == Kind.CONDITIONAL or m.categorical_only),
                 gr.update(choices=m.domains, value=(m.domains or [None])[0], visible=bool(m.domains)),
                *[gr.update(visible=i < m.code_dim, minimum=lo, maximum=hi) for i in range(MAX_CODES)],
                card_markdown(model_card(m))]

    select_out = [*(c for cols in ui.groups.values() for c in cols), ui.class_name, ui.each_btn, ui.domain,
                  *ui.codes, ui.card]
    def first(name: str, seed: float, count: float, truncation: float | None, *codes: float | None) -> Any:
        """A first batch for the page's current seed and count, all classes: the page never opens
        (or switches model) on an empty gallery. Codes are kept within the model's range."""
        m = pick(name)
        if m.kind == Kind.IMAGE:
            return []
        if m.generator is None:
            lo, hi = m.code_range
            kept = [min(hi, max(lo, 0.0 if c is None else float(c))) for c in codes]
            return _code_batch(m, limits, seed, count, truncation, actions.ALL_CLASSES, *kept)
        return _batch(m, limits, seed, count, truncation, actions.ALL_CLASSES)

    first_in = [ui.model, ui.seed, ui.count, ui.truncation, *ui.codes]
    for event in (ui.model.change, app.load):
        event(_errors(select), ui.model, select_out, api_visibility="private").then(
            _errors(first), first_in, ui.gallery, api_visibility="private")

    def card_api(model: str) -> dict:
        """The model card of a served model (metadata, parity error, metrics) as JSON."""
        return model_card(pick(model))

    def ping() -> str:
        """A trivial endpoint: Gradio's own cost per call, for comparison and health checks."""
        return "pong"

    gr.api(_errors(card_api), api_name="model_card")
    gr.api(ping, api_name="ping")


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int | None = 7860,
           credentials: Credentials | None = None, throttle: Throttle | None = None,
           rate_limit: int = 0, **kwargs: Any) -> Any:
    """Start the server (blocking unless ``prevent_thread_lock=True``); loopback unless told.

    ``credentials``: the accounts every route then needs (gansrv.demo.guard covers the routes
    Gradio's own ``auth=`` leaves open); ``rate_limit``: actions per address per minute (0: none).
    A self-signed ``ssl_certfile`` is fine: Gradio's start-up self-check then skips verification.
    """
    limits: Limits = app.gansrv_limits
    guard = Middleware(Guard, login=credentials is not None, throttle=throttle,
                       rate=RateLimit(rate_limit) if rate_limit else None)
    if credentials is not None:
        kwargs["auth"] = _checker(credentials)
        kwargs.setdefault("auth_message", "gansrv demo: log in with an account of the server's auth file")
    if kwargs.get("ssl_certfile"):
        kwargs.setdefault("ssl_verify", False)
    return app.launch(server_name=host, server_port=port, css=CSS, max_file_size=limits.max_upload_bytes,
                      ssr_mode=False, footer_links=["api"], app_kwargs={"middleware": [guard]}, **kwargs)


def _checker(credentials: Credentials) -> Callable:
    """Gradio's ``auth=`` callable; scrypt runs in a worker thread, off the event loop."""
    async def check(username: str, password: str) -> bool:
        return await anyio.to_thread.run_sync(credentials.check, username, password)
    return check


def _class_choices(models: Any) -> list[str]:
    """All class names of all models (the browser narrows them to the selected model's)."""
    seen: dict[str, None] = {actions.ALL_CLASSES: None}
    for m in models:
        seen.update(dict.fromkeys(m.class_names))
    return list(seen)


def _domain_choices(models: Any) -> list[str]:
    """All target domains of all models (the browser narrows them to the selected model's)."""
    seen: dict[str, None] = {}
    for m in models:
        seen.update(dict.fromkeys(m.domains))
    return list(seen)


def _errors(fn: Callable) -> Callable:
    """Bad input becomes a Gradio error with our one-line message (AppError for gradio_client)."""
    @functools.wraps(fn)
    def wrapped(*args: Any) -> Any:
        try:
            return fn(*args)
        except UserError as exc:
            raise gr.Error(exc.format_message(), print_exception=False) from None
    return wrapped


def _batch(model: DemoModel, limits: Limits, seed: float, count: float, truncation: float | None,
           class_name: str | None) -> list[tuple[Any, str]]:
    """/generate's images, each captioned with its index and class."""
    images = actions.generate(model, limits, seed, count, truncation, class_name)
    return list(zip(images, actions.captions(model, len(images), class_name)))


def _each(model: DemoModel, seed: float, truncation: float | None) -> list[tuple[Any, str]]:
    """/one_of_each's images: image i is class i (balanced labels)."""
    images = [im for im, _ in actions.one_of_each(model, seed, truncation)]
    return list(zip(images, actions.captions(model, len(images))))


def _code_batch(model: DemoModel, limits: Limits, seed: float, count: float, truncation: float | None,
                class_name: str | None, *codes: float | None) -> list[tuple[Any, str]]:
    """/generate_codes's images, captioned with index, categorical code and code values."""
    images = actions.generate_codes(model, limits, seed, count, truncation, class_name, *codes)
    values = tuple(0.0 if c is None else float(c) for c in codes[:model.code_dim])
    values += (0.0,) * (model.code_dim - len(values))
    return list(zip(images, actions.captions(model, len(images), class_name, values)))


def _write_zip(folder: Path, model: DemoModel, limits: Limits, seed: float, count: float,
               truncation: float | None, class_name: str | None) -> str:
    images = actions.generate(model, limits, seed, count, truncation, class_name)
    request = {"seed": int(seed), "count": int(count), "truncation": actions.truncation_arg(truncation),
               "class_name": class_name}
    data = actions.zip_bytes(model, images, request)
    for old in sorted(folder.glob("*.zip"), key=lambda p: p.stat().st_mtime)[:-KEEP_ZIPS]:
        old.unlink(missing_ok=True)
    fd, path = tempfile.mkstemp(prefix=f"{model.name}-seed{int(seed)}-", suffix=".zip", dir=folder)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path
