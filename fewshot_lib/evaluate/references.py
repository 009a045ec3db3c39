"""Choosing the K reference frames, and what the choice does to the score.

The paper's protocol (Zakharov et al. 2019, Sec. 4.1) takes the T shots at random from the
target's video, so some shot often has nearly the target's pose, and copying it scores well.
Reenactment is for new poses: :func:`reference_frames` also picks the K frames whose head pose
is *farthest* from the target's (:func:`pose_distance`), and :func:`reference_settings`
compares the feed-forward model under both choices. The model card
(:mod:`~fewshot_lib.evaluate.model_card`) reports every method under both.
Introduced in notebook 08 (pose distances again in notebook 10).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from ..finetune import Shots, embed_person
from ..models import Embedder, Generator
from ..puppeteer import as_complex
from .metrics import EvaluationError, psnr, ssim


def pose_distance(video, target: int) -> np.ndarray:
    """How far each frame's head pose is from frame ``target``'s: degrees (yaw, pitch, roll) for
    synthetic videos, else the mean landmark distance after removing position and scale."""
    if hasattr(video, "poses"):
        return np.linalg.norm(video.poses - video.poses[target], axis=1)
    z = as_complex(video.landmarks)                                              # (T, 68)
    z = (z - z.mean(1, keepdims=True)) / np.abs(z - z.mean(1, keepdims=True)).mean(1, keepdims=True)
    return np.abs(z - z[target]).mean(1)


def reference_frames(video, target: int, k: int, setting: str, seed: int = 0) -> np.ndarray:
    """K reference frames for a target: ``"random"`` (any other frames) or ``"pose-distant"`` (the
    K frames whose head pose is farthest from the target's: the embedding must carry identity, not pose)."""
    others = np.array([t for t in range(len(video)) if t != target])
    if setting == "random":
        return np.sort(np.random.default_rng(seed).choice(others, size=k, replace=False))
    if setting == "pose-distant":
        return np.sort(others[np.argsort(-pose_distance(video, target)[others], kind="stable")[:k]])
    raise EvaluationError(f"setting={setting!r}: choose 'random' or 'pose-distant'")


@torch.no_grad()
def reference_settings(E: Embedder, G: Generator, videos: Sequence, k: int = 8, targets: int = 4,
                       seed: int = 0) -> list[dict[str, Any]]:
    """Feed-forward SSIM/PSNR of ``targets`` frames per video with random vs pose-distant K references."""
    rows, size, device = [], G.cfg.image_size, next(G.parameters()).device
    for v, video in enumerate(videos):
        for target in np.random.default_rng(seed + v).choice(len(video), size=targets, replace=False):
            truth = Shots.from_video(video, [int(target)], size)
            for setting in ("random", "pose-distant"):
                shots = Shots.from_video(video, reference_frames(video, int(target), k, setting, seed + v), size)
                x_hat = G(truth.sketches.to(device), embed_person(E, shots.to(device))[None]).cpu()
                rows.append({"video": v, "target": int(target), "setting": setting,
                             "SSIM": float(ssim(x_hat, truth.frames)), "PSNR": float(psnr(x_hat, truth.frames))})
    return rows
