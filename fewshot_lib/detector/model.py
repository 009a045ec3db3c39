"""The detector: a small CNN, one 64² RGB frame → one logit, "how likely is this frame generated".

Generated frames differ from real ones most in their finest detail (blur, resampling,
checkerboards), which the picture itself hides. So, as image forensics does, the network also
sees the **noise residual** r = x − blur(x) (a fixed 3 × 3 box blur: what is left is the fine
detail), scaled up. Then four 3 × 3 convolutions, the first at full resolution, three that halve
the side, a global average and one linear unit::

    [x, 4r] (B, 6, 64, 64) → conv 16 (B, 16, 64, 64) → conv 32 /2 (B, 32, 32, 32) → conv 64 /2 (B, 64, 16, 16)
      → conv 64 /2 (B, 64, 8, 8) → mean over pixels (B, 64) → linear → logit (B,);  p(fake) = σ(logit)

About 60 000 weights, 240 kB as float32. Saved as safetensors with its measured AUCs in the
metadata, and read back without running code. Introduced in notebook 11.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import FewshotError
from ..safetensors_file import check_finite, damaged, read_safetensors, write_safetensors

SHIPPED = Path(__file__).resolve().parent.parent / "assets" / "detector_cpu64.safetensors"
"""The detector that ships with the library (``fewshot detector-train`` makes it again)."""
REMEDY = "train one with `fewshot detector-train --out detector.safetensors`"


class DetectorError(FewshotError, ValueError):
    """A detector file or an input the detector cannot read; the message names the file and what to do."""


RESIDUAL_GAIN = 4.0
"""The residual is small (a few grey levels): scaled up to the picture's range."""


def noise_residual(x: torch.Tensor) -> torch.Tensor:
    """r = x − blur(x), a 3 × 3 box blur with the border mirrored: ``(B, 3, S, S)`` → the same."""
    blurred = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), 3, stride=1)
    return x - blurred


def block(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    """conv 3 × 3 (stride 1 or 2) → batch norm → ReLU."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class FakeDetector(nn.Module):
    """``FakeDetector(widths)(x)``: frames ``(B, 3, 64, 64)`` in [-1, 1] → logits ``(B,)``, positive = fake."""

    def __init__(self, widths: tuple[int, ...] = (16, 32, 64, 64)):
        super().__init__()
        self.widths = tuple(int(w) for w in widths)
        strides = (1,) + (2,) * (len(self.widths) - 1)
        channels = (6,) + self.widths                         # the picture and its noise residual
        self.features = nn.Sequential(*(block(a, b, s) for a, b, s in zip(channels, channels[1:], strides)))
        self.head = nn.Linear(self.widths[-1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([x, RESIDUAL_GAIN * noise_residual(x)], 1)   # (B, 6, 64, 64)
        h = self.features(x)                                  # (B, C, 64 / 2^(L-1), ·)
        return self.head(h.mean((2, 3))).squeeze(1)           # (B, C) → logits (B,)

    @torch.no_grad()
    def probability(self, x: torch.Tensor) -> torch.Tensor:
        """p(fake) = σ(logit) for frames ``(B, 3, 64, 64)`` in [-1, 1], in eval mode: ``(B,)``."""
        return torch.sigmoid(self.eval()(x))

    def save(self, path: str | Path, info: dict | None = None) -> Path:
        """Write the weights and ``info`` (how it was trained, its AUCs) as safetensors, atomically."""
        metadata = {"widths": json.dumps(self.widths), "info": json.dumps(info or {})}
        return write_safetensors(path, self.state_dict(), metadata)


def load_detector(path: str | Path | None = None) -> tuple[FakeDetector, dict]:
    """``(detector in eval mode, its info)`` from ``path`` (default: the shipped :data:`SHIPPED`)."""
    path = SHIPPED if path is None else Path(path)
    metadata, tensors = read_safetensors(path, DetectorError, REMEDY)
    try:
        detector = FakeDetector(json.loads(metadata["widths"]))
        detector.load_state_dict(tensors)
        info = json.loads(metadata.get("info", "{}"))
    except (KeyError, ValueError, RuntimeError, TypeError) as problem:
        raise damaged(path, DetectorError, problem, REMEDY) from problem
    check_finite(detector, path, DetectorError, REMEDY)
    return detector.eval(), info
