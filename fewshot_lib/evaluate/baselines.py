"""Baselines that need no model: what a talking-head model must beat to be worth its training.

Each draws the target frames from the T (or K) shots of the person alone:

* **nearest pose** (:func:`nearest_pose_frames`): the shot whose landmarks are nearest the
  target's, copied: right person and room, roughly the right pose;
* **TPS nearest pose** (:func:`tps_nearest_frame`): the same shot moved onto the target's
  landmarks by a thin-plate spline (no learning; the warp of notebook 10);
* **mean frame** (:func:`mean_frame`): the pixel mean of the shots: the person and the room,
  no pose;
* **mean colour** (:func:`mean_colour`): one flat colour, the shots' mean: a yardstick for
  how much of a score the static background alone earns.

The self-reenactment protocol (paper, Sec. 4.1) reports the first and third next to FF and FT;
the model card reports all four. Introduced in notebook 08 (the TPS warp in notebook 10).
"""
from __future__ import annotations

import numpy as np
import torch

from ..finetune import Shots
from ..warping import tps_warp


def nearest_shots(shots: Shots, landmarks: np.ndarray) -> np.ndarray:
    """For each target ``(B, 68, 2)``, the index of the shot whose landmarks are nearest (mean point distance)."""
    distance = np.linalg.norm(landmarks[:, None] - shots.landmarks[None], axis=-1).mean(-1)    # (B, T)
    return distance.argmin(axis=1)                                                             # (B,)


def nearest_pose_frames(shots: Shots, landmarks: np.ndarray) -> torch.Tensor:
    """Baseline: for each target ``(B, 68, 2)``, the shot whose landmarks are nearest (a copied frame)."""
    return shots.frames[torch.from_numpy(nearest_shots(shots, landmarks))]


def tps_nearest_frame(shots: Shots, landmarks: np.ndarray) -> torch.Tensor:
    """Baseline: the nearest-pose shot warped by a TPS from its landmarks onto the target's ``(1, 68, 2)``."""
    nearest = nearest_shots(shots, landmarks)[0]
    return tps_warp(shots.frames[nearest:nearest + 1], shots.landmarks[nearest], landmarks[0])


def mean_frame(shots: Shots, count: int) -> torch.Tensor:
    """Baseline: the mean of the T shots, ``count`` times (it knows the person, not the pose)."""
    return shots.frames.mean(dim=0, keepdim=True).expand(count, -1, -1, -1)


def mean_colour(shots: Shots, count: int) -> torch.Tensor:
    """Baseline: one flat colour, the mean of the T shots, as ``count`` images ``(count, 3, S, S)``."""
    _, _, height, width = shots.frames.shape
    return shots.frames.mean(dim=(0, 2, 3))[None, :, None, None].expand(count, -1, height, width)
