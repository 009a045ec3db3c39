"""Measuring a detector on held-out people: AUC per generator, across generators, after compression.

* :func:`generator_aucs`: one AUC per generator, its fakes against the same real frames;
* :func:`cross_generator`: a detector trained on each generator's fakes alone, tested on every
  generator's: the diagonal is what a detector paper reports, the rest is what happens when the
  forger uses a method the detector never saw;
* :func:`robustness`: the same AUCs after each of :data:`PERTURBATIONS` (JPEG, resizing, H.264).

:func:`format_table` prints any of these as a table of rows × generators. Introduced in notebook 11.
"""
from __future__ import annotations

import numpy as np

from .frames import FrameSet
from .model import FakeDetector
from .roc import roc_auc
from .train import DetectorConfig, predict, train_detector
from ..perturb import h264, jpeg, resize_half

PERTURBATIONS = {"JPEG 50": lambda frames: jpeg(frames, 50), "resize 50%": resize_half, "H.264": h264}
"""What the detector is measured after (:mod:`fewshot_lib.perturb`), by name."""


def generator_aucs(detector: FakeDetector, test: FrameSet) -> dict[str, float]:
    """The AUC of each generator of ``test``: its fakes (1) against all of ``test``'s real frames (0)."""
    real = predict(detector, test.real)                                       # p(fake) of the real frames
    aucs = {}
    for generator, fakes in test.fakes.items():
        scores = np.concatenate([real, predict(detector, fakes)])
        labels = np.r_[np.zeros(len(real)), np.ones(len(fakes))]
        aucs[generator] = roc_auc(scores, labels)
    return aucs


def cross_generator(train: FrameSet, test: FrameSet, cfg: DetectorConfig | None = None,
                    log=None) -> dict[str, dict[str, float]]:
    """``table[trained on][tested on]``: one detector per generator of ``train`` (its fakes and the real
    frames), and one on all of them (``"all"``), each scored on every generator of ``test``."""
    table = {}
    for generators in [(g,) for g in train.fakes] + [tuple(train.fakes)]:
        detector = train_detector(*train.labelled(generators), cfg, log=log)
        table[generators[0] if len(generators) == 1 else "all"] = generator_aucs(detector, test)
    return table


def robustness(detector: FakeDetector, test: FrameSet) -> dict[str, dict[str, float]]:
    """``table[round trip][generator]``: the AUCs on the clean frames, then after each perturbation."""
    table = {"clean": generator_aucs(detector, test)}
    for name, change in PERTURBATIONS.items():
        table[name] = generator_aucs(detector, test.map(change))
    return table


def format_table(table: dict[str, dict[str, float]], corner: str = "") -> str:
    """Rows of AUCs as aligned text: one line per row, one column per generator."""
    columns = list(next(iter(table.values())))
    width = max(len(corner), *map(len, table)) + 2
    lines = [corner.ljust(width) + "".join(f"{c:>9}" for c in columns)]
    lines += [name.ljust(width) + "".join(f"{row[c]:>9.3f}" for c in columns) for name, row in table.items()]
    return "\n".join(lines)
