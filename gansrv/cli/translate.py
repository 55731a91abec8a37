"""``gansrv translate``: run an image -> image model over files and folders (gansrv.runtime, no torch).

The work (checks, planning, resume, shards) is :func:`gansrv.generate.translate.translate_files`.
"""

from __future__ import annotations

from pathlib import Path

import click

from gansrv.cli.options import progress_option, provider_option


@click.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True,
              help="Destination folder: one <input stem>.png per input, metadata.jsonl, manifest.")
@click.option("--resize", is_flag=True,
              help="Scale inputs the model cannot take to the nearest size below that it can "
                   "(default: refuse them).")
@click.option("--batch-size", type=int, default=16, show_default=True,
              help="Images per inference call (consecutive images of one size).")
@click.option("--shard", default=None,
              help="K/N: translate only the inputs whose position in the input list (files in the "
                   "order given, each folder's images sorted) is K-1 mod N; the N shards together "
                   "write exactly the files of one run.")
@click.option("--overwrite", is_flag=True,
              help="Write into a folder that holds another job or other files, replacing outputs.")
@click.option("--to", "to", default=None, metavar="DOMAIN",
              help="Target domain of a multi-domain model (stargan; `gansrv info MODEL` lists "
                   "them): its name writes OUT/<stem>.png, 'all' writes every domain as "
                   "OUT/<domain>/<stem>.png. Required for such a model, refused for a one-way one.")
@provider_option()
@progress_option()
def translate(model: Path, inputs: tuple[Path, ...], out: Path, resize: bool, batch_size: int,
              shard: str | None, overwrite: bool, to: str | None, provider: str,
              progress: bool) -> None:
    """Translate images with an image -> image model (pix2pix, cyclegan, stargan with --to): INPUTS
    are files or folders.

    Resumable: re-running the same command keeps the finished PNGs whose input is unchanged (each
    output records its input's sha256) and translates the rest. Shardable: --shard K/N on N
    machines; the union of the folders is the single-run result.
    """
    from gansrv.extras import require

    require("serve", what="gansrv translate")
    from gansrv.generate.plan import parse_shard
    from gansrv.generate.translate import translate_files

    the_shard = parse_shard(shard)
    written, kept = translate_files(model, inputs, out, resize, batch_size, the_shard, overwrite,
                                    provider, progress, to)
    click.echo(f"{out}: {written} images translated, {kept} already there "
               f"(metadata{the_shard.suffix}.jsonl)")
