"""``gansrv demo``: serve exported generators in a browser (and through gradio_client).

gradio takes seconds to import, so it is imported inside the command body only; ``gansrv --help``
and shell completion never pay for it.
"""

from __future__ import annotations

from pathlib import Path

import click

from gansrv.cli.options import provider_option
from gansrv.demo.auth import ENV
from gansrv.demo.limits import DEFAULT_THREADS, MAX_THREADS, Limits

_D = Limits()
MAX_EXAMPLES = 32
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
RATE_LIMIT = 300  # actions per address per minute by default: one every 0.2 s, more than a person clicks


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
@click.option("--auth-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Accounts (user:hash lines from --hash-password) every route then needs; "
                   f"${ENV} may hold the same lines instead. Required to bind beyond loopback.")
@click.option("--no-auth", is_flag=True,
              help="Serve beyond loopback without accounts (a warning on every start).")
@click.option("--hash-password", "hash_user", metavar="USER", default=None,
              help="Ask for a password (twice, hidden), print USER:HASH for --auth-file, and exit.")
@click.option("--rate-limit", type=click.IntRange(0, 100_000), default=None,
              help="Actions (POST requests) one address may start per minute; 0: no bound. "
                   f"Default {RATE_LIMIT} with accounts or beyond loopback, else none.")
@click.option("--ssl-certfile", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Serve HTTPS with this certificate (PEM); needs --ssl-keyfile.")
@click.option("--ssl-keyfile", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The certificate's private key (PEM, unencrypted).")
@click.option("--root-path", default=None, help="URL prefix the app sits under behind a reverse proxy "
                                                 "(e.g. /gansrv; default: $GRADIO_ROOT_PATH, else none).")
@provider_option()
@click.option("--threads", type=click.IntRange(0, MAX_THREADS), default=DEFAULT_THREADS, show_default=True,
              help="onnxruntime threads per model (0: its default, one per core). 1 leaves the cores to "
                   "concurrent requests; raise it for large image→image models and few users.")
def demo(models: tuple[Path, ...], models_dir: Path | None, host: str, port: int, max_images: int,
         concurrency: int, queue_size: int, max_upload_mb: float, examples: Path | None,
         auth_file: Path | None, no_auth: bool, hash_user: str | None, rate_limit: int | None,
         ssl_certfile: Path | None, ssl_keyfile: Path | None, root_path: str | None,
         provider: str, threads: int) -> None:
    """Gradio demo of exported models: MODEL.onnx ... or --models-dir DIR.

    The page and the API name models by file stem, from this list only. API names: /generate,
    /one_of_each, /interpolate, /download_zip, /generate_codes, /translate, /model_card, /ping.
    Beyond loopback, every route needs a login (--auth-file or $GANSRV_DEMO_AUTH) unless --no-auth.
    """
    if hash_user is not None:
        return _hash_password(hash_user)
    credentials = _credentials(host, auth_file, no_auth)
    tls = _tls(ssl_certfile, ssl_keyfile)
    if not _loopback(host):
        click.echo(f"warning: binding {host}: the demo is reachable from the network", err=True)
    if no_auth:
        click.echo("warning: --no-auth: anyone who reaches the port can use the demo", err=True)
    if rate_limit is None:
        rate_limit = RATE_LIMIT if credentials is not None or not _loopback(host) else 0
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
    from gansrv.demo.app import build_app, launch

    scheme = "https" if tls else "http"
    login = f", login: {credentials.source} ({len(credentials.users)} accounts)" if credentials else ""
    click.echo(f"serving {', '.join(served)} on {scheme}://{host}:{port}{root_path or ''}{login}", err=True)
    prefix = {} if root_path is None else {"root_path": root_path}
    launch(build_app(served, limits, example_files), host, port, credentials=credentials,
           rate_limit=rate_limit, **tls, **prefix)


def _loopback(host: str) -> bool:
    return host in LOOPBACK


def _hash_password(user: str) -> None:
    """Print ``USER:scrypt$...`` for an auth file; the password is read hidden, twice."""
    from gansrv.demo.auth import hash_password
    from gansrv.errors import UserError

    if not user or any(c in user for c in ":#") or user != user.strip() or not user.isprintable():
        raise UserError(f"--hash-password {user!r}: a user name has no ':', '#', surrounding spaces "
                        f"or control characters")
    password = click.prompt(f"password for {user}", hide_input=True, confirmation_prompt=True,
                            err=True)
    click.echo(f"{user}:{hash_password(password)}")


def _credentials(host: str, auth_file: Path | None, no_auth: bool):
    """The accounts to require (None: no login). Beyond loopback, accounts or --no-auth."""
    from gansrv.demo.auth import ENV, from_env, read_auth_file
    from gansrv.errors import UserError

    if no_auth and auth_file is not None:
        raise UserError("--no-auth and --auth-file contradict each other; choose one")
    if no_auth:
        return None
    credentials = read_auth_file(auth_file) if auth_file is not None else from_env()
    if credentials is None and not _loopback(host):
        raise UserError(f"binding {host} exposes the demo to the network: pass --auth-file FILE "
                        f"(or set ${ENV}) to require a login, or --no-auth to serve without one")
    return credentials


def _tls(certfile: Path | None, keyfile: Path | None) -> dict:
    """Gradio's ssl_* arguments, after checking that the pair loads (a bad file is one error line)."""
    import ssl

    from gansrv.errors import UserError

    if certfile is None and keyfile is None:
        return {}
    if certfile is None or keyfile is None:
        raise UserError("--ssl-certfile and --ssl-keyfile go together")
    for flag, path in (("--ssl-certfile", certfile), ("--ssl-keyfile", keyfile)):
        if not path.is_file():
            raise UserError(f"{flag} {path}: no such file")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(certfile, keyfile)
    except (ssl.SSLError, OSError) as exc:
        raise UserError(f"--ssl-certfile {certfile} / --ssl-keyfile {keyfile}: not a certificate and "
                        f"its key ({exc.__class__.__name__}: {getattr(exc, 'reason', None) or exc})"
                        ) from None
    return {"ssl_certfile": str(certfile), "ssl_keyfile": str(keyfile)}


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
