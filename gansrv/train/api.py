"""Start or resume a run: the one function the CLI (and Python users) call to train."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from gansrv.data import load_dataset
from gansrv.errors import UserError
from gansrv.family import Family, Kind, check_config
from gansrv.kinds import DataForm
from gansrv.train import checkpoint as ckpt
from gansrv.train import group as distributed
from gansrv.train import rundir, semi
from gansrv.train.options import DEFAULT_STEPS, TrainOptions, check_options


def _load_data(family: Family, config: Any, opts: TrainOptions, named: dict | None):
    form = family.data_form(config)
    if form is not DataForm.IMAGES:
        from gansrv.data.paired import load_pairs, load_unpaired

        if form is DataForm.UNPAIRED:
            return load_unpaired(opts.data, family.image_size(config), opts.limit)
        return load_pairs(opts.data, family.direction(config), size=family.image_size(config),
                          limit=opts.limit)
    data = load_dataset(opts.data, size=family.image_size(config), limit=opts.limit,
                        extra_named=named)
    needs = family.needs_labels or family.kind_for(config) is Kind.CONDITIONAL
    if needs and data.labels is None:
        raise UserError(f"{family.name} is conditional and needs labelled data; {data.source} has "
                        f"no labels (use class subfolders, an IDX labels file or npz 'labels')")
    if needs and len(data.class_names) < 2:
        raise UserError(f"{family.name} is conditional and needs at least 2 classes; {data.source} "
                        f"has {len(data.class_names)}")
    return data


def train(family: Family, config: Any, opts: TrainOptions, named: dict | None = None,
          log=print, report: Callable[[dict[str, Any]], Any] | None = None) -> dict[str, Any]:
    """Train a new run into opts.out, or continue opts.resume; returns a summary dict. Under
    torchrun, every process calls this and they train the one run together. ``report`` (process 0
    only) says the outcome before the processes part: torchrun ends the others as soon as one
    exits, so a process 1 that left first (exit 130 after Ctrl-C) could cut process 0's message."""
    group = distributed.setup(opts.device)
    try:
        summary = _train(family, config, opts, named, distributed.main_log(group, log), group)
        if report is not None and (group is None or group.main):
            report(summary)
        distributed.barrier(group)  # no process leaves while another still writes or talks
        return summary
    except UserError as exc:
        distributed.stop_together(group, exc)
        raise
    finally:
        distributed.teardown(group)


def _make_trainer(group: distributed.Group | None, *args: Any, **kw: Any):
    if group is None:
        from gansrv.train.engine import Trainer

        return Trainer(*args, **kw)
    from gansrv.train.distributed import DistributedTrainer

    return DistributedTrainer(group, *args, **kw)


def _train(family: Family, config: Any, opts: TrainOptions, named: dict | None, log,
           group: distributed.Group | None) -> dict[str, Any]:
    from gansrv.train.engine import pick_device

    check_options(opts)
    opts = distributed.restarted(group, opts)
    if opts.tensorboard:  # before any run dir is made: a missing package is one line, nothing on disk
        from gansrv.train.tensorboard import require_tensorboard

        require_tensorboard()
    if opts.resume:
        return _resume(family, opts, named, log, group)
    check_config(config)
    distributed.check_family(distributed.world_of(group), family, config)
    semi.check_request(family, opts)
    family.validate(config, None)
    data = semi.apply(family, _load_data(family, config, opts, named), opts)
    config = family.resolve_config(config, data.spec())
    family.validate(config, data.spec())
    distributed.check_family(distributed.world_of(group), family, config)
    pick_device(opts.device)
    # under torchrun: process 0 names the run directory (a default one has the time in it)
    out = distributed.broadcast(group, Path(opts.out) if opts.out else
                                rundir.default_out(family.name))
    total = opts.step_limit(len(data)) if opts.given_length() else DEFAULT_STEPS
    distributed.on_main(group, rundir.prepare_new, out)
    try:
        trainer = _make_trainer(group, family, config, data, opts, out, total, log,
                                total_seconds=opts.max_seconds)
        chosen = None if data.labelled is None else data.labelled.tolist()
        distributed.on_main(group, rundir.write_config, out, family.name, config, opts,
                            trainer.spec, total, opts.max_seconds, chosen,
                            processes=distributed.world_of(group))
    except BaseException:
        if group is None or group.main:
            shutil.rmtree(out, ignore_errors=True)  # nothing half-made is left behind
        raise
    procs = "" if group is None else f" x {group.world} processes ({group.backend})"
    log(f"training {family.name} on {data.source} ({len(data)} images, "
        f"{trainer.spec.size}px) for {_plan_text(total, opts.max_seconds)} on {trainer.device}"
        f"{procs} -> {out}")
    return trainer.run()


