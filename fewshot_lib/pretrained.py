"""Checkpoints that ship with the library, so later notebooks need not train first.

``meta_cpu64``: the ``cpu64`` preset (64×64) meta-trained on the built-in synthetic dataset;
how it was made and how well it does is in ``data/README.md`` (model card).
``warp_cpu64``: the warping generator (notebook 10) meta-trained from ``meta_cpu64`` (its painter and D).
"""
from __future__ import annotations

from pathlib import Path
from .errors import MissingFileError

ASSETS = Path(__file__).parent / "assets"
CHECKPOINTS = {"meta_cpu64": "meta_cpu64.pt", "warp_cpu64": "warp_cpu64.pt"}


def pretrained_checkpoint(name: str = "meta_cpu64") -> Path:
    """The path of a shipped checkpoint; a clear error if the name or the file is missing."""
    if name not in CHECKPOINTS:
        raise KeyError(f"no shipped checkpoint {name!r}; choose one of {', '.join(CHECKPOINTS)}")
    path = ASSETS / CHECKPOINTS[name]
    if not path.is_file():
        raise MissingFileError(f"{path} is missing: reinstall fewshot_lib, or train your own with "
                                "`fewshot train --preset cpu64` and pass its checkpoint.pt instead")
    return path
