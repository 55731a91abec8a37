"""Summarise a mutmut run: per mutated module, how many mutants were killed, survived, timed out or
had no test; then each survivor (and each mutant without a test) with its one-line diff.

    .venv/bin/python tools/mutation_report.py                  # every mutant of the last run
    .venv/bin/python tools/mutation_report.py --only FILE      # the mutant names listed in FILE

Run from the checkout after ``mutmut run`` (``make mutation``); it reads ``mutants/**/*.meta``.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code

SHOWN = ("survived", "no tests", "timeout", "suspicious", "not checked")


def one_line(name: str, source: Path) -> str:
    """The mutant's changed lines, joined: enough to recognise it in the report."""
    diff = get_diff_for_mutant(name, path=source)
    lines = [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    return " | ".join(line[0] + " " + line[1:].strip() for line in lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", type=Path, help="file with one mutant name a line: report just those")
    args = parser.parse_args()
    only = set(args.only.read_text().split()) if args.only else None
    rows, shown = [], []
    for meta in sorted(Path("mutants").rglob("*.py.meta")):
        source = meta.relative_to("mutants").with_suffix("")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        names = sorted(n for n in codes if only is None or n in only)
        if not names:
            continue
        count = Counter(status_by_exit_code[codes[n]] for n in names)
        rows.append((str(source), len(names), count))
        shown += [(status_by_exit_code[codes[n]], n, source) for n in names
                  if status_by_exit_code[codes[n]] in SHOWN]
    print("| module | mutants | killed | survived | timeout | no tests | other | score |")
    print("|---|---|---|---|---|---|---|---|")
    for source, total, c in rows:
        other = total - c["killed"] - c["survived"] - c["timeout"] - c["no tests"]
        print(f"| {source} | {total} | {c['killed']} | {c['survived']} | {c['timeout']} | {c['no tests']} "
              f"| {other} | {c['killed'] / total:.0%} |")
    print()
    for status, name, source in sorted(shown):
        print(f"{status}: {name}: {one_line(name, source)}")


if __name__ == "__main__":
    main()
