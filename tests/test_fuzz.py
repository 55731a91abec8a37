"""Property-based bad input: malformed, truncated, huge, NaN and bomb-shaped IDX, npz, image, config,
ONNX files and CLI arguments. Every case must end in success or one clean UserError line: never
another exception (the CLI would print "internal error"), a hang or a half-written file.

GANSRV_FUZZ_EXAMPLES sets the examples per property (default 60; docs/reliability.md records a
larger run). Each example runs under a time limit (:func:`time_limited`), so that a hang fails the
property instead of hanging CI. Each property starts from valid files and breaks them, so the
cases reach deep into the parsers instead of dying on the first byte.
"""

from __future__ import annotations

import faulthandler
import functools
import gzip
import io
import os
import signal
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gansrv.errors import UserError
from tests.conftest import run


@pytest.fixture(scope="module")
def cgan_model(exports) -> Path:  # noqa: F811
    return exports("cgan").generator


@pytest.fixture(scope="module")
def cgan_bytes(cgan_model: Path):
    """A callable, so that hypothesis does not print 2 MB of model bytes in its reports."""
    data = cgan_model.read_bytes()
    return lambda: data


EXAMPLES = int(os.environ.get("GANSRV_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# One example takes well under a second; the limit is generous for a loaded 2-core machine, since
# it is there to catch hangs, not to time anything.
EXAMPLE_SECONDS = float(os.environ.get("GANSRV_FUZZ_EXAMPLE_SECONDS", "60"))


class ExampleHung(Exception):
    """An example ran past its time limit: a hang (or a runaway loop) in the code under test."""


def time_limited(test=None, *, seconds: float | None = None):
    """Run each example under a time limit (no extra dependency; main thread, POSIX).

    SIGALRM raises ExampleHung where Python code hangs, so hypothesis reports the example; a hang
    inside C code never returns to Python to see it, so faulthandler's watchdog thread then
    prints every thread's traceback and exits the test process at twice the limit: CI fails
    instead of waiting. Put it just above the ``def``, under ``@given``, to limit one example.
    """
    if test is None:
        return functools.partial(time_limited, seconds=seconds)

    @functools.wraps(test)
    def bounded(*args, **kwargs):
        limit = EXAMPLE_SECONDS if seconds is None else seconds

        def on_alarm(signum, frame):
            raise ExampleHung(f"{test.__name__}: one example ran over {limit:g} s")

        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, limit)
        faulthandler.dump_traceback_later(2 * limit, exit=True, file=sys.stderr)
        try:
            return test(*args, **kwargs)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
            faulthandler.cancel_dump_traceback_later()

    bounded.time_limited = True
    return bounded


def test_a_hanging_example_fails_within_its_limit():
    @FUZZ
    @given(x=st.integers(0, 3))
    @time_limited(seconds=0.5)
    def hangs(x):
        if x == 3:
            while True:  # a runaway loop in Python
                pass
        time.sleep(3600)  # a blocking call: interrupted by the signal too

    t0 = time.monotonic()
    with pytest.raises(ExampleHung, match="ran over 0.5 s"):
        hangs()
    assert time.monotonic() - t0 < 600  # bounded (the shrinker replays a few examples): not hung


def test_a_hang_inside_c_code_ends_the_process():
    """One C call that runs for hours (``sum`` over a huge range never returns to the interpreter
    loop, where Python signal handlers run): the watchdog dumps the tracebacks and exits at twice
    the limit, instead of the process hanging."""
    import subprocess

    from tests.conftest import REPO

    code = ("from tests.test_fuzz import time_limited\n"
            "time_limited(seconds=0.5)(lambda: sum(range(10**15)))()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          timeout=300)
    assert done.returncode != 0 and "Timeout" in done.stderr, (done.returncode, done.stderr[-500:])


def test_every_property_here_is_time_limited():
    props = [f for name, f in globals().items() if name.startswith("test_")
             and hasattr(f, "hypothesis")]
    assert len(props) >= 7
    for f in props:
        assert getattr(f.hypothesis.inner_test, "time_limited", False), f.__name__


def clean_outcome(fn, *args) -> object:
    """Run fn; a UserError must be one line. Anything else propagates and fails the property."""
    try:
        return fn(*args)
    except UserError as exc:
        assert "\n" not in str(exc) and str(exc), repr(exc)
        return exc


def mutate(data: bytes, cuts: list[tuple[int, int]], truncate: int | None) -> bytes:
    """Overwrite bytes at (position, value) pairs, then optionally cut the tail."""
    buf = bytearray(data)
    for pos, val in cuts:
        if buf:
            buf[pos % len(buf)] = val
    return bytes(buf[:truncate] if truncate is not None else buf)


MUTATIONS = st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6)
TRUNCATE = st.one_of(st.none(), st.integers(0, 2_000))


def idx_file(dims: tuple[int, ...], body: bytes) -> bytes:
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + body


def load(path: Path | list[Path]):
    from gansrv.data.load import load_dataset

    sources = [str(p) for p in path] if isinstance(path, list) else [str(path)]
    return load_dataset(sources, size=28)


@FUZZ
@given(n=st.integers(0, 5), h=st.integers(0, 40), w=st.integers(0, 40), mut=MUTATIONS,
       cut=TRUNCATE, gz=st.booleans(), huge=st.sampled_from([None, 0, 1, 2, 3]))
@time_limited
def test_idx_files(n, h, w, mut, cut, gz, huge):
    dims = [n, h, w]
    if huge is not None:
        dims[huge % 3] = 2**32 - 1 - huge
    images = idx_file(tuple(dims), bytes((n * h * w) % 5000))
    labels = idx_file((n,), bytes(n))
    data = mutate(images, mut, cut)
    if gz:
        data = gzip.compress(data, mtime=0)
    with tempfile.TemporaryDirectory() as d:
        img, lab = Path(d, "x-images-idx3-ubyte"), Path(d, "x-labels-idx1-ubyte")
        img.write_bytes(data)
        lab.write_bytes(labels)
        clean_outcome(load, [img, lab])
        clean_outcome(load, img)


@FUZZ
@given(raw=st.binary(max_size=3000))
@time_limited
def test_random_bytes_as_every_file_type(raw):
    with tempfile.TemporaryDirectory() as d:
        for name in ("x-images-idx3-ubyte", "x.npz", "x.idx"):
            p = Path(d, name)
            p.write_bytes(raw)
            clean_outcome(load, p)
        folder = Path(d, "imgs", "a")
        folder.mkdir(parents=True)
        (folder / "1.png").write_bytes(raw)
        clean_outcome(load, folder.parent)


ARRAYS = st.sampled_from(["u8", "f32", "f64-nan", "i64", "bool", "str", "f32-big", "5d", "empty"])


def make_array(kind: str, shape: tuple[int, ...]) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = rng.random(shape)
    return {"u8": (base * 255).astype(np.uint8), "f32": base.astype(np.float32),
            "f64-nan": np.where(base > 0.5, np.nan, base), "i64": (base * 300).astype(np.int64),
            "bool": base > 0.5, "str": np.full(shape, "x"), "f32-big": (base * 1e6).astype(np.float32),
            "5d": base.reshape(*shape, 1, 1), "empty": np.zeros((0, *shape[1:]))}[kind]


@FUZZ
@given(kind=ARRAYS, shape=st.sampled_from([(4, 8, 8), (4, 8, 8, 3), (4, 3, 8, 8), (4, 8), (4,),
                                           (2, 1, 1), (3, 8, 8, 2)]),
       labels=st.sampled_from([None, "ok", "float", "2d", "short", "negative"]),
       mut=MUTATIONS, cut=TRUNCATE)
@time_limited
def test_npz_files(kind, shape, labels, mut, cut):
    arrays = {"images": make_array(kind, shape)}
    n = shape[0]
    if labels is not None:
        arrays["labels"] = {"ok": np.arange(n), "float": np.arange(n) * 0.5,
                            "2d": np.zeros((n, 2), np.int64), "short": np.arange(max(n - 1, 0)),
                            "negative": -np.arange(n) - 1}[labels]
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d, "x.npz")
        p.write_bytes(buf.getvalue() if not mut and cut is None else mutate(buf.getvalue(), mut, cut))
        clean_outcome(load, p)


