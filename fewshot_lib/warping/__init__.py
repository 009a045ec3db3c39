"""Warping: move the source photo's own pixels instead of repainting every one of them.

After the paper. Its generator G draws every pixel of the output from the landmark sketch
and the person's embedding ê: the face, the hair, the background, all repainted, so whatever
ê does not hold (a mole, the exact hairline, the wallpaper) is lost. A *warp* instead reads
the source photo at moved positions: the person's own pixels, moved. X2Face, the First Order
Motion Model, the bi-layer model and LivePortrait all do this, with learned motion. Here is
the classical version, a thin-plate spline that moves the source's landmarks onto the
target's (:mod:`~fewshot_lib.warping.tps`); the learned warping generator builds on the same
geometry (:mod:`~fewshot_lib.warping.grid`).

Conventions:

* images are float tensors in [-1, 1], NCHW, RGB;
* landmarks are float pixel ``(x, y)`` coordinates of the image they belong to, pixel
  centres at integers ``0 .. S-1`` (as in ``finetune.resize_landmarks``:
  ``(p + 0.5) · to / from − 0.5``);
* sampling grids are ``(B, H, W, 2)`` in ``grid_sample``'s normalised coordinates, always
  with ``align_corners=False``: pixel ``p`` of an ``S``-wide image is ``u = (2p + 1) / S − 1``
  (:func:`pixels_to_grid`), so −1 and +1 are the image's outer edges at every resolution;
* warps are backward: the grid holds, for each output pixel, where to read the input.

>>> grid = tps_grid(source_landmarks, target_landmarks, 64)          # doctest: +SKIP
>>> moved = warp(source_image, grid)                                  # (B, 3, 64, 64)
>>> spline = fit_tps(source_landmarks, target_landmarks, 64)          # the same warp on the 256² crop:
>>> moved_256 = warp(photo_256, spline_grid(spline, 256))             # exact,
>>> moved_256 = warp(photo_256, resize_grid(grid, 256))               # or cheap (bilinear)

Introduced in notebook 10.
"""
from .grid import grid_to_pixels, identity_grid, pixels_to_grid, resize_grid, warp
from .tps import (
    ANCHORS_PER_SIDE,
    REGULARIZATION,
    ThinPlateSpline,
    border_anchors,
    evaluate_tps,
    fit_tps,
    spline_grid,
    tps_grid,
    tps_warp,
)

__all__ = [
    "ANCHORS_PER_SIDE", "REGULARIZATION", "ThinPlateSpline", "border_anchors", "evaluate_tps", "fit_tps",
    "grid_to_pixels", "identity_grid", "pixels_to_grid", "resize_grid", "spline_grid", "tps_grid", "tps_warp",
    "warp",
]
