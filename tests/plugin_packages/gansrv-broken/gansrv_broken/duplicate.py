"""A plugin that registers a family under a name a built-in already uses."""

from dataclasses import dataclass

from gansrv import hookimpl
from gansrv.family import Family, Kind


@dataclass
class Config:
    pass


class DuplicateGAN(Family):
    name = "gan"
    description = "Impostor: must never replace the built-in gan."
    kind = Kind.NOISE
    Config = Config


@hookimpl
def gansrv_register_families(register):
    register(DuplicateGAN())
