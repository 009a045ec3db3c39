"""The classical landmark warp: a thin-plate spline (TPS) from the source's landmarks to the target's.

A TPS is the smoothest map (least bending energy ∬ ‖∇²f‖²) that sends given control points
to given values. Here it is a *backward* warp: for every pixel ``p`` of the target image it
says where to read the source image, so it interpolates ``f(t_j) = s_j`` (target landmark →
source landmark) and ``warp(source_image, tps_grid(s, t, S))`` moves the source's face so
that its landmarks land on ``t``. In normalised coordinates (``grid.py``)::

    f(p) = a₀ + A·p + Σ_j w_j U(‖p − c_j‖),      U(r) = r² log r²  (U(0) = 0)

with control points ``c_j`` = the target points and values ``v_j`` = the source points. The
``N + 3`` unknowns per coordinate (``w`` and ``a = (a₀, A)``) solve::

    ⎡ K + λI   P ⎤ ⎡ w ⎤   ⎡ v ⎤       K_ij = U(‖c_i − c_j‖),  P = [1  c]  (N × 3),
    ⎣ Pᵀ       0 ⎦ ⎣ a ⎦ = ⎣ 0 ⎦       Pᵀw = 0: no affine part hides in the bends.

λ = 0 interpolates exactly; λ > 0 (``regularization``) trades a little accuracy at the points
for a system that never becomes singular (coincident control points, e.g. the inner lips of a
closed mouth, make two rows of K equal): f(c_i) = v_i − λ w_i.

**Border anchors** (``anchors=True``): 4 + 4·``per_side`` points on the image's outer edge,
mapped to themselves, appended to both point sets, so the background stays put far from the
face instead of following the spline's affine part.

**Any resolution.** Everything happens in normalised coordinates, which do not depend on the
image size, so one spline serves every resolution. The warp is defined by landmarks at the
model's size (64²) and applied to the 256² photo crop either

* exactly: ``spline_grid(fit_tps(s64, t64, 64), 256)`` — the same as
  ``tps_grid(resize_landmarks(s64, 64, 256), resize_landmarks(t64, 64, 256), 256)``; or
* cheaply: ``resize_grid(tps_grid(s64, t64, 64), 256)``, 16 times fewer kernel evaluations;
  bilinear between the 64² grid's points, so off by ~0.01 pixel of the 256² crop on average
  and up to ~1 pixel where landmarks crowd and the spline bends sharply (the lips).

Batched over B (no Python loop over frames or pixels), differentiable with respect to the
points; the solve runs in float64, the grid in the points' dtype, on the points' device.
Introduced in notebook 10.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .grid import Size, grid_to_pixels, identity_grid, pixels_to_grid, warp

REGULARIZATION = 1e-6
"""Default λ added to the kernel's diagonal, in normalised units (U ranges over ≈ −0.4 .. 17 on the image).

