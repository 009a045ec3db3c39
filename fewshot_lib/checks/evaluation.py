"""Notebook 08 · evaluation."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..evaluate import nearest_pose_frames, ssim
from ..finetune import Shots
from .check import Check, mean_face, seeded_rng


def check_ssim(ssim_by_hand) -> None:
    """Exercise 8.1: ``ssim_by_hand(x (B, C, H, W), y) → (B,)`` SSIM of images in [-1, 1]."""
    with Check("check_ssim",
               "SSIM = mean (2 μ_x μ_y + C₁)(2 σ_xy + C₂) / ((μ_x² + μ_y² + C₁)(σ_x² + σ_y² + C₂)), "
               "11×11 Gaussian window, σ = 1.5",
               hint="to [0, 1]: (x + 1) / 2; g = exp(−k² / (2 · 1.5²)) for k = −5 … 5, window g gᵀ / (Σ g)²; "
                    "local means F.conv2d(z, window.expand(C, 1, 11, 11), groups=C) with no padding, of x, y, x², y², "
                    "xy; C₁ = 0.01², C₂ = 0.03²; mean over (C, H, W)") as check:
        g = seeded_rng(0)
        y = F.interpolate(torch.rand(3, 3, 8, 8, generator=g) * 2 - 1, size=32, mode="bilinear")   # smooth (B, C, S, S)
        x = (y + 0.2 * torch.randn(3, 3, 32, 32, generator=g)).clamp(-1, 1)      # noisy copies
        mine = ssim_by_hand(x, y)
        check.close("equals fewshot_lib.evaluate.ssim, one value per image", mine, ssim(x, y), atol=1e-5)
        check.close("SSIM(x, x) = 1", ssim_by_hand(y, y), torch.ones(3), atol=1e-5)
        check.close("symmetric: SSIM(y, x) = SSIM(x, y)", ssim_by_hand(y, x), mine, atol=1e-5)
        check.close("each image on its own: no statistics shared across the batch", ssim_by_hand(x[1:2], y[1:2]),
                    mine[1:2], atol=1e-5)
        grey, lighter = torch.zeros(1, 3, 16, 16), torch.full((1, 3, 16, 16), 0.2)   # 0.5 and 0.6 on [0, 1]
        check.close("two flat images: only (2 μ_x μ_y + C₁) / (μ_x² + μ_y² + C₁) is left, on the [0, 1] scale",
                    ssim_by_hand(grey, lighter), [(2 * 0.5 * 0.6 + 1e-4) / (0.5 ** 2 + 0.6 ** 2 + 1e-4)],
                    atol=1e-3)                                   # float32 leaves σ² ≈ 1e-8 instead of 0: ~1e-4 here


def check_nearest_pose(nearest_pose_by_hand) -> None:
    """Exercise 8.2: ``nearest_pose_by_hand(shots, landmarks (B, 68, 2)) → (B, 3, S, S)``, a copied shot per target."""
    with Check("check_nearest_pose",
               "for each target, the shot whose landmarks are nearest: mean distance over the 68 points",
               hint="for each target, the mean distance between its 68 landmarks and each shot's; the shot with the "
                    "smallest one is the copy (a (B, T) table of distances, then one pick per row)") as check:
        rng = np.random.default_rng(0)
        face = mean_face(32)                                                      # (68, 2)
        T, B = 6, 4
        points = lambda n: (face + rng.normal(0, 2, (n, 68, 2))).astype(np.float32)
        frames = torch.from_numpy(rng.uniform(-1, 1, (T, 3, 8, 8)).astype(np.float32))
        shots, targets = Shots(frames, -frames, points(T)), points(B)        # (T, 3, 8, 8), (B, 68, 2)
        copied = nearest_pose_by_hand(shots, targets)
        check.close("equals fewshot_lib.evaluate.nearest_pose_frames", copied, nearest_pose_frames(shots, targets))
        check.close("a target in a shot's own pose gets that very shot", nearest_pose_by_hand(shots, shots.landmarks),
                    frames)
        order = rng.permutation(T)
        check.close("the order of the shots does not matter",
                    nearest_pose_by_hand(Shots(frames[order], -frames[order], shots.landmarks[order]), targets), copied)
        off_by_one = face + np.array([1.0, 0.0])                              # every point 1 px off: mean 1
        one_outlier = face.copy()
        one_outlier[30] += [10.0, 0.0]                                        # one point 10 px off: mean 10 / 68
        pair = Shots(frames[:2], -frames[:2], np.stack([off_by_one, one_outlier]).astype(np.float32))
        check.close("a mean over the points: one misplaced landmark counts less than the whole face 1 px off",
                    nearest_pose_by_hand(pair, face[None].astype(np.float32)), frames[1:2])
