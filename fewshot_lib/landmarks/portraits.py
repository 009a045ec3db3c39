"""Two real, public-domain portraits that ship inside the course's dependencies (no download).

* ``"grace_hopper"``: Rear Admiral Grace Hopper, 512x600, from matplotlib's sample data;
* ``"astronaut"``: astronaut Eileen Collins, 512x512, from scikit-image's ``data`` module.

Both are US government works (public domain). Tests and notebooks use them so that landmark
detection runs offline and everywhere. Introduced in notebook 01.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

PORTRAITS = ("grace_hopper", "astronaut")


def load_portrait(name: str) -> np.ndarray:
    """The portrait ``name`` (one of :data:`PORTRAITS`) as HxWx3 uint8 RGB."""
    if name == "grace_hopper":
        from matplotlib import cbook

        with Image.open(cbook.get_sample_data("grace_hopper.jpg")) as image:
            return np.asarray(image.convert("RGB"))
    if name == "astronaut":
        import skimage.data

        return skimage.data.astronaut()
    raise ValueError(f"unknown portrait {name!r}: choose one of {', '.join(PORTRAITS)}")