def test_npz_zip_bomb_and_pickled_object_are_refused(tmp_path, monkeypatch):
    """A 64 MB array of zeros zips to ~64 KB; with the limit lowered to 16 MB (the real one is 4 GiB,
    too slow to inflate in a test) it must be refused from the zip directory, before inflating."""
    import gansrv.data.npz

    monkeypatch.setattr(gansrv.data.npz, "MAX_DATASET_BYTES", 16 * 1024**2)
    bomb = tmp_path / "bomb.npz"
    np.savez_compressed(bomb, images=np.zeros((64 * 1024, 32, 32), np.uint8))
    assert bomb.stat().st_size < 1024**2
    assert "over the limit" in str(clean_outcome(load, bomb))
    pickled = tmp_path / "obj.npz"
    np.savez(pickled, images=np.array([{"a": 1}], dtype=object))
    assert isinstance(clean_outcome(load, pickled), UserError)


def png_claiming(width: int, height: int) -> bytes:
    """A PNG header that claims a size (a decompression bomb's first bytes) with a tiny body."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


@FUZZ
@given(width=st.integers(1, 2**31 - 1), height=st.integers(1, 2**31 - 1), mut=MUTATIONS)
@time_limited
def test_image_headers_claiming_any_size(width, height, mut):
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d, "imgs", "a")
        folder.mkdir(parents=True)
        (folder / "1.png").write_bytes(mutate(png_claiming(width, height), mut, None))
        clean_outcome(load, folder.parent)


@FUZZ
@given(text=st.text(max_size=300), suffix=st.sampled_from([".toml", ".yaml", ".yml", ".json"]))
@time_limited
def test_config_files(text, suffix):
    from gansrv.cli.configfile import read_config_file

    with tempfile.TemporaryDirectory() as d:
        p = Path(d, "c" + suffix)
        p.write_text(text, encoding="utf-8")
        clean_outcome(read_config_file, str(p))


@FUZZ
@given(mut=MUTATIONS, cut=st.one_of(st.none(), st.integers(0, 200_000)),
       meta=st.sampled_from([None, "drop-format", "bad-json", "negative-latent", "huge-shape"]))
@time_limited
def test_onnx_files(cgan_bytes, mut, cut, meta):
    from gansrv.runtime import load as load_model

    data = cgan_bytes()
    if meta is not None:
        import onnx

        model = onnx.load_from_string(data)
        props = {p.key: p for p in model.metadata_props}
        edit = {"drop-format": ("gansrv.format", None), "bad-json": ("gansrv.inputs", "[{"),
                "negative-latent": ("gansrv.latent_dim", "-3"),
                "huge-shape": ("gansrv.image_shape", "[1, 100000, 100000]")}[meta]
        if edit[1] is None:
            model.metadata_props.remove(props[edit[0]])
        else:
            props[edit[0]].value = edit[1]
        data = model.SerializeToString()
    with tempfile.TemporaryDirectory() as d:
        p = Path(d, "m.onnx")
        p.write_bytes(mutate(data, mut, cut))
        out = clean_outcome(load_model, p, "cpu")
        if not isinstance(out, UserError) and out.info.graph == "generator":
            from gansrv.runtime import Generator

            clean_outcome(lambda: Generator(out).generate(2, seed=0))


@FUZZ
@given(args=st.lists(st.sampled_from(["--n", "--per-class", "--classes", "--seed", "--truncation",
                                      "--batch-size", "--shard", "--format", "0", "-1", "1", "3/2",
                                      "1/0", "x", "7", "1e309", "nan", "2,3", "99", "npz", "--overwrite",
                                      "99999999999999999999", ""]), max_size=6))
@time_limited
def test_generate_arguments(cgan_model, args):
    with tempfile.TemporaryDirectory() as d:
        res = run("generate", cgan_model, "--out", Path(d, "ds"), "--no-progress", *args,
                  expect=None)
        assert "Traceback" not in res.output and "internal error" not in res.stderr, res.stderr
        if res.exit_code != 0:
            assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
            ds = Path(d, "ds")
            assert not ds.exists() or not any(ds.rglob("*.png")), "a failed command wrote images"
