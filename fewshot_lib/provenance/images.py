"""Still images the library writes (PNG, JPEG): marked in the pixels, signed, then written atomically.

    write_image("runs/09/snapshot.png", frame)          # uint8 (H, W, 3) RGB
    save_figure(sample_grid(...), "runs/train/samples/step_000100.png", dpi=80)

Both put the watermark (:mod:`.watermark`) in the pixels and a signed C2PA manifest
(:mod:`.manifest`) in the file, and give the file its name only once it is complete.
Introduced in notebook 11.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from ..atomic import atomic_write
from .manifest import sign_bytes
from .payload import Payload
from .watermark import embed

FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


def write_image(path: str | Path, image: np.ndarray, payload: Payload = Payload(), model: str | None = None,
                quality: int = 95) -> Path:
    """Write uint8 ``(H, W, 3)`` RGB ``image`` to ``path`` (.png, .jpg) marked and signed; returns the path.

    ``model``: the model's name for the manifest; ``payload``: what the mark says (its 16 model bits).
    """
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"{path}: choose a file name ending in .png or .jpg")
    buffer = io.BytesIO()
    Image.fromarray(embed(image, payload)).save(buffer, FORMATS[path.suffix.lower()], quality=quality)
    signed = sign_bytes(buffer.getvalue(), path.suffix, model, path.name)
    with atomic_write(path) as f:
        f.write(signed)
    return path


def save_figure(figure, path: str | Path, dpi: float = 100, payload: Payload = Payload(),
                model: str | None = None, **options) -> Path:
    """A matplotlib figure written like :func:`write_image` (rendered at ``dpi``, on its own background);
    ``options`` go to ``figure.savefig`` (e.g. ``bbox_inches="tight"``)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, **options)
    with Image.open(buffer) as rendered:
        image = np.asarray(rendered.convert("RGB"))
    return write_image(path, image, payload, model)
