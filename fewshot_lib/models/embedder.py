"""The embedder E(x, y): a frame and its landmark sketch → a person vector e ∈ R^N.

Paper, "Networks": input frame ‖ sketch (6 channels); residual down blocks
64 → 128 → 256 → self-attention → 512 → 512 → 512 down to 4×4, no normalisation;
global **sum pooling then ReLU**. ê, the person's embedding, is the mean of the K
per-frame vectors e_k = E(x_k, y_k).

Introduced in notebook 03 (embedder).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import down_path
from .presets import ModelConfig


def sum_pool_relu(h: torch.Tensor) -> torch.Tensor:
    """Global sum pooling then ReLU: (B, N, H, W) → (B, N). E makes e with it, D makes v."""
    return F.relu(h.sum(dim=(2, 3)))


class Embedder(nn.Module):
    """E(x, y) → e (B, N); ``embed_frames`` gives ê = mean_k e_k from K frames."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.down = down_path(6, cfg.down_channels, cfg.image_size, cfg.attention_down)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # x: frames (B, 3, S, S), y: their sketches (B, 3, S, S), both in [-1, 1]
        self.cfg.check_images("x (frames)", x)
        self.cfg.check_images("y (sketches)", y)
        h = self.down(torch.cat([x, y], dim=1))                   # (B, N, 4, 4)
        return sum_pool_relu(h)                                   # e (B, N)

    def embed_frames(self, frames: torch.Tensor, sketches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """ê and the per-frame e from K frames of each of B videos.

        ``frames``, ``sketches``: (B, K, 3, S, S). Returns ``(e_hat (B, N), e (B, K, N))``;
        the matching loss L_MCH needs the per-frame e.
        """
        if frames.dim() != 5 or frames.shape != sketches.shape:
            raise ValueError(f"embed_frames needs frames and sketches of the same shape (B, K, 3, S, S); "
                             f"got {tuple(frames.shape)} and {tuple(sketches.shape)}")
        B, K = frames.shape[:2]
        e = self(frames.flatten(0, 1), sketches.flatten(0, 1))    # (B·K, N)
        e = e.view(B, K, -1)                                      # (B, K, N)
        return e.mean(dim=1), e                                   # ê = (1/K) Σ_k e_k (B, N)