def _plan_text(steps: int | None, seconds: float | None, elapsed: float = 0.0) -> str:
    parts = [] if steps is None else [f"{steps} steps"]
    if seconds is not None:
        parts.append(f"{max(0.0, seconds - elapsed):.1f} s of training")
    return " or ".join(parts) + (", whichever comes first" if len(parts) > 1 else "")


def _resumed_plan(opts: TrainOptions, kept: TrainOptions, dataset_size: int, elapsed: float,
                  saved: dict[str, Any]) -> tuple[int | None, float | None]:
    """The limits a resumed run trains to: (total steps, total training seconds), None for none.

    A new --steps/--epochs sets the run's total length and drops a saved time limit (the length
    asked for is the plan); --max-seconds S gives this invocation S seconds of training; what is
    not passed stays as saved, so a plain --resume continues exactly what the last command planned.
    """
    steps, seconds = saved["total_steps"], saved.get("total_seconds")
    # epochs count in the run's own batches, not in this command's (unused) --batch-size default
    asked = replace(kept, steps=opts.steps, epochs=opts.epochs).step_limit(dataset_size)
    if asked is not None:
        steps, seconds = asked, None
    if opts.max_seconds is not None:
        seconds = elapsed + opts.max_seconds
    return steps, seconds


def _resume(family: Family, opts: TrainOptions, named: dict | None, log,
            group: distributed.Group | None) -> dict[str, Any]:
    run_dir = Path(opts.resume)
    saved = rundir.read_config(run_dir)
    if saved["family"] != family.name:
        raise UserError(f"{run_dir} is a {saved['family']} run; resume it with "
                        f"'gansrv train {saved['family']} --resume {run_dir}'")
    config = family.saved_config(saved["config"])
    t = saved["train"]
    distributed.check_resume(group, t, run_dir)
    distributed.check_family(distributed.world_of(group), family, config)
    kept = TrainOptions(data=tuple(t["data"]), limit=t.get("limit"), batch_size=t["batch_size"],
                        seed=t["seed"], device=opts.device, out=str(run_dir),
                        sample_every=t["sample_every"], checkpoint_every=t["checkpoint_every"],
                        log_every=t["log_every"], keep_checkpoints=t["keep_checkpoints"],
                        progress=opts.progress, max_seconds=opts.max_seconds,
                        deterministic=t.get("deterministic", True),
                        precision=t.get("precision", "fp32"), sync_bn=t.get("sync_bn", False),
                        labels_per_class=t.get("labels_per_class"), labelled=t.get("labelled"),
                        label_seed=t.get("label_seed"),
                        tensorboard=opts.tensorboard or t.get("tensorboard", False),
                        compile=opts.compile, channels_last=opts.channels_last)
    data = semi.apply(family, _load_data(family, config, kept, named), kept)
    fingerprint = data.fingerprint()
    if fingerprint != saved["data"]["fingerprint"]:
        raise UserError(f"the data at {', '.join(kept.data)} changed since {run_dir} started "
                        f"(fingerprint {fingerprint[:12]} vs {saved['data']['fingerprint'][:12]})")
    last = ckpt.latest_checkpoint(run_dir)
    trainer = _make_trainer(group, family, config, data, kept, run_dir, None, log)
    if last is not None:
        trainer.restore(last)
    steps, seconds = _resumed_plan(opts, kept, len(data), trainer.elapsed, t)
    at = trainer.ctx.step
    if steps is not None and at >= steps:
        raise UserError(f"{run_dir} is already at step {at} of {steps}; "
                        f"pass a larger --steps to train further")
    if seconds is not None and trainer.elapsed >= seconds:
        raise UserError(f"{run_dir} has used its time budget ({seconds:g} s of training) at step "
                        f"{at}; pass --max-seconds S to train S seconds more, or --steps N")
    trainer.total_steps, trainer.total_seconds = steps, seconds
    # a later plain --resume continues to this plan
    distributed.on_main(group, rundir.save_plan, run_dir, steps, seconds)
    plan = _plan_text(steps, seconds, trainer.elapsed)
    if last is None:  # killed before its first checkpoint: the seeded start is the same as then
        log(f"{run_dir} has no checkpoint yet: starting it over from step 0 for {plan}")
        trainer.truncate_metrics(0)
        return trainer.run()
    log(f"resuming {family.name} from {last.name} for {plan} on {trainer.device}")
    return trainer.run()
