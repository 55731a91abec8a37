"""A plugin whose entry point is named like a built-in one ('gan'), as when the gan template is
copied and only the family is renamed. It provides the family 'gan2'."""

from dataclasses import dataclass

from gansrv import hookimpl
from gansrv.family import Family, Kind


@dataclass
class Config:
    pass


class ShadowGAN(Family):
    name = "gan2"
    description = "Test plugin whose entry point is named like the built-in gan."
    kind = Kind.NOISE
    Config = Config


@hookimpl
def gansrv_register_families(register):
    register(ShadowGAN())
