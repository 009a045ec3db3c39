"""Notebook 10 · after the paper: warping."""
from __future__ import annotations

import numpy as np
import torch

from ..data.synthetic.geometry import Camera, Expression, FaceShape, Pose, landmarks_3d
from ..warping import (ThinPlateSpline, border_anchors, evaluate_tps, fit_tps, identity_grid, pixels_to_grid,
                       spline_grid)
from .check import Check, as_float64, mean_face


def _two_faces(size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Two poses of the mean face: a source and a target ``(68, 2)`` float64 pixels, no two points coincident."""
    turned = Camera(Pose(yaw=-10, pitch=5, roll=4), size=size)
    return mean_face(size), turned.project(landmarks_3d(FaceShape(), Expression(mouth_open=0.3, smile=0.6)))


def _spline(c, w, a):
    """A :class:`~fewshot_lib.warping.ThinPlateSpline` of one spline ``(c (N, 2), w (N, 2), a (3, 2))``, float64."""
    c, w, a = (as_float64(t) for t in (c, w, a))
    return ThinPlateSpline(c[None], w[None], a[None])


def check_tps_fit(fit_tps_by_hand) -> None:
    """Exercise 10.1: ``fit_tps_by_hand(source (P, 2), target (P, 2), size) → (c (N, 2), w (N, 2), a (3, 2))``."""
    with Check("check_tps_fit",
               "f(p) = a₀ + A·p + Σ_j w_j U(‖p − c_j‖), U(r) = r² log r², through f(target_j) = source_j "
               "and the fixed border anchors, solved as [[K, P], [Pᵀ, 0]] [w; a] = [v; 0]",
               hint="normalise the pixels first (u = (2p + 1) / size − 1); the control points are the target "
                    "landmarks followed by the anchors, the values the source landmarks followed by the anchors "
                    "(N = P + 16); K holds U of every pairwise distance, with U(0) = 0 on its diagonal (r² log r² "
                    "is nan there); solve the whole (N + 3) × (N + 3) block system once for both coordinates: its "
                    "first N rows are w, the last 3 are a") as check:
        size = 64
        source, target = (torch.from_numpy(p) for p in _two_faces(size))           # (68, 2) float64 pixels
        found = fit_tps_by_hand(source.clone(), target.clone(), size)
        parts = [as_float64(t) for t in found] if isinstance(found, (tuple, list)) and len(found) == 3 else None
        n = 68 + len(border_anchors(size))
        shapes = [None if t is None else tuple(t.shape) for t in parts] if parts else None
        usable = bool(shapes) and shapes[0] == shapes[1] and len(shapes[0] or ()) == 2 and shapes[0][1] == 2 \
            and shapes[2] == (3, 2)
        if not check.holds("returns (c, w, a): control points c and weights w (N, 2), the affine part a (3, 2)",
                           usable, f"got {shapes if parts else type(found).__name__}"):
            return
        check.holds(f"N = 68 + {n - 68}: the landmarks and the border anchors are the control points",
                    shapes[0][0] == n, f"N = {shapes[0][0]}")
        mine = _spline(*parts)
        f = lambda points: evaluate_tps(mine, pixels_to_grid(points, size)[None])[0]   # pixels → normalised f(p)
        check.close("f(target_j) = source_j: each target landmark reads its source landmark (normalised)",
                    f(target), pixels_to_grid(source, size), atol=1e-4)
        anchors = border_anchors(size, dtype=torch.float64)
        check.close("the border anchors stay put: f(anchor) = anchor", f(anchors), pixels_to_grid(anchors, size),
                    atol=1e-4)
        c, w = parts[0], parts[1]
        check.close("Pᵀw = 0: Σ_j w_j = 0 and Σ_j w_j c_j = 0 (no affine part hides in the bends)",
                    torch.cat([torch.ones(len(c), 1, dtype=c.dtype), c], 1).T @ w, torch.zeros(3, 2), atol=1e-6)
        library = spline_grid(fit_tps(source, target, size, regularization=0.0), size)[0]    # (S, S, 2)
        everywhere = evaluate_tps(mine, identity_grid(size, dtype=torch.float64))[0]
        check.close("equals fewshot_lib.warping.fit_tps between the points too (f at every pixel centre)",
                    everywhere, library, atol=1e-4)
        same = _spline(*fit_tps_by_hand(source.clone(), source.clone(), size))
        check.close("equal landmarks give the identity, f(p) = p (w = 0, A = I, a₀ = 0)",
                    evaluate_tps(same, identity_grid(size, dtype=torch.float64))[0],
                    identity_grid(size, dtype=torch.float64)[0], atol=1e-6)


def check_tps_grid(spline_grid_by_hand) -> None:
    """Exercise 10.2: ``spline_grid_by_hand(c (N, 2), w (N, 2), a (3, 2), size) → grid (S, S, 2)``."""
    with Check("check_tps_grid",
               "grid[i, j] = f(u_j, v_i): the spline at the centre of pixel (row i, column j), u = (2j + 1)/S − 1",
               hint="evaluate f at the S·S pixel centres in normalised coordinates, x from the column and y "
                    "from the row (meshgrid's 'xy' indexing gives that layout); U of each point's distance to "
                    "every control point (0 at distance 0), an (S·S, N) array; f = the affine part plus the U "
                    "values weighted by w, one matrix product for all points; then back to (size, size, 2)"
               ) as check:
        source, target = (torch.from_numpy(p) for p in _two_faces(64))
        spline = fit_tps(source, target, 64)                                          # float64, batch of 1
        c, w, a = spline.controls[0], spline.weights[0], spline.affine[0]
        grid = as_float64(spline_grid_by_hand(c.clone(), w.clone(), a.clone(), 64))
        check.close("equals fewshot_lib.warping.spline_grid at 64 × 64", grid, spline_grid(spline, 64)[0], atol=1e-6)
        check.close("and at 48 × 48: one spline serves every resolution (normalised coordinates)",
                    spline_grid_by_hand(c.clone(), w.clone(), a.clone(), 48), spline_grid(spline, 48)[0], atol=1e-6)
        same = fit_tps(source, source, 64)
        check.close("equal landmarks: the identity grid (every pixel reads its own centre)",
                    spline_grid_by_hand(same.controls[0], same.weights[0], same.affine[0], 64),
                    identity_grid(64, dtype=torch.float64)[0], atol=1e-6)
        rng = np.random.default_rng(0)
        cells = rng.choice(20 * 20, size=12, replace=False)                            # 12 distinct pixels
        pixels = torch.from_numpy(np.stack([cells % 20, cells // 20], -1) * 3.0 + 2)   # (12, 2) integer (x, y)
        moved = pixels + torch.from_numpy(rng.uniform(-2, 2, (12, 2)))               # where each one reads
        exact = fit_tps(moved, pixels, 64, regularization=0.0)
        lookup = as_float64(spline_grid_by_hand(exact.controls[0], exact.weights[0], exact.affine[0], 64))
        if lookup is not None and lookup.shape == (64, 64, 2):
            lookup = lookup[pixels[:, 1].long(), pixels[:, 0].long()]                  # grid[y, x]: (12, 2)
        check.close("grid[y, x] at a target pixel holds its source point (x, y): rows are y, columns x, (x, y) order",
                    lookup, pixels_to_grid(moved, 64), atol=1e-6)
