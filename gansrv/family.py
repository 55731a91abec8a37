"""The contract every GAN family plugin fulfils (the hooks are listed on :class:`Family`).

A family owns the maths (networks, losses, update order); the training engine owns everything
else (loop, devices, seeds, checkpoints, logging). A plugin subclasses :class:`Family`, fills in the
class attributes and the hooks, and registers an instance through the ``gansrv_register_families``
hook. The CLI, the engine and the exporter only ever talk to this class. Torch-free at import.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from gansrv.kinds import DIRECTIONS, DataForm, Kind

if TYPE_CHECKING:  # torch stays out of the import path of the CLI's fast commands
    import torch
    from torch import nn

    from gansrv.data import DataSpec
    from gansrv.step import StepContext

__all__ = ["DataForm", "ExportSpec", "Family", "Kind", "check_config", "config_fields", "option"]


def option(default: Any, help: str, choices: tuple[Any, ...] | None = None,
           min: float | None = None, max: float | None = None, **kw: Any) -> Any:
    """A config field whose help text, choices and bounds become a CLI option of ``gansrv train``.

    Bounds are checked for every source of a value (flag, config file, Python API) by
    :func:`check_config`, so a family's code can rely on them.
    """
    meta: dict[str, Any] = {"help": help}
    if choices is not None:
        meta["choices"] = tuple(choices)
    if min is not None:
        meta["min"] = min
    if max is not None:
        meta["max"] = max
    if isinstance(default, (list, dict, set)):
        return field(default_factory=lambda: type(default)(default), metadata=meta, **kw)
    return field(default=default, metadata=meta, **kw)


@dataclass
class ExportSpec:
    """One graph to export: the module, example inputs by name and what the graph means.

    ``inputs`` names the graph's inputs in ``forward``'s order, from the vocabulary ``z``,
    ``label``, ``code``, ``image`` (and ``target``, a pair's second image): the exporter builds
    seeded example tensors for them (:mod:`gansrv.export.examples`), with the shapes of ``shapes``
    (per input, without the batch axis) where the run's own (latent size, data channels, image
    size) are not the right ones. A dict of example tensors (first axis: batch) is accepted too.
    The exporter makes the batch axis dynamic. ``metadata`` is merged
    into the ONNX file's ``metadata_props`` so that the runtime never needs the run directory.
    ``size_multiple`` > 0 makes height and width of the 4-D inputs dynamic too, in multiples of it
    (a fully convolutional image -> image graph); parity is then also checked at a second size.
    ``kind`` overrides the run's kind in the metadata of a graph that is not a generator of the
    family's kind, e.g. ``classifier`` for an image -> class-probabilities graph.
    ``class_names`` names the values the ``label`` input takes when they are not the data's classes
    (InfoGAN's categorical code, learnt without labels); None means the data's classes.
    """

    name: str
    module: nn.Module
    inputs: dict[str, torch.Tensor] | tuple[str, ...]
    outputs: list[str] = field(default_factory=lambda: ["image"])
    metadata: dict[str, Any] = field(default_factory=dict)
    size_multiple: int = 0
    kind: Kind | str | None = None
    class_names: list[str] | None = None
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)


class Family:
    """Base class of a GAN family plugin: the contract between a family and the core.

    **Class attributes** (set them on the subclass): ``name`` (the ``gansrv train NAME`` word),
    ``description`` (one line for ``gansrv families``), ``kind`` (a :class:`Kind`: noise,
    conditional, code or image), ``Config`` (a dataclass whose :func:`option` fields become the CLI
    options of ``gansrv train NAME``) and, optionally, ``needs_labels``, ``semi_supervised``,
    ``smoke_args`` and ``legacy_config``.

    **Required hooks** (the engine calls them in this order, once per run unless said otherwise):

    - :meth:`build` (config, data) -> networks by role name, when a run starts or resumes;
    - :meth:`optimizers` (config, modules) -> one optimizer per independently updated player;
    - :meth:`train_step` (batch, ctx) -> losses, once per generator step, with a
      :class:`gansrv.step.StepContext`: all randomness and extra batches come from it;
    - :meth:`export_graphs` (modules, config, data) -> :class:`ExportSpec` list, by ``gansrv export``.

    **Optional hooks** (defaults below): :meth:`saved_config` (loading a saved run's config),
    :meth:`resolve_config` (once before config.json is written), :meth:`validate` (before training),
    :meth:`kind_for`, :meth:`image_size`, :meth:`data_form` and :meth:`direction` (what the data
    is and how it is loaded), :meth:`takes_noise` and :meth:`latent_dim` (the sample grids'
    noise and the export metadata), :meth:`sample` (the training grids, every ``--sample-every``),
    :meth:`multiprocess` (before a run of several torchrun processes: may it train so).

    **Config fields the core reads by name** (only through the defaults of the hooks above, so a
    family that overrides a hook need not have the field): ``conditional`` (:meth:`kind_for`),
    ``image_size`` (:meth:`image_size`), ``latent_dim`` (:meth:`latent_dim`) and ``direction``
    (:meth:`direction`); on the Config class, ``legacy_values`` (:meth:`saved_config`) and
    ``for_data(data)`` (:meth:`resolve_config`). Everything else in the Config is the family's.
    Config keys are what config.json stores: renaming one breaks loading older runs.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    kind: ClassVar[Kind]
    Config: ClassVar[type]  # a dataclass; its fields (see `option`) become CLI options
    needs_labels: ClassVar[bool] = False  # refuse unlabelled data before training starts
    # Semi-supervised support: labels come only from `StepContext.next_labelled()` (the main stream
    # gives unlabelled images), so `gansrv train --labels-per-class M / --labelled N` may keep few.
    semi_supervised: ClassVar[bool] = False
    # `gansrv train` flags that shrink the networks for the family contract tests (seconds, not minutes)
    smoke_args: ClassVar[tuple[str, ...]] = ()
    # Config field -> the value a run saved before that field existed trained with, when it differs
    # from the field's default (e.g. a new option that is on by default): see `saved_config`.
    legacy_config: ClassVar[Mapping[str, Any]] = {}

    # -- set-up -------------------------------------------------------------------------------
    def saved_config(self, values: Mapping[str, Any]) -> Any:
        """The Config of a saved run (its config.json ``config``). A field the run predates gets its
        ``legacy_config`` value, not the current default, so the run rebuilds the networks its
        checkpoint holds and resumes with the recipe it started with. Fields a Config inherits
        from a shared mechanism bring their own such values (the Config's ``legacy_values``)."""
        inherited = getattr(self.Config, "legacy_values", {})
        return self.Config(**{**inherited, **self.legacy_config, **values})

    def double_backward(self, config: Any) -> set[str]:
        """Roles of the modules whose gradient the step differentiates again (a gradient penalty).
        ``--compile`` leaves these eager: torch.compile's autograd has no double backward, and the
        step would fail at its first penalty."""
        return set()

    def resolve_config(self, config: Any, data: DataSpec) -> Any:
        """The config a new run trains with on ``data``: data-dependent values (an ``auto``) decided.

        Called once before config.json is written, so the run records what it decided and a resume
        never decides again. The default asks the Config itself (its ``for_data(data)``, which a
        shared mechanism's options provide) and otherwise keeps it."""
        for_data = getattr(config, "for_data", None)
        return for_data(data) if callable(for_data) else config

    def kind_for(self, config: Any) -> Kind:
        """The kind of model `config` builds. The class attribute ``kind`` (what ``gansrv families``
        lists) unless conditioning is a config option of the family: then the engine (sample grids,
        labelled data required), the exporter (metadata, class names) and the runtime follow this.
        The default reads a boolean config field ``conditional``, the option's common name."""
        return Kind.CONDITIONAL if getattr(config, "conditional", False) else self.kind

    def image_size(self, config: Any) -> int | None:
        """Side length the data is resized to; None keeps the data's own size."""
        return getattr(config, "image_size", None)

    def data_form(self, config: Any) -> DataForm:
        """What ``--data`` holds: plain images (the default), (A, B) pairs, or two unpaired domains
        (``trainA/``, ``trainB/``). For pairs and domains, ``train_step`` gets batches
        ``(input, target)`` of images in [-1, 1] (one image of each domain when unpaired), and
        :meth:`sample` gets input images. (A family written against the older one-string
        :meth:`pairing` keeps working: its answer is read here.)"""
        if type(self).pairing is not Family.pairing:
            old = self.pairing(config)
            if old is not None:
                return DataForm.UNPAIRED if old == DataForm.UNPAIRED.value else DataForm.PAIRED
        return DataForm.IMAGES

    def direction(self, config: Any) -> str:
        """For paired data: which side is the input, ``AtoB`` (left/A -> right/B) or ``BtoA``.
        The default reads a config field ``direction`` (``AtoB`` without one)."""
        if type(self).pairing is not Family.pairing:
            old = self.pairing(config)
            if old in DIRECTIONS:
                return old
        return getattr(config, "direction", "AtoB")

    def pairing(self, config: Any) -> str | None:
        """Both answers in the older one-string form: None for image data, ``unpaired`` for two
        domains, else the :meth:`direction`. Derived from :meth:`data_form`; override those two."""
        form = self.data_form(config)
        if form is DataForm.IMAGES:
            return None
        return DataForm.UNPAIRED.value if form is DataForm.UNPAIRED else self.direction(config)

    def validate(self, config: Any, data: DataSpec) -> None:
        """Raise :class:`gansrv.errors.UserError` if this config cannot train on this data."""

    def multiprocess(self, config: Any) -> str | None:
        """Why this config cannot train under several processes (torchrun) yet, or None when it
        can. The engine averages gradients and BatchNorm statistics; what a step keeps per process
        in ``ctx.state`` it cannot merge, so a family that keeps such state says so here (one
        ``error:`` line before anything starts) until it syncs it."""
        return None

    def build(self, config: Any, data: DataSpec) -> dict[str, nn.Module]:
        """Create the networks, by role name (``G``, ``D``, ...). Weights are the family's to init.
        Role names are checkpoint key prefixes: keep them stable."""
        raise NotImplementedError

    def optimizers(self, config: Any, modules: Mapping[str, nn.Module]) -> dict[str, Any]:
        """Create one optimizer per independently updated player, by name."""
        raise NotImplementedError

    # -- training -----------------------------------------------------------------------------
    def train_step(self, batch: Any, ctx: StepContext) -> dict[str, float]:
        """One generator iteration (with as many D updates as the recipe asks); returns losses.

        Take randomness only from ``ctx`` (``ctx.randn``, ``ctx.randint``) and extra real batches
        only from ``ctx.next_batch()``, so that a resumed run repeats an uninterrupted one exactly;
        values that must survive a resume go in ``ctx.state``.
        """
        raise NotImplementedError

    # -- sampling and export ------------------------------------------------------------------
    def sample(
        self,
        modules: Mapping[str, nn.Module],
        inputs: torch.Tensor,
        labels: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Images in [-1, 1] for the training grids, in eval mode and without gradients.

        ``inputs`` is what the generator maps from: latent vectors z (batch, :meth:`latent_dim`)
        for noise, conditional and code families, input images in [-1, 1] for image families
        (:meth:`data_form` not ``images``); ``labels`` are given for conditional kinds."""
        g = modules["G"]
        return g(inputs) if labels is None else g(inputs, labels)

    def takes_noise(self, config: Any) -> bool:
        """Whether the generator takes a noise vector z. The default: every kind but ``image``."""
        return self.kind_for(config) is not Kind.IMAGE

    def latent_dim(self, config: Any) -> int:
        """Size of z; asked only when :meth:`takes_noise`. The default reads ``latent_dim``."""
        return int(config.latent_dim)

    def export_graphs(self, modules: Mapping[str, nn.Module], config: Any, data: DataSpec
                      ) -> list[ExportSpec]:
        """The graphs ``gansrv export`` writes; the first one is the model users generate from."""
        raise NotImplementedError


def config_fields(config_cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(config_cls) if f.init]


def check_config(config: Any) -> None:
    """Raise UserError for a value outside its field's choices or bounds."""
    from gansrv.errors import UserError

    for f in config_fields(type(config)):
        value, meta = getattr(config, f.name), f.metadata
        flag = "--" + f.name.replace("_", "-")
        if "choices" in meta and value not in meta["choices"]:
            raise UserError(f"{flag} must be one of {', '.join(map(str, meta['choices']))}, got {value!r}")
        if "min" in meta and value < meta["min"]:
            raise UserError(f"{flag} must be >= {meta['min']}, got {value}")
        if "max" in meta and value > meta["max"]:
            raise UserError(f"{flag} must be <= {meta['max']}, got {value}")
