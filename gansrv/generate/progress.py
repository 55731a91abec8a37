"""Progress of a shard run on stderr: images/s, shards done of this run's, ETA (tqdm's)."""

from __future__ import annotations

import sys


class ShardProgress:
    """A tqdm bar counted in images, advanced when a shard file is written (never before)."""

    def __init__(self, images: int, files: int, show: bool) -> None:
        from tqdm import tqdm

        self.files, self.done = files, 0
        self.bar = tqdm(total=images, unit="img", file=sys.stderr, disable=not show,
                        dynamic_ncols=True, postfix=self._postfix())

    def _postfix(self) -> str:
        return f"shards {self.done}/{self.files}"

    def file_done(self, images: int, files: int = 1) -> None:
        self.done += files
        self.bar.set_postfix_str(self._postfix(), refresh=False)
        self.bar.update(images)

    def close(self) -> None:
        self.bar.close()


def summary(out: object, images: int, files: int, kept_files: int, kept_images: int,
            seconds: float) -> str:
    """The final line of a shard run."""
    rate = images / seconds if seconds > 0 else 0.0
    return (f"{out}: {images:,} images in {files:,} shard file(s) written, {kept_files:,} file(s) "
            f"({kept_images:,} images) already there; {seconds:.1f} s, {rate:,.0f} img/s")
