"""Building blocks families share: layer stacks, weight init, losses and the classic GAN step.

Nothing here names a family; a family picks the pieces its recipe calls for.
"""
