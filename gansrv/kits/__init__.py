"""Family kits: what a group of families shares, between the building blocks (:mod:`gansrv.nn`)
and the plugins. Each kit is a Family base with the group's networks, optimizers and export graphs,
plus its update loop, so that a family is its Config and what differs:

- adversarial (gan, dcgan, cgan): :class:`AdversarialFamily`, :mod:`gansrv.kits.adversarial`;
- critic (wgan, wgan-gp, sngan): :class:`ConvCriticFamily`, :mod:`gansrv.kits.critic`;
- classifier-guided (acgan, wgan-c): :class:`ClassifierGANFamily`, :mod:`gansrv.kits.classifier`;
- autoencoder (ebgan, began): :class:`AutoencoderFamily`, :mod:`gansrv.kits.autoencoder`;

and what many families declare: :mod:`gansrv.kits.fields` (shared config fields, each family
picking its default), :mod:`gansrv.kits.data_efficient` (``--augment``) and
:mod:`gansrv.kits.progress` (a schedule in images seen kept by a family's own count). The bases
and fields are light at import (no torch): the CLI imports family modules to list them; the update loops
import torch and are imported when a step runs.
"""

from gansrv.kits import fields
from gansrv.kits.adversarial_family import AdversarialFamily
from gansrv.kits.autoencoder_family import AutoencoderFamily
from gansrv.kits.classifier_family import ClassifierGANFamily
from gansrv.kits.critic_family import ConvCriticFamily
from gansrv.kits.data_efficient import AugmentOptions

__all__ = ["AdversarialFamily", "AugmentOptions", "AutoencoderFamily", "ClassifierGANFamily",
           "ConvCriticFamily", "fields"]
