"""Training the detector: binary cross-entropy on real (0) and fake (1) frames, AdamW, augmented batches.

One step, for a batch of frames x with labels t ∈ {0, 1}::

    z = D(augment(x))                                   logits (B,)
    L = −mean[ w_t · (t log σ(z) + (1 − t) log(1 − σ(z))) ]   w: each class weighs half, however many it has

then backward, AdamW step, zero the gradients. Seeded (``seed``): the same frames give the same
detector. On one CPU thread the course's full training (1 632 frames, 12 epochs) takes about two
minutes, and making its frames three more (``fewshot detector-train``). Introduced in notebook 11.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional as F

from ..config import pick, seed_everything
from ..data import to_tensor
from ..flags import at_least, check_ranges
from .augment import augment
from .model import FakeDetector


@dataclass(frozen=True)
class DetectorConfig:
    """How the detector is trained."""

    epochs: int = field(default=12, metadata=at_least(1))       # passes over the training frames
    batch_size: int = field(default=32, metadata=at_least(1))   # frames per step
    lr: float = field(default=3e-3, metadata=at_least(0))       # AdamW's learning rate
    weight_decay: float = field(default=1e-4, metadata=at_least(0))   # L2 on the weights (AdamW)
    augment: bool = True                                         # random shifts, flips, colour jitter
    seed: int = 0                                                # initial weights, batch order, augmentation

    def __post_init__(self):
        check_ranges(self)


def default_detector_config() -> DetectorConfig:
    """The course's training; a few epochs in smoke mode."""
    return pick(full=DetectorConfig(), smoke=DetectorConfig(epochs=4))


def train_detector(images: np.ndarray, labels: np.ndarray, cfg: DetectorConfig | None = None,
                   log=print) -> FakeDetector:
    """A :class:`FakeDetector` trained on uint8 frames ``(N, 64, 64, 3)`` with labels ``(N,)`` (1 = fake)."""
    cfg = default_detector_config() if cfg is None else cfg
    rng = seed_everything(cfg.seed)
    x, t = to_tensor(images), torch.as_tensor(labels, dtype=torch.float32)   # (N, 3, 64, 64), (N,)
    share = t.mean()
    weight = torch.where(t > 0, 0.5 / share, 0.5 / (1 - share))              # w: each class weighs half
    detector = FakeDetector()
    optimizer = torch.optim.AdamW(detector.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    start = time.perf_counter()
    for epoch in range(cfg.epochs):
        detector.train()
        order, total = torch.randperm(len(x), generator=rng), 0.0
        for batch in order.split(cfg.batch_size):
            frames = augment(x[batch], rng) if cfg.augment else x[batch]
            logits = detector(frames)                                        # (B,)
            loss = F.binary_cross_entropy_with_logits(logits, t[batch], weight=weight[batch])
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            total += loss.item() * len(batch)
        if log is not None:
            log(f"epoch {epoch + 1}/{cfg.epochs}: loss {total / len(x):.3f} ({time.perf_counter() - start:.0f} s)")
    return detector.eval()


def predict(detector: FakeDetector, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """p(fake) of uint8 frames ``(N, 64, 64, 3)``: float ``(N,)``."""
    return np.concatenate([detector.probability(to_tensor(images[i:i + batch_size])).numpy()
                           for i in range(0, len(images), batch_size)])
