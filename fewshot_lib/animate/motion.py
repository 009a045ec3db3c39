"""The driving landmarks: where the source's face points go in each output frame, and which source frame is
nearest in pose.

* :func:`drive_landmarks`: the driver's landmarks as they are (``raw``, the paper), or its motion
  carried onto the source's face (landmark adaptation, notebook 09), with the guard
  :func:`keep_open` on the eyelid and lip gaps (:data:`OPENINGS`, :func:`openings`);
* :func:`nearest_reference`: for each driving frame, the source frame nearest in pose
  (:func:`normalise_shape` removes translation and scale), the one a warp moves (notebook 10).
"""
from __future__ import annotations

import numpy as np

from ..puppeteer import adapt_landmarks
from .driver import Driver
from .source import Source


def normalise_shape(landmarks: np.ndarray) -> np.ndarray:
    """Landmarks ``(..., 68, 2)`` centred on their mean and scaled to unit RMS radius (translation, scale removed)."""
    points = np.asarray(landmarks, np.float64)
    centred = points - points.mean(axis=-2, keepdims=True)
    return centred / np.sqrt((centred ** 2).sum(axis=(-2, -1), keepdims=True) / points.shape[-2])


def nearest_reference(references: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """For each driving landmark set ``(B, 68, 2)``, the index of the reference ``(T, 68, 2)`` nearest in pose.

    The distance is Euclidean over the 68 points after removing translation and scale
    (:func:`normalise_shape`), so it compares head pose and expression, not where the face
    sits or how big it is. Rotation in the image plane (roll) is kept: it is part of the pose.
    Returns int64 ``(B,)``.
    """
    refs = normalise_shape(np.asarray(references).reshape(-1, 68, 2))         # (T, 68, 2)
    points = normalise_shape(np.asarray(landmarks).reshape(-1, 68, 2))        # (B, 68, 2)
    distances = ((points[:, None] - refs[None]) ** 2).sum(axis=(-2, -1))      # (B, T)
    return distances.argmin(axis=1)


OPENINGS = ((37, 41), (38, 40), (43, 47), (44, 46), (61, 67), (62, 66), (63, 65))
"""The (upper, lower) eyelid and inner-lip pairs: the gaps that open and close."""


def _down(points: np.ndarray) -> np.ndarray:
    """The face's downward unit vector ``(..., 2)``: the eye line (point 36 → 45) turned by +90°."""
    eye = points[..., 45, :] - points[..., 36, :]
    down = np.stack([-eye[..., 1], eye[..., 0]], axis=-1)
    return down / np.linalg.norm(down, axis=-1, keepdims=True)


def openings(landmarks: np.ndarray) -> np.ndarray:
    """The signed gaps ``(..., 7)`` of the :data:`OPENINGS` pairs along the face's downward direction, in pixels
    (negative: the lower lid or lip above the upper one, a fold)."""
    points = np.asarray(landmarks, np.float64)
    upper, lower = points[..., [a for a, _ in OPENINGS], :], points[..., [b for _, b in OPENINGS], :]
    return ((lower - upper) * _down(points)[..., None, :]).sum(-1)


def keep_open(landmarks: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """Landmarks ``(..., 68, 2)`` with each :data:`OPENINGS` gap at least ``floor`` ``(..., 7)`` pixels: a pair
    that is closer is pushed apart symmetrically along the face's downward direction."""
    points = np.array(landmarks, np.float64)
    push = np.maximum(np.asarray(floor, np.float64) - openings(points), 0) / 2       # (..., 7)
    shift = push[..., None] * _down(points)[..., None, :]                            # (..., 7, 2)
    points[..., [a for a, _ in OPENINGS], :] -= shift
    points[..., [b for _, b in OPENINGS], :] += shift
    return points.astype(np.float32)


def drive_landmarks(source: Source, driver: Driver, raw: bool = False) -> np.ndarray:
    """The landmarks ``(N, 68, 2)`` (pixels of the source's R × R crop) that drive the source.

    ``raw=True`` (the paper): the driver's own landmarks in its crop (:meth:`Driver.landmarks_in_crop`).
    Otherwise (ours, notebook 09): the driver's motion relative to its neutral frame, carried
    onto the source's neutral face (:func:`~fewshot_lib.puppeteer.adapt_landmarks`), then one
    guard: adaptation *adds* the driver's lid and lip motion, so a driver with wide eyes
    blinking would push a narrow-eyed source's upper lids below its lower ones. Where the
    driver closes an eye or the mouth to a fraction f of its neutral opening, the source's
    gap is kept at least f times its own (:func:`keep_open`): a blink closes, never folds.
    """
    points = driver.landmarks_in_crop(source.size)                            # (N, 68, 2)
    if raw:
        return points
    reference = points[driver.reference_index]
    adapted = adapt_landmarks(points, reference, source.neutral)
    span = np.linalg.norm(reference[45] - reference[36])
    neutral_gaps = openings(reference)                                        # (7,)
    usable = neutral_gaps > 0.01 * span                                       # a closed neutral mouth: no ratio
    ratio = np.clip(openings(points) / np.where(usable, neutral_gaps, 1.0), 0, 1)   # (N, 7) f, closing only
    floor = openings(source.neutral) * np.where(usable, ratio, 1.0)          # (N, 7)
    return keep_open(adapted, floor)
