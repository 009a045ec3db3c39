"""The landmark sketch: the generator's input ``y`` (paper, Sec. 3).

The 68 points are joined into one polyline per facial part of :data:`schema.PARTS` (closed
for the eyes and lips), each part in its own fixed colour, on a black image. We store landmark
*coordinates* and rasterise on the fly, so the sketch's style and resolution stay changeable.

Drawing uses OpenCV's anti-aliased polylines with sub-pixel (fixed-point) coordinates: a few
thousand 256x256 sketches per second on one CPU core (``tools/bench_sketch.py``), so it is never
the training bottleneck (unlike matplotlib, which some re-implementations call per sample).

Coordinates follow OpenCV, dlib and FAN: pixel centres sit at integer ``(x, y)``, so an image
of side ``n`` spans ``[-0.5, n - 0.5]``. Scaling by ``s`` therefore maps ``p`` to
``(p + 0.5) * s - 0.5``, which keeps every sketch size aligned with the same image.
Introduced in notebook 01.
"""
from __future__ import annotations

import cv2
import numpy as np

from .schema import NUM_LANDMARKS, PARTS

SHIFT = 4
"""Fractional bits of the fixed-point coordinates handed to OpenCV (1/16 pixel precision)."""
LINE_WIDTH = 3.4 / 256
"""Drawn line width as a fraction of the sketch's side: 3.4 px at 256 px."""
_POLYLINES = [(np.array(part.indices), part.closed, part.colour) for part in PARTS]


def line_width(size: int) -> int:
    """OpenCV ``thickness`` for a sketch of side ``size``, so lines keep the same relative width.

    OpenCV's anti-aliased lines are about 1.4 px wide at thickness 1 and ``t + 1.4`` px at an
    even thickness ``t`` (an odd one draws like the next even one; measured, and checked in
    ``tests/test_sketch.py``): pick the even thickness whose drawn width is nearest
    ``size * LINE_WIDTH``, or 1 for small sketches.
    """
    return max(1, 2 * round((size * LINE_WIDTH - 1.4) / 2))


def _check(landmarks, batched: bool) -> np.ndarray:
    points = np.asarray(landmarks, dtype=np.float64)
    expected = ("N", NUM_LANDMARKS, 2) if batched else (NUM_LANDMARKS, 2)
    if points.ndim != len(expected) or points.shape[-2:] != (NUM_LANDMARKS, 2):
        raise ValueError(f"landmarks have shape {points.shape}, expected {expected} (x, y) pixel coordinates")
    if not np.isfinite(points).all():
        raise ValueError("landmarks contain NaN or infinity; drop frames without a detected face instead")
    return points


def _check_sizes(size: int, image_size: int | None) -> int:
    image_size = size if image_size is None else image_size
    if size < 1 or image_size < 1:
        raise ValueError(f"sizes must be positive (size={size}, image_size={image_size})")
    return image_size


def _draw(canvas: np.ndarray, points: np.ndarray, scale: float, thickness: int) -> None:
    """Draw the parts of one face into ``canvas`` (S, S, 3) in place; ``points`` (68, 2) float."""
    pixels = (points + 0.5) * scale - 0.5                          # image -> sketch pixels
    fixed = np.round(pixels * (1 << SHIFT)).astype(np.int32)      # (68, 2) fixed point
    for indices, closed, colour in _POLYLINES:
        cv2.polylines(canvas, [fixed[indices]], closed, colour, thickness, cv2.LINE_AA, SHIFT)


def draw_sketch(landmarks, size: int, image_size: int | None = None) -> np.ndarray:
    """The landmark sketch of one face as uint8 ``(size, size, 3)`` RGB.

    ``landmarks``: ``(68, 2)`` float ``(x, y)`` pixel coordinates in a square image of side
    ``image_size`` (default: ``size``). Each part of :data:`schema.PARTS` is an anti-aliased
    polyline in ``part.colour`` on black, its width proportional to ``size`` (:func:`line_width`),
    so the same points give the same-looking sketch at 128 or 512 pixels (below ~128 the
    lines cannot get thinner than one pixel).
    """
    points = _check(landmarks, batched=False)
    image_size = _check_sizes(size, image_size)
    canvas = np.zeros((size, size, 3), dtype=np.uint8)
    _draw(canvas, points, size / image_size, line_width(size))
    return canvas


def draw_sketches(landmarks, size: int, image_size: int | None = None) -> np.ndarray:
    """Sketches of a batch of faces: ``(N, 68, 2)`` -> uint8 ``(N, size, size, 3)``.

    The batched form for training data pipelines: one allocation, drawn in place.
    """
    points = _check(landmarks, batched=True)
    image_size = _check_sizes(size, image_size)
    canvases = np.zeros((len(points), size, size, 3), dtype=np.uint8)
    for canvas, face in zip(canvases, points):
        _draw(canvas, face, size / image_size, line_width(size))
    return canvases
