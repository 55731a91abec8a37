"""The README as executable documentation, so that it cannot drift from the program again.

Every ``gansrv ...`` line of a shell block (```` ```bash ````, ``sh``, ``shell``, ``console``) in
README.md and the family READMEs is checked against the real CLI: the command exists, every flag it
uses is listed by that command's own ``--help``, and a value given to a choice option is one of its
choices. Nothing here lists flags by hand, so a flag added to the program and the README later is
checked the same way.

Then the cheap examples run for real, in README order, in one scratch folder (the quickstart first,
as ``make quickstart`` runs it): only lengths are shrunk (``--steps``, ``--n``, ...) and the networks
(a family's smoke widths, :data:`WIDTHS`, where the example sets none), ``mnist`` is swapped for
the embedded ``digits`` (no network in tests) and ``--device`` for the CPU. Paths are
not rewritten, so an example whose input no earlier documented command makes, and which is not one
of the stand-ins for your own data the README names (:data:`USER_DATA`), fails here.
"""

from __future__ import annotations

import functools
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gansrv.cli import cli
from tests.conftest import REPO

DOCS = [REPO / "README.md", *sorted(REPO.glob("plugins/*/README.md"))]
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)
SHELLS = {"bash", "sh", "shell", "console"}
CUT = {"|", "||", "&&", ";", ">", ">>", "2>", "&"}  # the gansrv command ends at a pipe or redirect
# commands the chain runs; demo serves until stopped and eval trains an evaluator (tested elsewhere)
RUNS = {"train", "export", "info", "generate", "classify", "translate", "families", "datasets"}


@dataclass(frozen=True)
class Example:
    """One ``gansrv`` command line of a doc: where it is and its arguments after ``gansrv``."""

    doc: str
    line: int
    argv: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: gansrv {shlex.join(self.argv)}"


def _argv(line: str) -> tuple[str, ...] | None:
    words = shlex.split(line.strip().removeprefix("$ "), comments=True)
    for i, w in enumerate(words):
        if w in CUT:
            words = words[:i]
            break
    while words and re.fullmatch(r"[A-Za-z_]\w*=\S*", words[0]):  # VAR=value before the command
        words.pop(0)
    return tuple(words[1:]) if words and Path(words[0]).name == "gansrv" else None


def examples(path: Path) -> list[Example]:
    """The gansrv command lines of the shell blocks of ``path`` (backslash continuations joined)."""
    text, found = path.read_text(encoding="utf-8"), []
    for block in FENCE.finditer(text):
        if block.group(1) not in SHELLS:
            continue
        first = text.count("\n", 0, block.start(2)) + 1
        pending, start = "", None
        for k, line in enumerate(block.group(2).splitlines()):
            start = first + k if start is None else start
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            argv = _argv(pending + line)
            if argv is not None:
                found.append(Example(str(path.relative_to(REPO)), start, argv))
            pending, start = "", None
    return found


ALL = [ex for doc in DOCS for ex in examples(doc)]
README = [ex for ex in ALL if ex.doc == "README.md"]


def resolve(argv: tuple[str, ...]) -> tuple[tuple[str, ...], click.Command, list[str]]:
    """The command path (``train``, ``cgan``), the click command and the rest of the arguments."""
    cmd, path, rest = cli, [], list(argv)
    ctx = click.Context(cli)
    while isinstance(cmd, click.Group) and rest and not rest[0].startswith("-"):
        sub = cmd.get_command(ctx, rest[0])
        assert sub is not None, f"'gansrv {' '.join([*path, rest[0]])}' is no command"
        path.append(rest.pop(0))
        cmd = sub
    return tuple(path), cmd, rest


@functools.cache
def help_flags(path: tuple[str, ...]) -> frozenset[str]:
    """The flags ``gansrv PATH --help`` lists in its option table (not those named in prose)."""
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    flags: set[str] = set()
    for line in result.output.splitlines():
        m = re.match(r"^ {1,6}(-\S.*?)(?: {2,}|$)", line)
        if m:
            flags.update(re.findall(r"(?<![\w-])--?[A-Za-z][\w-]*", m.group(1)))
    return frozenset(flags)


