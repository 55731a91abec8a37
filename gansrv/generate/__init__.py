"""Datasets from exported generators (``gansrv generate``), on gansrv.runtime only: never torch.

The plan (which index gets which label) is fixed by the options, image i's noise by (seed, i), and
every file is written atomically; together that makes runs resumable and shards mergeable.
"""

from gansrv.generate.plan import Plan, Shard, make_plan, parse_shard

__all__ = ["Plan", "Shard", "make_plan", "parse_shard"]