Small enough that each landmark lands within ~1e-3 pixel of a 64² image for ordinary head
motion (the miss is λ·w_j; a few times more where points nearly coincide, as the lids of a
closed eye), large enough to keep coincident control points solvable. Raise it (1e-4 .. 1e-3)
for a smoother warp of jittery detector landmarks."""
ANCHORS_PER_SIDE = 3
"""Border anchors between the corners on each side: 4 + 4 · 3 = 16 anchors by default."""


def _tiny(like: torch.Tensor) -> float:
    return torch.finfo(like.dtype).tiny


@dataclass(frozen=True)
class ThinPlateSpline:
    """The coefficients of a batch of fitted splines, in normalised coordinates (resolution-free).

    ``f(p) = affine[0] + p · affine[1:] + Σ_j weights_j U(‖p − controls_j‖)``.
    """

    controls: torch.Tensor   # (B, N, 2) the c_j: target points, then anchors
    weights: torch.Tensor    # (B, N, 2) the w_j
    affine: torch.Tensor     # (B, 3, 2) a₀ (row 0) and A (rows 1, 2)

    def __len__(self) -> int:
        return len(self.controls)


def _kernel(r2: torch.Tensor) -> torch.Tensor:
    """U = r² log r² from squared distances floored at ``tiny`` (the floor stands for r = 0: U ≈ 0, and
    the gradient there stays finite, where ``log 0`` would give NaN)."""
    if r2.requires_grad and torch.is_grad_enabled():
        return r2 * torch.log(r2)
    return torch.log(r2).mul_(r2)                                        # in place: one big buffer less


def _anchor_grid(per_side: int, device=None, dtype=None) -> torch.Tensor:
    """Border anchors in normalised coordinates, ``(4 + 4 · per_side, 2)``: on the edge u, v = ±1."""
    t = torch.linspace(-1, 1, per_side + 2, device=device, dtype=dtype)   # corners included
    inner = t[1:-1]
    one = torch.ones_like(t)
    side = torch.ones_like(inner)
    return torch.cat([torch.stack([t, -one], -1), torch.stack([t, one], -1),               # top, bottom rows
                      torch.stack([-side, inner], -1), torch.stack([side, inner], -1)])   # left, right columns


def border_anchors(size: Size, per_side: int = ANCHORS_PER_SIDE, device=None, dtype=None) -> torch.Tensor:
    """Fixed points on the outer edge of a ``size`` image, in pixels, ``(4 + 4 · per_side, 2)``.

    The 4 corners and ``per_side`` evenly spaced points along each side, on the pixels' outer
    edge (``−0.5`` and ``S − 0.5``, normalised ±1: the same points at every resolution).
    """
    if per_side < 0:
        raise ValueError(f"per_side counts anchors between the corners: 0 or more, got {per_side}")
    grid = _anchor_grid(per_side, device, dtype or torch.get_default_dtype())
    return grid_to_pixels(grid, size)


def _as_points(points, name: str) -> torch.Tensor:
    """``(P, 2)`` or ``(B, P, 2)``, numpy or torch → a floating tensor ``(B, P, 2)``."""
    if not isinstance(points, torch.Tensor):
        points = torch.as_tensor(np.asarray(points))
    if points.dim() not in (2, 3) or points.shape[-1] != 2 or points.shape[-2] == 0:
        raise ValueError(f"{name} must be pixel (x, y) points, (P, 2) for one image or (B, P, 2) for a batch "
                         f"(e.g. (68, 2) landmarks); got shape {tuple(points.shape)}")
    if not points.is_floating_point():
        points = points.float()
    return points if points.dim() == 3 else points[None]


def _point_pair(source_points, target_points) -> tuple[torch.Tensor, torch.Tensor]:
    """Both point sets as ``(B, P, 2)`` tensors of one dtype, a batch of 1 broadcast to the other's."""
    source, target = _as_points(source_points, "source_points"), _as_points(target_points, "target_points")
    if source.shape[1] != target.shape[1]:
        raise ValueError(f"source_points and target_points must be the same points: got {source.shape[1]} "
                         f"source and {target.shape[1]} target points (shapes {tuple(source.shape)} and "
                         f"{tuple(target.shape)})")
    if source.shape[0] != target.shape[0] and 1 not in (source.shape[0], target.shape[0]):
        raise ValueError(f"source_points and target_points have batches of {source.shape[0]} and "
                         f"{target.shape[0]}: give equal batches, or one set (P, 2) for all")
    batch = max(source.shape[0], target.shape[0])
    dtype = torch.promote_types(source.dtype, target.dtype)
    device = target.device if isinstance(target_points, torch.Tensor) else source.device
    return (source.to(device, dtype).expand(batch, -1, -1), target.to(device, dtype).expand(batch, -1, -1))


