"""Pixels, sampling grids and the warp itself: the geometry every warp in the course shares.

A *sampling grid* says, for every pixel of the output, where to read the input:
``grid[b, i, j] = (u, v)``, in ``torch.nn.functional.grid_sample``'s normalised coordinates,
always with ``align_corners=False``. Pixel ``p`` (centres at integers ``0 .. S-1``, as the
landmarks have them) of an ``S``-wide image and the normalised coordinate ``u`` are::

    u = (2p + 1) / S − 1          p = ((u + 1) · S − 1) / 2

so ``u = −1`` and ``u = +1`` are the outer edges of the first and last pixels, and a point of
the picture has the same ``u`` at every resolution: a grid computed for a 64² image is also
one for a 256² image of the same content, once resampled (:func:`resize_grid`).

One helper per conversion, used everywhere (first-order-model mixed ``align_corners`` and
its "identity" warp is not one). Introduced in notebook 10.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

Size = int | tuple[int, int]
"""A square side ``S``, or ``(height, width)``."""


def _height_width(size: Size) -> tuple[int, int]:
    height, width = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if height < 1 or width < 1:
        raise ValueError(f"image size must be positive, got {size!r}")
    return height, width


def _widths(size: Size, like: torch.Tensor) -> torch.Tensor:
    """``(W, H)``: the image extent along x and along y, as a tensor like ``like``."""
    height, width = _height_width(size)
    return torch.tensor([width, height], dtype=like.dtype, device=like.device)


def pixels_to_grid(points: torch.Tensor, size: Size) -> torch.Tensor:
    """Pixel ``(x, y)`` coordinates ``(..., 2)`` of a ``size`` image → normalised grid coordinates ``(..., 2)``.

    ``u = (2p + 1) / S − 1`` (``align_corners=False``); ``size``: ``S`` or ``(height, width)``.
    """
    return (2 * points + 1) / _widths(size, points) - 1


def grid_to_pixels(grid: torch.Tensor, size: Size) -> torch.Tensor:
    """Normalised grid coordinates ``(..., 2)`` → pixel ``(x, y)`` coordinates of a ``size`` image, ``(..., 2)``.

    ``p = ((u + 1) · S − 1) / 2``, the inverse of :func:`pixels_to_grid`.
    """
    return ((grid + 1) * _widths(size, grid) - 1) / 2


def identity_grid(size: Size, batch: int = 1, device=None, dtype=None) -> torch.Tensor:
    """The grid that samples every pixel at its own centre, ``(batch, H, W, 2)``.

    ``warp(image, identity_grid(S))`` is ``image`` (bilinear weights 1 and 0). The batch is
    an expanded view: call ``.contiguous()`` before writing into it.
    """
    height, width = _height_width(size)
    dtype = dtype or torch.get_default_dtype()
    u = (2 * torch.arange(width, device=device, dtype=dtype) + 1) / width - 1     # (W,) x of each column
    v = (2 * torch.arange(height, device=device, dtype=dtype) + 1) / height - 1   # (H,) y of each row
    grid = torch.stack([u.expand(height, width), v[:, None].expand(height, width)], dim=-1)   # (H, W, 2)
    return grid.expand(batch, height, width, 2)


def warp(image: torch.Tensor, grid: torch.Tensor, padding_mode: str = "border") -> torch.Tensor:
    """Bilinear backward warp: ``out[b, :, i, j] = image[b, :, grid[b, i, j]]`` (``align_corners=False``).

    ``image`` ``(B, C, H, W)`` with ``grid`` ``(B, S, S', 2)`` → ``(B, C, S, S')``; or ``K`` images
    per sample at once, ``(B, K, C, H, W)`` with ``(B, K, S, S', 2)`` → ``(B, K, C, S, S')`` (the
    K references of a learned warping generator). A batch of 1 on either side is broadcast
    to the other's. The grid is cast to the image's dtype. ``padding_mode``: what lies
    outside the image (``"border"``: its edge pixels, ``"zeros"``, ``"reflection"``).
    """
    if image.dim() not in (4, 5) or grid.dim() != image.dim() or grid.shape[-1] != 2:
        raise ValueError(f"warp takes an image (B, C, H, W) with a grid (B, S, S, 2), or (B, K, C, H, W) with "
                         f"(B, K, S, S, 2); got image {tuple(image.shape)} and grid {tuple(grid.shape)}")
    lead = image.dim() - 3                                            # 1: (B,), 2: (B, K)
    try:
        shape = torch.broadcast_shapes(image.shape[:lead], grid.shape[:lead])
    except RuntimeError:
        raise ValueError(f"the image's batch {tuple(image.shape[:lead])} and the grid's "
                         f"{tuple(grid.shape[:lead])} differ (a batch of 1 is broadcast)") from None
    image = image.expand(*shape, *image.shape[lead:]).reshape(-1, *image.shape[lead:])   # (N, C, H, W)
    grid = grid.expand(*shape, *grid.shape[lead:]).reshape(-1, *grid.shape[lead:])       # (N, S, S', 2)
    out = F.grid_sample(image, grid.to(image.dtype), mode="bilinear", padding_mode=padding_mode,
                        align_corners=False)                                              # (N, C, S, S')
    return out.reshape(*shape, *out.shape[1:])


def _resample_axis(values: torch.Tensor, size: int, dim: int) -> torch.Tensor:
    """Linear interpolation of ``values`` along ``dim`` at the pixel centres of ``size`` cells spanning the
    same extent, extrapolated linearly beyond the outermost centres (so affine fields stay exact)."""
    old = values.shape[dim]
    if old == 1:                                                      # one sample: a constant
        return values.expand(*values.shape[:dim], size, *values.shape[dim + 1:])
    # new pixel i sits at old pixel coordinate (i + 0.5) · old / new − 0.5 (same normalised u)
    position = (torch.arange(size, device=values.device, dtype=values.dtype) + 0.5) * (old / size) - 0.5
    left = position.floor().clamp(0, old - 2)                         # left neighbour; ends extrapolate
    t = position - left                                               # weight of the right one (may be < 0 or > 1)
    left = left.long()
    shape = [1] * values.dim()
    shape[dim] = size
    t = t.reshape(shape)
    return values.index_select(dim, left) * (1 - t) + values.index_select(dim, left + 1) * t


def resize_grid(grid: torch.Tensor, size: Size) -> torch.Tensor:
    """A sampling grid ``(..., H, W, 2)`` resampled to ``size`` (``S`` or ``(height, width)``): ``(..., S, S, 2)``.

    Use it to apply a warp computed at the model's resolution (64²) to a larger image of the
    same content (the 256² crop). Normalised coordinates do not depend on the resolution, so
    the grid's *values* stay as they are; only where they are sampled changes: bilinear
    interpolation at the new pixel centres, extrapolated linearly past the outer ones
    (``F.interpolate`` would clamp there). Interpolating the grid or its displacement from
    the identity is the same, since linear interpolation reproduces the (affine) identity:
    affine grids (identity, translation, zoom, rotation) are resized exactly. For a
    thin-plate spline, evaluating the spline at the new size (:func:`~fewshot_lib.warping.tps.spline_grid`)
    is exact; this is its cheap approximation.
    """
    if grid.dim() < 3 or grid.shape[-1] != 2:
        raise ValueError(f"resize_grid takes a grid (..., H, W, 2), got {tuple(grid.shape)}")
    height, width = _height_width(size)
    grid = _resample_axis(grid, height, grid.dim() - 3)                # (..., S, W, 2)
    return _resample_axis(grid, width, grid.dim() - 2)                 # (..., S, S', 2)
