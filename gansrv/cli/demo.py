"""``gansrv demo``: serve exported generators in a browser (and through gradio_client).

gradio takes seconds to import, so it is imported inside the command body only; ``gansrv --help``
and shell completion never pay for it.
"""

from __future__ import annotations

from pathlib import Path

import click

from gansrv.cli.options import provider_option
from gansrv.demo.limits import DEFAULT_THREADS, MAX_THREADS, Limits

_D = Limits()
MAX_EXAMPLES = 32
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


@click.command()
@click.argument("models", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--models-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Serve every generator .onnx in this folder (default: exported/ when no MODELS given).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; anything but loopback exposes the demo to the network.")
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True)
@click.option("--max-images", type=click.IntRange(1, 1024), default=_D.max_images, show_default=True,
              help="Most images one request may ask for.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=_D.concurrency, show_default=True,
              help="Requests run at once.")
@click.option("--queue-size", type=click.IntRange(1, 10_000), default=_D.queue_size, show_default=True,
              help="Requests allowed to wait; beyond it Gradio answers 'queue full'.")
@click.option("--max-upload-mb", type=click.FloatRange(0.01, 1024), default=_D.max_upload_bytes / 1024**2,
              show_default=True, help="Largest file the upload route accepts.")
@click.option("--examples", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=f"Folder of example images for image→image models (first {MAX_EXAMPLES}, by name).")
@provider_option()
@click.option("--threads", type=click.IntRange(0, MAX_THREADS), default=DEFAULT_THREADS, show_default=True,
              help="onnxruntime threads per model (0: its default, one per core). 1 leaves the cores to "
                   "concurrent requests; raise it for large image→image models and few users.")
def demo(models: tuple[Path, ...], models_dir: Path | None, host: str, port: int, max_images: int,
         concurrency: int, queue_size: int, max_upload_mb: float, examples: Path | None,
         provider: str, threads: int) -> None:
    """Gradio demo of exported models: MODEL.onnx ... or --models-dir DIR.

    The page and the API name models by file stem, from this list only. API names: /generate,
    /one_of_each, /interpolate, /download_zip, /generate_codes, /translate, /model_card, /ping.
    """
    from gansrv.extras import require

    require("serve", "demo", what="gansrv demo")
    from gansrv.demo.models import load_models

    example_files = _examples(examples)

    if not models and models_dir is None:
        models_dir = Path("exported")
    served, notes = load_models(models, models_dir, provider, threads)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    limits = Limits(max_images=max_images, concurrency=concurrency, queue_size=queue_size,
                    max_upload_bytes=int(max_upload_mb * 1024**2)).check()
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: binding {host}: the demo is reachable from the network", err=True)
    from gansrv.demo.app import build_app, launch

    click.echo(f"serving {', '.join(served)} on http://{host}:{port}", err=True)
    launch(build_app(served, limits, example_files), host, port)


def _examples(folder: Path | None) -> list[Path]:
    from gansrv.errors import UserError

    if folder is None:
        return []
    if not folder.is_dir():
        raise UserError(f"--examples {folder}: not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise UserError(f"--examples {folder}: no image files ({', '.join(IMAGE_SUFFIXES)})")
    return files[:MAX_EXAMPLES]
