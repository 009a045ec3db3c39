"""Instance normalisation and adaptive instance normalisation (AdaIN).

Both normalise each channel of each image to zero mean and unit variance over its pixels;
they differ only in where the scale γ and bias β that follow come from:

* ``InstanceNorm``: γ, β are learned constants, the same for every person
  (the generator's encoder, which sees only the landmark sketch);
* ``AdaIN``: γ, β are *inputs*, slices of ψ̂ = P · ê, so they carry the person's
  appearance (the generator's bottleneck and decoder). Huang & Belongie (2017) showed that
  these per-channel statistics are what "style" is made of.

Introduced in notebook 04 (generator). Paper: "Networks", Generator G(y, ê).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

EPS = 1e-5


def instance_norm(x: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """IN(x) = (x − μ(x)) / √(σ²(x) + ε), μ and σ² over the pixels of each channel of each image::

        mean = x.mean(dim=(2, 3), keepdim=True)                   # (B, C, 1, 1)
        var = x.var(dim=(2, 3), keepdim=True, unbiased=False)     # (B, C, 1, 1)
        (x - mean) / torch.sqrt(var + eps)                        # (B, C, H, W)

    computed by torch's fused kernel: the same numbers (to float rounding), 3× faster on a CPU.
    """
    return F.instance_norm(x, eps=eps)                            # (B, C, H, W)


class InstanceNorm(nn.Module):
    """γ · IN(x) + β with learned per-channel γ (init 1) and β (init 0)."""

    def __init__(self, num_features: int):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(num_features))       # γ (C,)
        self.bias = nn.Parameter(torch.zeros(num_features))       # β (C,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:           # (B, C, H, W)
        return self.scale[:, None, None] * instance_norm(x) + self.bias[:, None, None]


class AdaIN(nn.Module):
    """AdaIN(x, ψ) = ψ_scale · IN(x) + ψ_bias, with ψ = [scale | bias] given per image.

    The layer has no weights of its own: ``n_psi = 2 · num_features`` numbers of ψ̂
    (first the C scales, then the C biases) drive it. ``Generator.psi_layout`` says which
    slice of ψ̂ that is.
    """

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features
        self.n_psi = 2 * num_features

    def forward(self, x: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
        # x (B, C, H, W), psi (B, 2C) = [scale (B, C) | bias (B, C)]
        if psi.shape[1:] != (self.n_psi,):
            raise ValueError(f"AdaIN over {self.num_features} channels needs psi of shape (B, {self.n_psi}), "
                             f"got {tuple(psi.shape)}")
        scale, bias = psi[:, :, None, None].chunk(2, dim=1)       # (B, C, 1, 1) each
        return scale * instance_norm(x) + bias

    def extra_repr(self) -> str:
        return f"{self.num_features}, n_psi={self.n_psi}"
