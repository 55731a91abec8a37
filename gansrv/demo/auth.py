"""Demo logins: ``user:hash`` lines, passwords hashed with scrypt (stdlib), checked in constant time.

A credentials file (``--auth-file``) or the ``GANSRV_DEMO_AUTH`` environment variable holds one
``user:scrypt$N$r$p$salt$key`` entry per line (``gansrv demo --hash-password USER`` prints one).
Plain-text passwords are refused: a leaked file or a container's environment must not give the
password away. Torch-free and gradio-free, so the CLI can check the file before importing gradio.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from gansrv.errors import UserError

ENV = "GANSRV_DEMO_AUTH"
SCHEME = "scrypt"
# scrypt cost: N=2**14, r=8, p=1 is the interactive-login setting of the scrypt paper (16 MiB;
# 61 ms a check measured on the 2-core dev VM at load 5.9, 2026-12-01); the parameters travel in
# each hash, so raising them later keeps old lines valid.
N, R, P = 2**14, 8, 1
SALT_BYTES, KEY_BYTES = 16, 32
MAX_N = 2**20  # a line asking for more memory than this is refused (a hostile file cannot exhaust RAM)
MAX_PASSWORD = 1024  # characters; longer logins are refused before hashing


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$key`` for ``password`` with a fresh random salt (unless given)."""
    if not password:
        raise UserError("the password is empty")
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    key = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=KEY_BYTES,
                         maxmem=_maxmem(N, R))
    return f"{SCHEME}${N}${R}${P}${_b64(salt)}${_b64(key)}"


def _maxmem(n: int, r: int) -> int:
    return 128 * n * r * 2  # scrypt needs 128*N*r bytes; twice that leaves OpenSSL its margin


@dataclass(frozen=True)
class _Hash:
    n: int
    r: int
    p: int
    salt: bytes
    key: bytes

    @classmethod
    def parse(cls, text: str) -> _Hash:
        parts = text.split("$")
        if len(parts) != 6 or parts[0] != SCHEME:
            raise ValueError(f"not a {SCHEME}$N$r$p$salt$key hash (make one with gansrv demo "
                             f"--hash-password USER)")
        try:
            n, r, p = (int(x) for x in parts[1:4])
            salt, key = _unb64(parts[4]), _unb64(parts[5])
        except ValueError:
            raise ValueError("malformed hash (bad number or base64)") from None
        if n < 2 or n & (n - 1) or n > MAX_N or not 1 <= r <= 32 or not 1 <= p <= 16:
            raise ValueError(f"scrypt parameters out of range (N a power of two up to {MAX_N}, "
                             f"r 1..32, p 1..16)")
        if len(salt) < 8 or len(key) < 16:
            raise ValueError("salt or key too short")
        return cls(n, r, p, salt, key)

    def matches(self, password: str) -> bool:
        got = hashlib.scrypt(password.encode(), salt=self.salt, n=self.n, r=self.r, p=self.p,
                             dklen=len(self.key), maxmem=_maxmem(self.n, self.r))
        return hmac.compare_digest(got, self.key)


def verify(stored: str, password: str) -> bool:
    """Whether ``password`` matches the ``scrypt$...`` hash ``stored``."""
    return _Hash.parse(stored).matches(password)


@dataclass(frozen=True)
class Credentials:
    """The accounts of one demo. ``check`` costs one scrypt whether or not the user exists, so
    response times do not tell which user names are valid."""

    users: dict[str, _Hash]
    source: str
    _dummy: _Hash = field(default_factory=lambda: _Hash.parse(hash_password(secrets.token_hex(8))),
                          repr=False)

    def check(self, username: str, password: str) -> bool:
        if not isinstance(username, str) or not isinstance(password, str) or len(password) > MAX_PASSWORD:
            return False
        stored = self.users.get(username)
        ok = (stored or self._dummy).matches(password)
        return ok and stored is not None


def parse(text: str, source: str) -> Credentials:
    """Accounts from ``user:hash`` lines (blank lines and ``#`` comments skipped); a bad line is a
    UserError naming ``source`` and the line number."""
    users: dict[str, _Hash] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, stored = line.partition(":")
        where = f"{source} line {number}"
        if not sep or not user.strip():
            raise UserError(f"{where}: expected user:hash")
        user = user.strip()
        if user in users:
            raise UserError(f"{where}: user {user!r} appears twice")
        try:
            users[user] = _Hash.parse(stored.strip())
        except ValueError as exc:
            raise UserError(f"{where}: {exc}") from None
    if not users:
        raise UserError(f"{source}: no user:hash lines")
    return Credentials(users, source)


def read_auth_file(path: Path) -> Credentials:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"--auth-file {path}: cannot read ({type(exc).__name__}: "
                        f"{getattr(exc, 'strerror', None) or exc})") from None
    return parse(text, f"--auth-file {path}")


def from_env() -> Credentials | None:
    """The accounts in ``$GANSRV_DEMO_AUTH`` (newline-separated ``user:hash``), or None if unset."""
    text = os.environ.get(ENV)
    if text is None or not text.strip():
        return None
    return parse(text, f"${ENV}")