def check_flags(ex: Example) -> None:
    """Every flag of ``ex`` is in its command's --help; a choice option's value is a choice."""
    path, cmd, rest = resolve(ex.argv)
    listed = help_flags(path)
    params = {opt: p for p in cmd.params for opt in (*p.opts, *p.secondary_opts)}
    for i, word in enumerate(rest):
        if not re.match(r"--?[A-Za-z]", word):
            continue  # a value or an argument (negative numbers included)
        flag, eq, value = word.partition("=")
        assert flag in listed, f"{ex}: {flag} is not in 'gansrv {' '.join(path)} --help'"
        param = params.get(flag)
        if isinstance(param, click.Option) and isinstance(param.type, click.Choice) and not param.is_flag:
            value = value if eq else (rest[i + 1] if i + 1 < len(rest) else "")
            assert value in param.type.choices, f"{ex}: {flag} {value!r} is not one of {param.type.choices}"


def test_the_docs_have_commands_to_check():
    """Guards the parser: a fence or continuation it stopped reading would silently check nothing."""
    assert len(README) >= 35, len(README)
    assert {ex.argv[0] for ex in README} >= {"train", "export", "info", "generate", "classify",
                                             "translate", "demo", "eval"}


@pytest.mark.parametrize("ex", ALL, ids=lambda ex: f"{ex.doc}:{ex.line}")
def test_every_documented_flag_is_in_help(ex: Example):
    check_flags(ex)


def test_the_check_catches_a_misspelt_flag_a_bad_choice_and_an_unknown_command():
    for argv in (("train", "cgan", "--stepz", "3"), ("generate", "m.onnx", "--format", "png"),
                 ("trian", "cgan")):
        with pytest.raises(AssertionError):
            check_flags(Example("test", 0, argv))
    check_flags(Example("test", 0, ("train", "cgan", "--steps", "3", "--no-progress")))


def test_the_settings_file_shown_has_only_train_options():
    """The keys of the README's settings.toml are flags of `gansrv train` (the file's rule)."""
    keys = re.findall(r"^([\w-]+)\s*=", _toml_block("settings.toml"), re.M)
    assert keys and all(f"--{k}" in help_flags(("train", "gan")) for k in keys), keys


def _all_flags() -> frozenset[str]:
    """Every flag of every gansrv command, each family's train command included."""
    ctx, flags = click.Context(cli), set(help_flags(()))
    for name in cli.list_commands(ctx):
        cmd = cli.get_command(ctx, name)
        subs = cmd.list_commands(ctx) if isinstance(cmd, click.Group) else []
        for path in [(name,), *((name, sub) for sub in subs)]:
            flags |= help_flags(path)
    return frozenset(flags)


def _torchrun_flags() -> frozenset[str]:
    """Flags of torchrun, the launcher the README's multi-process section shows, from its parser."""
    from torch.distributed.run import get_args_parser

    return frozenset(o for a in get_args_parser()._actions for o in a.option_strings)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_flag_named_in_prose_exists(doc: Path):
    """Flags named in the text and tables (not only in command blocks) are flags of some command
    (or of torchrun, in the lines that launch gansrv with it)."""
    named = set(re.findall(r"(?<![\w-])--[a-z][\w-]*", doc.read_text(encoding="utf-8")))
    unknown = named - _all_flags() - _torchrun_flags()
    assert not unknown, f"{doc.name}: {sorted(unknown)}"


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation but - and _ dropped, - for spaces."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_reach_a_file_and_heading(doc: Path):
    """A link to docs/benchmarks.md#... is how the README quotes a figure: it must lead somewhere."""
    text = FENCE.sub("", doc.read_text(encoding="utf-8"))
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        assert file.exists(), f"{doc.name}: link to missing {target}"
        if anchor and file.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", FENCE.sub("", file.read_text(encoding="utf-8")), re.M)
            assert anchor in {_anchor(h) for h in headings}, f"{doc.name}: no heading for {target}"


