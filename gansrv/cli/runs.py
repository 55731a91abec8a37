"""``gansrv runs [DIR]``: the training runs in a folder, to find the one to resume or export.

Reads config.json, checkpoint names and metrics.jsonl only (gansrv.train.runlist), so it needs
neither torch nor a GPU and answers at once.
"""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command()
@click.argument("folder", required=False, default="runs", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run instead of the table.")
def runs(folder: Path, as_json: bool) -> None:
    """Table of the runs in FOLDER (default: runs/): family, data, steps done (of the plan), last
    checkpoint, last logged losses, and state: finished, stopped (resume it) or crashed (killed,
    failed, or still training).
    """
    from gansrv.train.runlist import find_runs, table

    found, notes = find_runs(folder)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if as_json:
        for r in found:
            click.echo(json.dumps(r.as_dict()))
    else:
        click.echo(table(found, folder))
