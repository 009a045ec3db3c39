"""The learned warping generator: move the references' own pixels, paint only what none of them shows.

The paper's G must repaint every pixel of x̂ from ê through AdaIN: it can never copy one. Here, for a
target pose (sketch y_t, landmarks l_t) and K references x_k (sketches y_k, landmarks l_k)::

    g_k  = TPS(l_k → l_t)                              the classical warp of reference k (tps.py)
    Δ_k, a_k, o_k = F(warp(x_k, g_k), warp(y_k, g_k), y_t)     a small flow network, per reference
    c_k  = softmax_k(a_k − β d_k)                      confidences: Σ_k c_k = 1 at every pixel;
                                                        d_k how far reference k's pose is from the target's
    x_w  = Σ_k c_k · warp(x_k, g_k + Δ_k)               the references' pixels, blended
    m    = σ(Σ_k c_k o_k)                              occlusion: 1 where the references show the pixel
    x̂    = m · x_w + (1 − m) · G(y_t, ê)               the paper's G paints the rest (ê from the K references)

F's last layer starts at zero, so training starts from the classical solution: each reference's
TPS warp, weighted towards the reference nearest in pose (β d_k), and m ≈ σ(mask_bias). The flow
Δ_k is a residual in grid_sample's normalised coordinates, bounded by ``max_flow`` (0: no flow, the TPS warps alone).

:class:`WarpingGenerator` returns ``(x̂, e)`` like the paper's E + G, so meta-learning trains it with
the same episodes, losses and step (``TrainConfig(generator="warp")``); :meth:`WarpingGenerator.parts`
returns every intermediate for plotting. Introduced in notebook 10.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ..models import Embedder, Generator
from .grid import pixels_to_grid, resize_grid, warp
from .tps import fit_tps, spline_grid


@dataclass(frozen=True)
class WarpConfig:
    """Sizes of the flow network and the starting point of the blend; saved in every checkpoint."""

    widths: tuple[int, int, int] = (32, 64, 96)   # F's channels at S, S/2, S/4
    max_flow: float = 0.25                        # |Δ| ≤ this, in normalised units (1 = half the image);
                                                  # 0: no residual flow, each reference moves by its TPS warp
    pose_prior: float = 50.0                      # β at the start: c_k ∝ exp(−β d_k) before any training
    mask_bias: float = 3.0                        # m = σ(3) ≈ 0.95 at the start: mostly warped pixels

    def __post_init__(self):
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        if len(self.widths) != 3 or min(self.widths) < 1 or self.max_flow < 0:
            raise ValueError(f"WarpConfig: widths must be 3 positive channel counts and max_flow ≥ 0, got {self}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def conv(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1)


class FlowNetwork(nn.Module):
    """F: a small U-Net, per reference: (warped x_k, warped y_k, y_t) (9, S, S) → Δ (2), a (1), o (1)."""

    def __init__(self, cfg: WarpConfig):
        super().__init__()
        c1, c2, c3 = cfg.widths
        self.down1, self.down2, self.down3 = conv(9, c1), conv(c1, c2, 2), conv(c2, c3, 2)    # S, S/2, S/4
        self.middle = conv(c3, c3)
        self.up2, self.up1 = conv(c3 + c2, c2), conv(c2 + c1, c1)                            # S/2, S
        self.head = conv(c1, 4)
        nn.init.zeros_(self.head.weight)                  # Δ = 0, a = 0: the TPS warps, blended by pose
        with torch.no_grad():
            self.head.bias.copy_(torch.tensor([0.0, 0.0, 0.0, cfg.mask_bias]))
        self.max_flow = cfg.max_flow

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = x.contiguous(memory_format=torch.channels_last)    # NHWC: oneDNN's plain convolutions run ~30 % faster
        h1 = F.relu(self.down1(x))                                            # (N, c1, S, S)
        h2 = F.relu(self.down2(h1))                                           # (N, c2, S/2, S/2)
        h3 = F.relu(self.middle(F.relu(self.down3(h2))))                      # (N, c3, S/4, S/4)
        h = F.relu(self.up2(torch.cat([F.interpolate(h3, scale_factor=2.0), h2], 1)))   # (N, c2, S/2, S/2)
        h = F.relu(self.up1(torch.cat([F.interpolate(h, scale_factor=2.0), h1], 1)))    # (N, c1, S, S)
        out = self.head(h)                                                    # (N, 4, S, S)
        delta = self.max_flow * torch.tanh(out[:, :2]).permute(0, 2, 3, 1)   # Δ (N, S, S, 2) normalised
        return delta, out[:, 2], out[:, 3]                                    # Δ, a (N, S, S), o (N, S, S)


def pose_distance(landmarks: torch.Tensor, target_landmarks: torch.Tensor, size: int) -> torch.Tensor:
    """d_k: mean distance between reference k's landmarks and the target's, normalised units.

    ``landmarks`` (B, K, 68, 2), ``target_landmarks`` (B, 68, 2) pixels → (B, K).
    """
    diff = pixels_to_grid(landmarks, size) - pixels_to_grid(target_landmarks, size)[:, None]
    return diff.norm(dim=-1).mean(-1)


def tps_grids(landmarks: torch.Tensor, target_landmarks: torch.Tensor, size: int) -> torch.Tensor:
    """g_k = TPS(l_k → l_t) for every reference: (B, K, 68, 2), (B, 68, 2) pixels → (B, K, S, S, 2)."""
    B, K = landmarks.shape[:2]
    target = target_landmarks[:, None].expand(B, K, 68, 2).reshape(B * K, 68, 2)
    with torch.no_grad():                                   # the landmarks are data: nothing to learn here
        spline = fit_tps(landmarks.reshape(B * K, 68, 2).float(), target.float(), size)
        return spline_grid(spline, size).reshape(B, K, size, size, 2)


class WarpingGenerator(nn.Module):
    """x̂ = m · Σ_k c_k warp(x_k, g_k + Δ_k) + (1 − m) · G(y_t, ê): see the module's docstring.

    ``E``, ``G``: the paper's embedder and generator (the painter; start them from a meta-learned
    checkpoint); ``F``: the flow network; ``log_beta``: log β of the pose prior (learned).
    """

    inputs = ("frames", "sketches", "target_sketch", "landmarks", "target_landmarks")   # batch entries, in order

    def __init__(self, E: Embedder, G: Generator, cfg: WarpConfig = WarpConfig()):
        super().__init__()
        self.E, self.G, self.cfg = E, G, cfg
        self.F = FlowNetwork(cfg)
        self.log_beta = nn.Parameter(torch.tensor(float(cfg.pose_prior)).log())

    @property
    def size(self) -> int:
        return self.G.cfg.image_size

    def forward(self, frames: torch.Tensor, sketches: torch.Tensor, y_t: torch.Tensor, landmarks: torch.Tensor,
                target_landmarks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``frames``, ``sketches`` (B, K, 3, S, S), ``y_t`` (B, 3, S, S), ``landmarks`` (B, K, 68, 2),
        ``target_landmarks`` (B, 68, 2) → (x̂ (B, 3, S, S), e (B, K, N))."""
        parts = self.parts(frames, sketches, y_t, landmarks, target_landmarks)
        return parts["x_hat"], parts["e"]

    def parts(self, frames, sketches, y_t, landmarks, target_landmarks) -> dict[str, torch.Tensor]:
        """Every intermediate of the forward pass (for plots and for the high-resolution path)."""
        e_hat, e = self.E.embed_frames(frames, sketches)                       # ê (B, N), e (B, K, N)
        painted = self.G(y_t, e_hat)                                           # G(y_t, ê) (B, 3, S, S)
        parts = warp_and_blend(self.F, self.log_beta, frames, sketches, landmarks, y_t, target_landmarks, painted)
        return {**parts, "e": e, "e_hat": e_hat}


