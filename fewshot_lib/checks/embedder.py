"""Notebook 03 · the embedder's parts."""
from __future__ import annotations

import torch

from ..models import ResBlockDown, SelfAttention
from .check import Check, seeded_rng


def check_largest_singular_value(largest_singular_value) -> None:
    """Exercise 3.1: ``largest_singular_value(W (m, n), steps) → σ(W)`` by power iteration."""
    with Check("check_largest_singular_value", "σ(W), the largest singular value, by power iteration",
               hint="start from v = ones(n) / √n; repeat: u = W v / ‖W v‖, v = Wᵀ u / ‖Wᵀ u‖; then σ ≈ uᵀ W v"
               ) as check:
        g = seeded_rng(0)
        U, _ = torch.linalg.qr(torch.randn(32, 32, generator=g, dtype=torch.float64))
        V, _ = torch.linalg.qr(torch.randn(144, 32, generator=g, dtype=torch.float64))
        spectrum = torch.cat([torch.tensor([3.0]), torch.linspace(2.0, 0.1, 31)]).double()   # σ₁ = 3, σ₂ = 2
        W = U @ torch.diag(spectrum) @ V.T                                    # (32, 144), like a 16→32 3×3 conv
        sigma = largest_singular_value(W, 50)
        check.close("σ(W) of a (32, 144) matrix (a conv's weight, flattened)", sigma, 3.0, rtol=1e-3)
        check.close("σ(Wᵀ): the same value", largest_singular_value(W.T, 50), 3.0, rtol=1e-3)
        check.close("σ(−2.5 W) = 2.5 σ(W)", largest_singular_value(-2.5 * W, 50), 7.5, rtol=1e-3)
        Q, _ = torch.linalg.qr(torch.randn(16, 16, generator=g, dtype=torch.float64))
        check.close("σ of an orthogonal matrix is 1 (no direction is stretched)", largest_singular_value(Q, 50), 1.0,
                    rtol=1e-3)
        u, v = torch.randn(8, 1, generator=g, dtype=torch.float64), torch.randn(5, 1, generator=g, dtype=torch.float64)
        check.close("σ(u vᵀ) = ‖u‖ ‖v‖ for a rank-one matrix", largest_singular_value(u @ v.T, 50),
                    u.norm() * v.norm(), rtol=1e-3)
        few = [float(largest_singular_value(W, steps)) for steps in (1, 2, 3)]
        check.holds("with few steps the estimate is at most σ(W) (uᵀ W v never exceeds it)",
                    all(s <= 3.0 + 1e-9 for s in few), f"estimates {[round(s, 4) for s in few]}")


def check_down_block(down_block_by_hand) -> None:
    """Exercise 3.2: ``down_block_by_hand(x, block) → (B, C_out, H/2, W/2)``, BigGAN's residual down block."""
    with Check("check_down_block",
               "pool(conv2(relu(conv1(relu(x))))) + pool(conv1x1(x)); no first ReLU in a first block",
               hint="use the block's own weights: the 3×3 convolutions keep the size (padding), the 1×1 skip needs "
                    "none, "
                    "both paths are average-pooled by 2, and the first block of E has no ReLU in front") as check:
        g = seeded_rng(0)
        x = torch.randn(2, 8, 16, 16, generator=g)                            # (B, C_in, H, W)
        torch.manual_seed(0)
        for first in (False, True):
            block = ResBlockDown(8, 16, first=first).eval()
            with torch.no_grad():
                mine, theirs = down_block_by_hand(x, block), block(x)
            check.close(f"equals fewshot_lib.models.ResBlockDown(first={first})", mine, theirs, atol=1e-5)
        check.holds("halves the side and sets the width: (2, 8, 16, 16) → (2, 16, 8, 8)",
                    tuple(mine.shape) == (2, 16, 8, 8), f"got {tuple(mine.shape)}")


def check_self_attention(self_attention_by_hand) -> None:
    """Exercise 3.3: ``self_attention_by_hand(x, layer) → (x + γ·o, β (B, HW, HW))``, SAGAN self-attention."""
    with Check("check_self_attention", "o_j = Σ_i softmax_i(q_j · k_i) v_i, out = x + γ o",
               hint="three 1×1 convolutions with the layer's weights give queries, keys and values over the H·W "
                    "positions; "
                    "the attention weights are a softmax over positions of query·key (SAGAN: no 1/√d "
                    "scaling)") as check:
        torch.manual_seed(0)
        layer = SelfAttention(16).eval()
        x = torch.randn(2, 16, 8, 8, generator=seeded_rng(0))                 # (B, C, H, W)
        with torch.no_grad():
            out, beta = self_attention_by_hand(x, layer)
            check.close("γ = 0 (a new layer): the identity", out, x)
            layer.gamma.fill_(0.5)
            out, beta = self_attention_by_hand(x, layer)
            check.close("γ = 0.5: equals fewshot_lib.models.SelfAttention", out, layer(x), atol=1e-5)
        check.holds("β has one row per position j, one column per position i: (B, HW, HW)",
                    tuple(beta.shape) == (2, 64, 64), f"got {tuple(beta.shape)}")
        check.close("each row of β sums to 1 (softmax over the positions i)", beta.sum(dim=-1), torch.ones(2, 64))
