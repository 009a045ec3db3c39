"""The generator G(y, ê): a landmark sketch and a person embedding → a frame of that person.

Paper, "Networks": an image-to-image network on the sketch only.

* Encoder: residual down blocks with instance norm 3 → 64 → 128 → 256, self-attention at
  32×32, → 512 at 16×16. It sees the pose, never the person.
* Bottleneck: 5 residual blocks at 512 × 16 × 16 with AdaIN.
* Decoder: up blocks with AdaIN 512 → 256 → 128, self-attention at 64×64, → 64 → 32,
  then AdaIN → ReLU → conv3×3 → RGB.

The person enters only through AdaIN: all its scales and biases form one vector

    ψ̂ = P · ê ∈ R^{n_psi},   P a learned n_psi × N matrix (13,184 × 512 in the paper),

and ``psi_layout`` says which slice of ψ̂ drives which layer. Fine-tuning optimises ψ′
directly, starting from P · ê_NEW: ``forward_from_psi`` runs G from a given ψ.

Output activation: **tanh**. The paper leaves tanh vs sigmoid open; the whole library
works with images in [-1, 1], which is tanh's range.

Introduced in notebook 04 (generator).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .adain import AdaIN
from .blocks import ResBlockUp, SelfAttention, conv, down_path, linear
from .presets import ModelConfig


@dataclass(frozen=True)
class PsiSlice:
    """Where one AdaIN layer reads its scales (or biases) in ψ̂: ``psi[:, start:stop]``."""

    layer: str          # the AdaIN module, e.g. "decoder.0.norm1"
    what: str           # "scale" or "bias"
    start: int
    stop: int

    @property
    def channels(self) -> int:
        return self.stop - self.start

    @property
    def slice(self) -> slice:
        return slice(self.start, self.stop)

    def __str__(self) -> str:
        return f"{self.layer:<22} {self.what:<5} psi[{self.start}:{self.stop}]  ({self.channels} channels)"


class ToRGB(nn.Module):
    """G's last layer: AdaIN → ReLU → conv3×3 → tanh, to RGB in [-1, 1]."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.norm = AdaIN(in_channels)
        self.conv = conv(in_channels, 3)
        self.n_psi = self.norm.n_psi

    def forward(self, x: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:   # (B, C, S, S), (B, 2C)
        return torch.tanh(self.conv(torch.relu(self.norm(x, psi))))          # (B, 3, S, S)


class Generator(nn.Module):
    """G(y, ê) → x̂ (B, 3, S, S) in [-1, 1]; ``projection`` is P."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = down_path(3, cfg.generator_down, cfg.image_size, cfg.attention_down, normalize=True)
        width, side = cfg.generator_down[-1], cfg.bottleneck_size
        decoder: list[nn.Module] = [ResBlockUp(width, width, upsample=False) for _ in range(cfg.bottleneck_blocks)]
        for c_out in cfg.generator_up:
            decoder.append(ResBlockUp(width, c_out))
            width, side = c_out, side * 2
            if side == cfg.attention_up:
                decoder.append(SelfAttention(width))
        decoder.append(ToRGB(width))
        self.decoder = nn.ModuleList(decoder)
        self.psi_sizes = [layer.n_psi for layer in decoder if not isinstance(layer, SelfAttention)]
        self.n_psi = sum(self.psi_sizes)
        self.projection = linear(cfg.embed_dim, self.n_psi, bias=False)     # P (n_psi × N)
        self.psi_layout = self._layout()

    def _layout(self) -> list[PsiSlice]:
        """Scale and bias slices of every AdaIN, in the order the layers read ψ."""
        layout, start = [], 0
        for name, module in self.decoder.named_modules(prefix="decoder"):
            if isinstance(module, AdaIN):
                C = module.num_features
                layout += [PsiSlice(name, "scale", start, start + C), PsiSlice(name, "bias", start + C, start + 2 * C)]
                start += 2 * C
        assert start == self.n_psi, "the layout must cover psi exactly"
        return layout

    def psi_hat(self, e_hat: torch.Tensor) -> torch.Tensor:
        """ψ̂ = P · ê: (B, N) → (B, n_psi), every AdaIN scale and bias of the person."""
        return self.projection(e_hat)

    def forward(self, y: torch.Tensor, e_hat: torch.Tensor) -> torch.Tensor:
        """x̂ = G(y, ê) for sketches ``y`` (B, 3, S, S) and embeddings ``e_hat`` (B, N)."""
        return self.forward_from_psi(y, self.psi_hat(e_hat))

    def forward_from_psi(self, y: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
        """x̂ from sketches ``y`` (B, 3, S, S) and AdaIN parameters ``psi`` ((B, n_psi) or (n_psi,))."""
        self.cfg.check_images("y (sketches)", y)
        psi = psi.expand(y.shape[0], -1) if psi.dim() == 1 else psi
        if psi.shape != (y.shape[0], self.n_psi):
            raise ValueError(f"psi must be ({y.shape[0]}, {self.n_psi}) (or ({self.n_psi},) for every image) "
                             f"for model preset {self.cfg.name!r}; got {tuple(psi.shape)}")
        x = self.encoder(y)                                        # (B, C, S/2^n, S/2^n): pose only
        chunks = iter(psi.split(self.psi_sizes, dim=1))            # one chunk per AdaIN-driven layer
        for layer in self.decoder:
            x = layer(x) if isinstance(layer, SelfAttention) else layer(x, next(chunks))
        return x                                                   # x̂ (B, 3, S, S) in [-1, 1]
