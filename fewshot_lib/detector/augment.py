"""Augmentation: the same frame, moved a little, mirrored, and re-coloured, at every training step.

A detector sees a few hundred frames; without augmentation it can learn where a face sits or what
colour a backdrop is. Each frame of a batch gets its own random shift (±``shift`` pixels, the border
mirrored), a left-right flip with probability ½, and colour jitter: brightness, contrast and saturation.
Real and fake frames are augmented alike, so none of this can tell them apart. Introduced in notebook 11.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F


def _uniform(n: int, low: float, high: float, rng: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, 1, 1, 1, generator=rng)                # (n, 1, 1, 1)


def augment(x: torch.Tensor, rng: torch.Generator, shift: int = 4, jitter: float = 0.2) -> torch.Tensor:
    """Random shifts, flips and colour jitter of a batch ``(B, 3, S, S)`` in [-1, 1]; returns the same shape."""
    B, _, S, _ = x.shape
    padded = F.pad(x, (shift,) * 4, mode="reflect")                                 # (B, 3, S + 2s, S + 2s)
    dx, dy = torch.randint(0, 2 * shift + 1, (2, B), generator=rng).tolist()
    x = torch.stack([padded[i, :, dy[i]:dy[i] + S, dx[i]:dx[i] + S] for i in range(B)])   # (B, 3, S, S)
    flip = torch.rand(B, generator=rng) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    grey = x.mean(1, keepdim=True)                                                  # (B, 1, S, S)
    x = grey + (x - grey) * _uniform(B, 1 - jitter, 1 + jitter, rng)                # saturation
    mean = x.mean((1, 2, 3), keepdim=True)                                          # (B, 1, 1, 1)
    x = mean + (x - mean) * _uniform(B, 1 - jitter, 1 + jitter, rng)                # contrast
    x = x + _uniform(B, -jitter, jitter, rng)                                       # brightness
    return x.clamp(-1, 1)