def test_readme_shows_the_commands_make_quickstart_runs():
    """The README's quickstart block is the Makefile's recipe (so the chain below runs both)."""
    make = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = make.split("\nquickstart:", 1)[1].split("\n\n", 1)[0]
    run_dir = re.search(r"^RUN \?= (\S+)", make, re.M).group(1)
    lines = [ln.strip().replace("$(BIN)/gansrv", "gansrv").replace("$(RUN)", run_dir)
             for ln in recipe.splitlines() if ln.strip().startswith("$(BIN)/gansrv")]
    want = [_argv(ln) for ln in lines]
    got = [ex.argv for ex in README]
    assert len(want) == 3 and any(got[i:i + 3] == want for i in range(len(got))), want


# --- running the examples -------------------------------------------------------------------------

LENGTHS = ("--steps", "--epochs", "--max-seconds")
DOWNLOADS = ("mnist", "fashion-mnist", "kmnist")  # named sets a test may not download


def _swapped(argv: tuple[str, ...]) -> bool:
    """Whether :func:`tiny` swaps a download for digits here (which changes what eval compares)."""
    pairs = zip(argv, argv[1:])
    return any(a in ("--data", "--test-data") and b.split(":")[0] in DOWNLOADS for a, b in pairs)


def tiny(argv: tuple[str, ...]) -> list[str]:
    """The same command with tiny lengths, the embedded digits for mnist and the CPU for a device."""
    out, i = [], 0
    while i < len(argv):
        word, value = argv[i], argv[i + 1] if i + 1 < len(argv) else ""
        if word in LENGTHS:
            i += 2
            continue
        if word in ("--data", "--test-data") and value.split(":")[0] in DOWNLOADS:
            value = "digits"
        elif word == "--device":
            value = "cpu"
        elif word == "--n":
            value = str(min(int(value), 200))
        elif word == "--per-class":
            value = str(min(int(value), 100))
        elif word == "--pretrain-steps":
            value = "2"
        elif word == "--image-size" and int(value) > 64:
            value = "32"
        elif word == "--crop-size":
            value = "0"
        else:
            out.append(word)
            i += 1
            continue
        out += [word, value]
        i += 2
    if argv[0] == "train" and "--help" not in argv:
        steps = "4" if "--resume" in argv else "2"  # a resumed run goes on past the first one's 2
        out += ["--steps", steps, "--sample-every", "0", "--no-progress"]
        if "--resume" not in argv:
            out += _smoke_widths(argv[1], argv)
    return out


# Flags that only size the networks: a new training example gets its family's smoke value of each
# one it does not set itself (a full-width stargan or pix2pix took a minute to export's parity check)
WIDTHS = {"--g-width", "--d-width", "--c-width", "--width", "--ngf", "--ndf", "--g-hidden",
          "--d-hidden", "--coarse-g-hidden", "--coarse-d-hidden", "--fc-width", "--embed-dim",
          "--ca-dim", "--blocks", "--res-blocks"}


def _smoke_widths(family: str, argv: tuple[str, ...]) -> list[str]:
    from gansrv.plugins import registry

    smoke = registry().family(family).smoke_args
    pairs = zip(smoke[::2], smoke[1::2])
    return [w for flag, value in pairs if flag in WIDTHS and flag not in argv for w in (flag, value)]


def _png(path: Path, size: tuple[int, int], mode: str, seed: int) -> None:
    """A noise image of ``size`` (width, height) in mode ``L`` or ``RGB``."""
    shape = (size[1], size[0]) + ((3,) if mode == "RGB" else ())
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8), mode).save(path)


def _pngs(folder: Path, n: int, size: tuple[int, int], mode: str, seed: int) -> None:
    for k in range(n):
        _png(folder / f"{k:03d}.png", size, mode, seed * 1000 + k)