def fit_tps(source_points, target_points, size: Size, anchors: bool = True,
            regularization: float = REGULARIZATION) -> ThinPlateSpline:
    """Fit the splines ``f(target) = source`` of a batch: ``(P, 2)`` or ``(B, P, 2)`` pixels of a ``size`` image.

    Returns the coefficients (normalised coordinates, dtype and device of the points);
    evaluate them with :func:`evaluate_tps` on a grid of any size. ``anchors``: append
    :func:`border_anchors` to both sets (they stay put); ``regularization``: λ ≥ 0 on K's
    diagonal (see the module's docstring).
    """
    if regularization < 0:
        raise ValueError(f"regularization is a λ ≥ 0 added to the kernel's diagonal, got {regularization}")
    source, target = _point_pair(source_points, target_points)               # (B, P, 2) pixels
    dtype, batch = source.dtype, source.shape[0]
    v = pixels_to_grid(source.double(), size)                                 # (B, P, 2) values
    c = pixels_to_grid(target.double(), size)                                 # (B, P, 2) control points
    if anchors:
        fixed = _anchor_grid(ANCHORS_PER_SIDE, c.device, c.dtype).expand(batch, -1, -1)   # (B, M, 2)
        v, c = torch.cat([v, fixed], 1), torch.cat([c, fixed], 1)            # (B, N, 2), N = P + M
    elif c.shape[1] < 3:
        raise ValueError(f"a spline without anchors needs at least 3 points (not on one line), got {c.shape[1]}")
    n = c.shape[1]
    r2 = (c[:, :, None] - c[:, None]).square().sum(-1)                        # (B, N, N) ‖c_i − c_j‖²
    eye = torch.eye(n, dtype=c.dtype, device=c.device)
    K = _kernel(r2.clamp_min(_tiny(r2))) + regularization * eye            # (B, N, N) K + λI
    P = torch.cat([torch.ones_like(c[..., :1]), c], -1)                       # (B, N, 3) P = [1 c]
    system = torch.cat([torch.cat([K, P], 2),                                 # ⎡ K + λI  P ⎤
                        torch.cat([P.transpose(1, 2), c.new_zeros(batch, 3, 3)], 2)], 1)   # ⎣ Pᵀ      0 ⎦
    rhs = torch.cat([v, v.new_zeros(batch, 3, 2)], 1)                         # (B, N + 3, 2) [v; 0]
    solution = torch.linalg.solve(system, rhs)                                # (B, N + 3, 2) [w; a]
    w, a = solution[:, :n], solution[:, n:]
    # Coincident control points share one kernel column: their weights can be large and
    # opposite (λ ≪ 1), harmless in float64 but not once cast. Fold each group's weights onto
    # its first point (exact: the columns are equal) before casting back.
    first = (r2 == 0).int().argmax(-1)                                        # (B, N) first j with c_j = c_i
    w = torch.zeros_like(w).scatter_add(1, first[..., None].expand(-1, -1, 2), w)
    return ThinPlateSpline(c.to(dtype), w.to(dtype), a.to(dtype))


def evaluate_tps(spline: ThinPlateSpline, points: torch.Tensor) -> torch.Tensor:
    """``f(points)``: normalised points ``(B, ..., 2)`` (a batch of 1 is broadcast) → ``(B, ..., 2)``.

    Any points (landmarks, a deformed grid); for the regular grid of an image,
    :func:`spline_grid` gives the same values (to float rounding) faster and in less memory
    (here: a few ``(B, M, N)`` tensors for M points and N control points).
    """
    controls, weights, affine = spline.controls, spline.weights, spline.affine
    batch = controls.shape[0]
    if points.dim() < 2 or points.shape[-1] != 2 or points.shape[0] not in (1, batch):
        raise ValueError(f"points must be normalised (x, y) coordinates (B, ..., 2) with B = {batch} (or 1), "
                         f"got shape {tuple(points.shape)}")
    shape = (batch, *points.shape[1:])
    p = points.to(controls.dtype).expand(shape).reshape(batch, -1, 2)        # (B, M, 2)
    dx2 = (p[..., :1] - controls[:, None, :, 0]).square() + _tiny(p)         # (B, M, N) (p_x − c_jx)², floored
    r2 = (p[..., 1:] - controls[:, None, :, 1]).square() + dx2               # (B, M, N) ‖p − c_j‖²
    f = torch.baddbmm(affine[:, :1], p, affine[:, 1:])                       # (B, M, 2) a₀ + A·p
    f = torch.baddbmm(f, _kernel(r2), weights)                               # + Σ_j w_j U(‖p − c_j‖)
    return f.reshape(shape)


