"""L_MCH, the embedding match: the embedder's vectors and the discriminator's W_i pulled together.

The discriminator keeps one column W_i per training video; the embedder maps each of the
video's K frames to e_k. The FT variant adds::

    L_MCH = (1/K) Σ_k ‖W_i − e_k‖₁

(weight 10 in the ICCV paper). Its gradient moves both W_i and E, so that after
meta-learning a new person's ê is a good starting point for their discriminator column
(w' = w0 + ê_NEW at fine-tuning). Under an L1 norm W_i is pulled towards the coordinate-wise
*median* of the e_k, not their mean. Some re-implementations average over the N coordinates
instead of summing them; that divides the effective weight by N. Introduced in notebook 05.
"""
from __future__ import annotations

import torch


def embedding_match_loss(e: torch.Tensor, W_i: torch.Tensor) -> torch.Tensor:
    """L_MCH = (1/K) Σ_k ‖W_i − e_k‖₁, averaged over the batch.

    ``e``: (B, K, N) per-frame embeddings of each episode's K frames; ``W_i``: (B, N) the
    discriminator's column of each episode's video. Neither is detached: both learn from it.
    """
    if e.dim() != 3 or W_i.shape != (e.shape[0], e.shape[2]):
        raise ValueError(f"expected e (B, K, N) and W_i (B, N), got {tuple(e.shape)} and {tuple(W_i.shape)}")
    return (W_i.unsqueeze(1) - e).abs().sum(dim=-1).mean()   # ‖·‖₁ over N, mean over B and K