# The stand-ins the README names for data you bring, made small: everything else an example reads
# must come from an earlier example.
USER_DATA = {
    "faces/": lambda p: _pngs(p, 8, (40, 40), "RGB", 0),  # an image folder (unlabelled, RGB)
    "unlabelled/": lambda p: _pngs(p, 8, (28, 28), "L", 1),
    "facades/train": lambda p: _pngs(p, 4, (64, 32), "RGB", 2),  # AB images: A left, B right
    "labels/": lambda p: _pngs(p, 2, (32, 32), "RGB", 3),
    "more/label.png": lambda p: _png(p, (32, 32), "RGB", 4),
    # one subfolder per domain (stargan)
    "digits-styles/": lambda p: [_pngs(p / d, 3, (32, 32), "L", 5 + i)
                                 for i, d in enumerate(("inverted", "plain", "thick", "thin"))],
    "in/": lambda p: _pngs(p, 2, (32, 32), "L", 9),
}


def _toml_block(name: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    for block in FENCE.finditer(text):
        if block.group(1) == "toml" and block.group(2).startswith(f"# {name}"):
            return block.group(2)
    raise AssertionError(f"README.md shows no ```toml block starting '# {name}'")


def _outputs(argv: tuple[str, ...]) -> list[str]:
    """The paths a command writes: ``--out``/``-o``, or export's default ``exported/<run>.onnx``."""
    outs = [argv[i + 1].rstrip("/") for i, w in enumerate(argv[:-1]) if w in ("--out", "-o")]
    if argv[0] == "export" and not outs:
        outs.append(f"exported/{Path(argv[1]).name}.onnx")
    return outs


def _reads(argv: tuple[str, ...], path: str) -> bool:
    """Whether ``argv`` names ``path``, something inside it, or a graph beside it (``<stem>.*.onnx``)."""
    stem = path.removesuffix(".onnx") + "." if path.endswith(".onnx") else None
    return any(w == path or w.startswith(path + "/") or (stem and w.startswith(stem)) for w in argv[1:])


def runnable(docs: list[Example], everything: bool) -> list[Example]:
    """The examples the chain runs, in order: with ``everything`` all of :data:`RUNS`; otherwise the
    cheap commands (a resumed run included) and only those new training runs and exports whose
    output a later chosen one reads (the rest cost seconds of torch each and make nothing the
    chain needs: the slow run has them)."""
    chosen: list[Example] = []
    # eval trains its evaluator (tens of seconds): only in the slow run, on data used as written
    evals = [ex for ex in docs if everything and ex.argv[0] == "eval" and not _swapped(ex.argv)]
    for ex in reversed([ex for ex in docs if ex.argv[0] in RUNS or ex in evals]):
        costly = (ex.argv[0] == "export" or ex.argv[0] == "train" and "--resume" not in ex.argv
                  and "--help" not in ex.argv)
        if everything or not costly or any(_reads(later.argv, out) for later in chosen
                                           for out in _outputs(ex.argv)):
            chosen.append(ex)
    return chosen[::-1]


def _run_chain(tmp_path: Path, monkeypatch, chosen: list[Example]) -> list[str]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GANSRV_CACHE", str(tmp_path / "cache"))  # no download is ever reached
    for name, make in USER_DATA.items():
        make(tmp_path / name)
    (tmp_path / "settings.toml").write_text(_toml_block("settings.toml"))
    for ex in chosen:
        result = CliRunner().invoke(cli, tiny(ex.argv))
        assert result.exit_code == 0, f"{ex}\n  ran as: gansrv {shlex.join(tiny(ex.argv))}\n{result.output}"
    return [ex.argv[0] for ex in chosen]


def test_readme_examples_run_in_order(tmp_path, monkeypatch):
    """The quickstart, then the README's examples in order, each on what earlier ones made: every
    cheap one, and each train/export whose output a later one reads."""
    ran = _run_chain(tmp_path, monkeypatch, runnable(README, everything=False))
    assert {"train", "export", "generate", "info", "classify", "translate"} <= set(ran), ran
    assert len(list(Path("runs/quickstart-dataset").rglob("*.png"))) == 1000
    assert Path("exported/acgan.classifier.onnx").is_file() and Path("translated/label.png").is_file()


@pytest.mark.slow
def test_every_readme_example_runs_in_order(tmp_path, monkeypatch):
    """All of them, every family's training example and eval on data used as written included."""
    ran = _run_chain(tmp_path, monkeypatch, runnable(README, everything=True))
    assert ran.count("train") >= 10 and "eval" in ran, ran
