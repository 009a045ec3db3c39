"""Temporal smoothing of per-frame values (landmarks, crop boxes) along a video.

A Gaussian-weighted mean over neighbouring frames, using each frame's *time* (its frame
number), so frames dropped for having no face leave a gap instead of shifting the window,
and the video's ends need no padding. Introduced in notebook 01.
"""
from __future__ import annotations

import numpy as np

TRUNCATE = 3.0
"""Frames further than ``TRUNCATE * sigma`` away get no weight."""


def smooth_track(values, times=None, sigma: float = 1.0) -> np.ndarray:
    """Gaussian-smooth ``values`` ``(T, ...)`` along time; returns float32 of the same shape.

    ``times``: increasing frame numbers ``(T,)`` (default ``0..T-1``); ``sigma`` in the same
    unit, ``0`` returns the values unchanged. Frame ``i`` becomes
    ``sum_j w_ij v_j / sum_j w_ij`` with ``w_ij = exp(-(t_i - t_j)^2 / (2 sigma^2))``.
    """
    values = np.asarray(values, dtype=np.float64)
    times = np.arange(len(values), dtype=np.float64) if times is None else np.asarray(times, dtype=np.float64)
    if times.shape != values.shape[:1]:
        raise ValueError(f"times have shape {times.shape}, expected ({len(values)},) like the values")
    if np.any(np.diff(times) <= 0):
        raise ValueError("times must be strictly increasing frame numbers")
    if sigma < 0:
        raise ValueError(f"sigma={sigma}: use 0 (no smoothing) or a positive number of frames")
    if sigma == 0 or len(values) < 2:
        return values.astype(np.float32)

    flat = values.reshape(len(values), -1)                               # (T, D)
    starts = np.searchsorted(times, times - TRUNCATE * sigma, side="left")
    stops = np.searchsorted(times, times + TRUNCATE * sigma, side="right")
    smoothed = np.empty_like(flat)
    for i, (start, stop) in enumerate(zip(starts, stops)):
        weights = np.exp(-0.5 * ((times[start:stop] - times[i]) / sigma) ** 2)   # (window,)
        smoothed[i] = weights @ flat[start:stop] / weights.sum()
    return smoothed.reshape(values.shape).astype(np.float32)