def warp_and_blend(flow: FlowNetwork, log_beta: torch.Tensor, frames: torch.Tensor, sketches: torch.Tensor,
                   landmarks: torch.Tensor, y_t: torch.Tensor, target_landmarks: torch.Tensor,
                   painted: torch.Tensor) -> dict[str, torch.Tensor]:
    """Everything but the painter: the K references warped, blended, and composed over ``painted``.

    ``frames``, ``sketches`` (B, K, 3, S, S), ``landmarks`` (B, K, 68, 2), ``y_t`` (B, 3, S, S),
    ``target_landmarks`` (B, 68, 2), ``painted`` (B, 3, S, S) → x̂ and its intermediates.
    """
    B, K, _, S, _ = frames.shape
    g = tps_grids(landmarks, target_landmarks, S)                              # g_k (B, K, S, S, 2)
    x_tps = warp(frames, g)                                                    # (B, K, 3, S, S)
    inputs = torch.cat([x_tps, warp(sketches, g), y_t[:, None].expand(B, K, 3, S, S)], 2)   # (B, K, 9, S, S)
    delta, a, o = flow(inputs.reshape(B * K, 9, S, S))                         # (BK, S, S, 2), (BK, S, S) ×2
    grid = g + delta.reshape(B, K, S, S, 2)                                    # g_k + Δ_k
    x_moved = x_tps if flow.max_flow == 0 else warp(frames, grid)             # Δ ≡ 0: the TPS warps themselves
    d = pose_distance(landmarks, target_landmarks, S)                          # d_k (B, K)
    c = (a.reshape(B, K, S, S) - log_beta.exp() * d[..., None, None]).softmax(dim=1)   # c_k, Σ_k c_k = 1
    x_warp = (c[:, :, None] * x_moved).sum(1)                                  # x_w (B, 3, S, S)
    m = torch.sigmoid((c * o.reshape(B, K, S, S)).sum(1, keepdim=True))        # m (B, 1, S, S)
    x_hat = m * x_warp + (1 - m) * painted                                     # (B, 3, S, S)
    return {"x_hat": x_hat, "grid": grid, "tps_grid": g, "confidence": c, "mask": m, "warped": x_warp,
            "painted": painted, "x_tps": x_tps}


def compose_high_res(parts: dict[str, torch.Tensor], frames: torch.Tensor) -> torch.Tensor:
    """The high-resolution path: x̂ at the references' own side R, from the parts computed at the model's S.

    ``parts``: :meth:`WarpingGenerator.parts` for (B, K) references at S × S; ``frames``: the same
    references at R × R, ``(B, K, 3, R, R)``. The grids g_k + Δ_k are resized to R and sample the
    sharp references; the confidences and the mask are upsampled; only the painted pixels (1 − m)
    keep the model's resolution. A 256² crop of a photo animates at 256², not 64².
    """
    B, K, _, R, _ = frames.shape
    grid = resize_grid(parts["grid"].flatten(0, 1), R).unflatten(0, (B, K))          # (B, K, R, R, 2)
    c = F.interpolate(parts["confidence"], size=(R, R), mode="bilinear", align_corners=False)   # (B, K, R, R)
    c = c / c.sum(1, keepdim=True)                                                     # Σ_k c_k = 1 again
    m = F.interpolate(parts["mask"], size=(R, R), mode="bilinear", align_corners=False)          # (B, 1, R, R)
    painted = F.interpolate(parts["painted"], size=(R, R), mode="bicubic", align_corners=False).clamp(-1, 1)
    x_warp = (c[:, :, None] * warp(frames, grid)).sum(1)                               # (B, 3, R, R)
    return m * x_warp + (1 - m) * painted
