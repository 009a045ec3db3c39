"""The building blocks of E, G and D: spectral-normalised layers, BigGAN residual blocks, SAGAN self-attention.

Paper, "Networks": residual blocks are BigGAN style (Brock et al. 2019).

* Down: ReLU → conv3×3 → ReLU → conv3×3 → avg-pool, skip conv1×1 → avg-pool.
* Up: the same with AdaIN before each ReLU and 2× nearest upsampling before the first conv.
* Self-attention (SAGAN, Zhang et al. 2019) at 32×32 in every downsampling path and at
  64×64 in the generator's upsampling path.
* Spectral normalisation (Miyato et al. 2018) on every convolution and linear layer.

Introduced in notebook 03 (down block, self-attention) and notebook 04 (up block).
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from .adain import AdaIN, InstanceNorm


def conv(in_channels: int, out_channels: int, kernel_size: int = 3) -> nn.Conv2d:
    """A spectral-normalised convolution with 'same' padding: W / σ(W), σ the largest singular value.

    Its ``.weight`` is recomputed from ``.parametrizations.weight.original`` at every access;
    in training mode each access also runs one power iteration, so compare by hand in ``eval()``.
    """
    return spectral_norm(nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2))


def linear(in_features: int, out_features: int, bias: bool = True) -> nn.Linear:
    """A spectral-normalised linear layer."""
    return spectral_norm(nn.Linear(in_features, out_features, bias=bias))


def fold_spectral_norms(model: nn.Module) -> nn.Module:
    """For drawing only: a copy of ``model`` in ``eval()`` whose layers hold W / σ(W) as plain weights.

    The same numbers, without computing σ(W) again at every call (a tenth of a person model's
    time on a CPU). The copy is not for training, nor for ``save()``: its weights have other
    names. A model with nothing to fold is returned as it is.
    """
    if not any(parametrize.is_parametrized(layer) for layer in model.modules()):
        return model
    folded = copy.deepcopy(model).eval()
    for layer in folded.modules():
        if parametrize.is_parametrized(layer):
            weights = {name: getattr(layer, name).detach().clone() for name in layer.parametrizations}
            # torch's remove_parametrizations would also change the class the original shares with
            # this copy: give the copy its plain class back by hand instead.
            layer.__class__ = layer.__class__.__bases__[0]
            del layer.parametrizations
            for name, weight in weights.items():
                layer.register_parameter(name, nn.Parameter(weight, requires_grad=False))
    return folded


class ResBlockDown(nn.Module):
    """BigGAN residual down block (E, D, and with instance norm G's encoder).

    Main path: [norm →] ReLU → conv3×3 → [norm →] ReLU → conv3×3 → avg-pool 2×.
    Skip: conv1×1 → avg-pool 2×; the identity when the block keeps both width and size.

    ``normalize``: instance norm before each ReLU (only G's encoder).
    ``first``: the block that sees the image starts with its conv, as BigGAN's first
    discriminator block does: a ReLU (or a norm) on raw pixels in [-1, 1] would throw
    away the darker half of the image, and all of a black sketch.
    ``downsample``: False for D's extra block at 4×4.
    """

    def __init__(self, in_channels: int, out_channels: int, *, normalize: bool = False,
                 first: bool = False, downsample: bool = True):
        super().__init__()
        self.first, self.downsample = first, downsample
        self.norm1 = InstanceNorm(in_channels) if normalize and not first else nn.Identity()
        self.conv1 = conv(in_channels, out_channels)
        self.norm2 = InstanceNorm(out_channels) if normalize else nn.Identity()
        self.conv2 = conv(out_channels, out_channels)
        learnable_skip = in_channels != out_channels or downsample
        self.skip = conv(in_channels, out_channels, kernel_size=1) if learnable_skip else nn.Identity()

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, 2) if self.downsample else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:           # (B, C_in, H, W)
        h = x if self.first else F.relu(self.norm1(x))
        h = self.conv1(h)                                          # (B, C_out, H, W)
        h = self.conv2(F.relu(self.norm2(h)))                      # (B, C_out, H, W)
        return self._pool(h) + self._pool(self.skip(x))            # (B, C_out, H/2, W/2)


class ResBlockUp(nn.Module):
    """BigGAN residual up block with AdaIN (G's bottleneck and decoder).

    Main path: AdaIN → ReLU → [upsample 2× →] conv3×3 → AdaIN → ReLU → conv3×3.
    Skip: [upsample 2× →] conv1×1; the identity when the block keeps both width and size
    (the bottleneck blocks, ``upsample=False``).

    The block has no scales or biases of its own: it reads ``n_psi`` numbers of ψ̂,
    first those of ``norm1`` then those of ``norm2``.
    """

    def __init__(self, in_channels: int, out_channels: int, *, upsample: bool = True):
        super().__init__()
        self.upsample = upsample
        self.norm1 = AdaIN(in_channels)                            # registered before norm2: ψ̂ order
        self.conv1 = conv(in_channels, out_channels)
        self.norm2 = AdaIN(out_channels)
        self.conv2 = conv(out_channels, out_channels)
        learnable_skip = in_channels != out_channels or upsample
        self.skip = conv(in_channels, out_channels, kernel_size=1) if learnable_skip else nn.Identity()
        self.n_psi = self.norm1.n_psi + self.norm2.n_psi

    def _resize(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2.0, mode="nearest") if self.upsample else x

    def forward(self, x: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
        # x (B, C_in, H, W), psi (B, n_psi)
        psi1, psi2 = psi.split([self.norm1.n_psi, self.norm2.n_psi], dim=1)
        h = self.conv1(self._resize(F.relu(self.norm1(x, psi1))))  # (B, C_out, 2H, 2W)
        h = self.conv2(F.relu(self.norm2(h, psi2)))                # (B, C_out, 2H, 2W)
        return h + self.skip(self._resize(x))


class SelfAttention(nn.Module):
    """SAGAN self-attention: every position looks at every other one.

    o_j = Σ_i softmax_i(q_jᵀ k_i) v_i (queries and keys with C/8 channels, values with C),
    output x + γ · o with a learned scalar γ that starts at 0, so the block starts as the
    identity and the network learns how much non-local context to mix in.
    """

    def __init__(self, channels: int):
        super().__init__()
        inner = max(1, channels // 8)
        self.query = conv(channels, inner, kernel_size=1)
        self.key = conv(channels, inner, kernel_size=1)
        self.value = conv(channels, channels, kernel_size=1)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:           # (B, C, H, W)
        B, C, H, W = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)               # (B, HW, C/8)
        k = self.key(x).flatten(2).transpose(1, 2)                 # (B, HW, C/8)
        v = self.value(x).flatten(2).transpose(1, 2)               # (B, HW, C)
        # softmax(q kᵀ) v without a 1/√d factor, as in SAGAN. On a GPU the fused kernel gives the same
        # numbers without holding the (HW, HW) matrix; on a CPU the formula itself is twice as fast.
        if x.is_cuda:
            o = F.scaled_dot_product_attention(q, k, v, scale=1.0)  # (B, HW, C)
        else:
            o = torch.softmax(q @ k.transpose(1, 2), dim=-1) @ v   # (B, HW, HW) @ (B, HW, C) → (B, HW, C)
        return x + self.gamma * o.transpose(1, 2).reshape(B, C, H, W)


def down_path(in_channels: int, widths: tuple[int, ...], image_size: int, attention_size: int,
              normalize: bool = False) -> nn.Sequential:
    """Residual down blocks of the given output ``widths``, each halving the side, with
    self-attention after the block whose output is ``attention_size`` wide.

    E and D (6 input channels, no norm) and G's encoder (3 channels, instance norm) are all
    built with it. ``ModelConfig`` checks that ``attention_size`` occurs on the way down.
    """
    layers, side = [], image_size
    for i, (c_in, c_out) in enumerate(zip((in_channels, *widths), widths)):
        layers.append(ResBlockDown(c_in, c_out, normalize=normalize, first=i == 0))
        side //= 2
        if side == attention_size:
            layers.append(SelfAttention(c_out))
    return nn.Sequential(*layers)
