"""The ROC curve and its area, by hand: how well a score separates fakes (1) from real frames (0).

Sort the frames by score, highest first, and lower a threshold past them one by one. Each threshold
calls "fake" everything above it; the true-positive rate TPR = (fakes above) / (all fakes) and the
false-positive rate FPR = (real frames above) / (all real frames) trace the ROC curve from (0, 0) to
(1, 1). Tied scores are passed together (one step, a diagonal line). Its area::

    AUC = Σ_i (FPR_i − FPR_{i−1}) · (TPR_i + TPR_{i−1}) / 2        (trapezoids)

is the probability that a random fake scores above a random real frame (ties count ½): 1 is a
perfect detector, 0.5 a coin. Introduced in notebook 11.
"""
from __future__ import annotations

import numpy as np


def roc_curve(scores, labels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fpr, tpr, thresholds)``: one point per distinct score, highest first, after the point (0, 0).

    ``scores``: float ``(N,)``, higher = more likely fake; ``labels``: ``(N,)``, 1 = fake, 0 = real.
    Point i calls "fake" every frame scoring ``>= thresholds[i]`` (``thresholds[0] = +inf``: none).
    """
    scores, labels = np.asarray(scores, np.float64).ravel(), np.asarray(labels).ravel()
    if scores.shape != labels.shape or not np.isin(labels, (0, 1)).all():
        raise ValueError(f"roc_curve needs one label (0 or 1) per score; got {scores.shape}, {labels.shape}")
    positives, negatives = int(labels.sum()), int(len(labels) - labels.sum())
    if positives == 0 or negatives == 0:
        raise ValueError(f"roc_curve needs both classes; got {positives} fake and {negatives} real")
    order = np.argsort(-scores, kind="stable")
    scores, labels = scores[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]       # the last frame of each run of ties
    tp = np.cumsum(labels)[last]                                         # fakes at or above each threshold
    fp = (last + 1) - tp                                                 # real frames at or above it
    fpr, tpr = np.r_[0, fp / negatives], np.r_[0, tp / positives]
    return fpr, tpr, np.r_[np.inf, scores[last]]


def auc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """The area under a curve of points (fpr, tpr), by trapezoids."""
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def roc_auc(scores, labels) -> float:
    """The area under the ROC curve of ``scores`` (higher = fake) for ``labels`` (1 = fake)."""
    fpr, tpr, _ = roc_curve(scores, labels)
    return auc(fpr, tpr)
