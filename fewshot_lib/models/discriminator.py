"""The projection discriminator D(x, y, i): how real a frame looks, for video i, given its sketch.

Paper, "Networks": E's conv stack plus one more residual block at 4×4, sum pooling + ReLU
→ v ∈ R^N, then the realism score

    r = vᵀ (W_i + w₀) + b

with one learned column W_i per training video (an embedding table, not files), a shared
w₀ and a scalar b (Miyato & Koyama's projection discriminator). No sigmoid: the hinge
losses read r directly. D also returns its intermediate features for the feature-matching
loss L_FM. In fine-tuning there is no video i: the column is w′ = w₀ + ê_NEW, passed as ``w``.

W, w₀ and b are not spectral-normalised: L_MCH pulls each W_i to the video's embeddings,
so W must be free to take their scale.

Introduced in notebook 04 (generator and discriminator).
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks import ResBlockDown, down_path
from .embedder import sum_pool_relu
from .presets import ModelConfig


class Discriminator(nn.Module):
    """D(x, y, i) → (r (B,), features); ``num_videos`` columns in ``W``."""

    def __init__(self, cfg: ModelConfig, num_videos: int):
        super().__init__()
        if num_videos < 1:
            raise ValueError(f"num_videos={num_videos}: D needs one column W_i per training video (at least 1)")
        N = cfg.embed_dim
        self.cfg = cfg
        self.down = down_path(6, cfg.down_channels, cfg.image_size, cfg.attention_down)   # as in E
        self.block = ResBlockDown(N, N, downsample=False)         # the extra block at 4×4
        self.W = nn.Embedding(num_videos, N)                      # W_i, one row per video (num_videos, N)
        self.w0 = nn.Parameter(torch.zeros(N))                    # w₀ (N,)
        self.b = nn.Parameter(torch.zeros(()))                    # b, a scalar
        nn.init.normal_(self.W.weight, std=0.02)                  # scores start near b = 0

    def forward(self, x: torch.Tensor, y: torch.Tensor, video_idx: torch.Tensor | None = None,
                w: torch.Tensor | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Score frames ``x`` with sketches ``y`` (B, 3, S, S) for videos ``video_idx`` (B,) int,
        or with the given columns ``w`` ((N,) or (B, N)) in place of W_i + w₀ (fine-tuning).

        Returns ``(r (B,), features)``: the output of every layer of the conv stack.
        """
        if (video_idx is None) == (w is None):
            raise ValueError("pass exactly one of video_idx (meta-learning: column W_i + w0) "
                             "or w (fine-tuning: w' = w0 + e_hat_new)")
        self.cfg.check_images("x (frames)", x)
        self.cfg.check_images("y (sketches)", y)
        if w is None:
            # video_idx is not range-checked here: a Python `if` on a GPU tensor would wait for the GPU in
            # every call. Indices are checked where they are made (VideoDataset.episode); on the CPU an
            # index outside the table still raises IndexError inside nn.Embedding.
            w = self.W(video_idx) + self.w0                       # W_i + w₀ (B, N)
        features, h = [], torch.cat([x, y], dim=1)                # (B, 6, S, S)
        for layer in (*self.down, self.block):
            h = layer(h)
            features.append(h)
        v = sum_pool_relu(h)                                      # (B, N)
        r = (v * w).sum(dim=1) + self.b                           # r = vᵀ(W_i + w₀) + b (B,)
        return r, features