def spline_grid(spline: ThinPlateSpline, size: Size) -> torch.Tensor:
    """The splines evaluated at every pixel centre of a ``size`` image: the sampling grids ``(B, S, S, 2)``.

    Any ``size``: the spline of 64² landmarks evaluated at 256² is the exact high-resolution
    warp. The pixels form a lattice, so ``‖p − c_j‖² = dx²_j + dy²_j`` is a broadcast sum of a
    per-column table ``dx²_j = (u − c_jx)²`` and a per-row one ``dy²_j = (v − c_jy)²``; the
    sum over control points is a matrix product per image row. Without gradients, everything
    happens in one ``(B, H, N, W)`` buffer (22 MB per 256² frame: a second one costs more in
    fresh-memory page faults than the arithmetic), with U = r² log r² split as
    ``Σ_j w_j U_j = Σ_j w_j dy²_j log r²_j + Σ_j w_j dx²_j log r²_j``.
    """
    controls, weights, affine = spline.controls, spline.weights, spline.affine
    batch = controls.shape[0]
    identity = identity_grid(size, 1, controls.device, controls.dtype)[0]    # (H, W, 2)
    height, width = identity.shape[:2]
    u, v = identity[0, :, 0], identity[:, 0, 1]                              # (W,) x of columns, (H,) y of rows
    dx2 = (u - controls[..., :1]).square() + _tiny(u)                        # (B, N, W) (u − c_jx)², floored
    dy2 = (v - controls[..., 1:]).square().transpose(1, 2).contiguous()      # (B, H, N) (v − c_jy)²
    r2 = dy2[..., None] + dx2[:, None]                                       # (B, H, N, W) ‖p − c_j‖², p in row h
    w = weights.transpose(1, 2)[:, None]                                     # (B, 1, 2, N)
    if torch.is_grad_enabled() and (r2.requires_grad or w.requires_grad):   # autograd keeps r², log r²
        bend = w @ _kernel(r2)                                               # (B, H, 2, W) Σ_j w_j U(‖p − c_j‖)
    else:
        log_r2 = r2.log_()                                                   # in place: the only big buffer
        bend = (w * dy2[:, :, None]) @ log_r2                                # Σ_j w_j dy²_j log r²_j
        bend += w @ log_r2.mul_(dx2[:, None])                                # + Σ_j w_j dx²_j log r²_j
    flat = identity.reshape(1, -1, 2).expand(batch, -1, -1)                   # (B, H·W, 2)
    f = torch.baddbmm(affine[:, :1], flat, affine[:, 1:])                    # (B, H·W, 2) a₀ + A·p
    return f.reshape(batch, height, width, 2) + bend.transpose(2, 3)         # + Σ_j w_j U(‖p − c_j‖)


def tps_grid(source_points, target_points, size: Size, anchors: bool = True,
             regularization: float = REGULARIZATION) -> torch.Tensor:
    """The TPS sampling grid ``(B, S, S, 2)`` that moves ``source_points`` onto ``target_points``.

    Points: ``(P, 2)`` or ``(B, P, 2)`` (numpy or torch) pixels of a ``size`` image (``S`` or
    ``(height, width)``); ``warp(source_image, grid)`` is the warped source. For the same warp
    at another resolution, see the module's docstring.
    """
    return spline_grid(fit_tps(source_points, target_points, size, anchors, regularization), size)


def tps_warp(image: torch.Tensor, source_points, target_points, anchors: bool = True,
             regularization: float = REGULARIZATION, padding_mode: str = "border") -> torch.Tensor:
    """The source ``image`` ``(B, C, H, W)`` warped so that its ``source_points`` land on ``target_points``.

    Points: pixels of the image, ``(P, 2)`` or ``(B, P, 2)``; the grid is computed at the
    image's own size, on its device (float32 for half-precision images).
    """
    if not isinstance(image, torch.Tensor) or image.dim() != 4:
        raise ValueError(f"image must be a float tensor (B, C, H, W) in [-1, 1], got "
                         f"{tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__}")
    dtype = image.dtype if image.dtype in (torch.float32, torch.float64) else torch.float32
    source, target = _point_pair(source_points, target_points)
    grid = tps_grid(source.to(image.device, dtype), target.to(image.device, dtype), tuple(image.shape[-2:]),
                    anchors, regularization)
    return warp(image, grid, padding_mode)
