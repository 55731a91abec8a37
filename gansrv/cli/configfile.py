"""``--config FILE`` for ``gansrv train``: TOML or YAML, flat keys, CLI flags override it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from gansrv.errors import UserError

MAX_CONFIG_BYTES = 1024 * 1024


def read_config_file(path: str) -> dict[str, Any]:
    p = Path(path)
    try:
        if p.stat().st_size > MAX_CONFIG_BYTES:
            raise UserError(f"{p}: config file larger than {MAX_CONFIG_BYTES} bytes")
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{p}: cannot read config ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise UserError(f"{p}: config file is not UTF-8 text") from None
    data = _parse(p, text)
    if not isinstance(data, dict):
        raise UserError(f"{p}: the config must be a table of key = value pairs")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def _parse(p: Path, text: str) -> Any:
    if p.suffix.lower() == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover
            import tomli as tomllib
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"{p}: invalid TOML ({exc})") from None
    if p.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            first = str(exc).splitlines()[0]
            raise UserError(f"{p}: invalid YAML ({first})") from None
    raise UserError(f"{p}: config files must end in .toml, .yaml or .yml")
