"""A plugin whose family has a Config that is not a dataclass, so no CLI options can be made."""

from gansrv import hookimpl
from gansrv.family import Family, Kind


class BadConfigGAN(Family):
    name = "badconfig"
    description = "Config is not a dataclass."
    kind = Kind.NOISE
    Config = object


@hookimpl
def gansrv_register_families(register):
    register(BadConfigGAN())
