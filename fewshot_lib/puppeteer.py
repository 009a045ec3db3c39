"""Puppeteering (paper, Sec. 4.3): drive a person model with the landmarks of another face.

The paper draws the person from the *driver's* landmarks as they are (``adapt=False``, "raw").
Those landmarks hold the driver's motion, but also the driver's face shape: jaw, eye spacing,
nose and mouth size, and where and how big the face sits in the frame. The generator draws
what the sketch says, so the driver's geometry leaks into the result (the paper's known limit,
"identity mismatch").

**Landmark adaptation** (ours; ``adapt=True``) keeps the driver's motion and the source's shape.
Write 2D points as complex numbers, so that a scale-and-rotation is one complex factor. With the
driver's neutral reference frame D₀, its frame D_t, and the source's own neutral landmarks S₀:

1. the driver's head motion: the similarity fitted on stable points (eye corners, nose),
   ``D_t ≈ z_t (D₀ − c_D) + c_D + τ_t``  (z_t: scale · rotation, τ_t: shift, c_D: D₀'s centre);
2. the rest of the motion, head motion undone (expression, out-of-plane turns):
   ``δ_t = (D_t − c_D − τ_t) / z_t + c_D − D₀``;
3. both carried onto the source, scaled and turned by k, the similarity from D₀ to S₀
   (normalising for the faces' sizes and positions):
   ``A_t = z_t (S₀ + k δ_t − c_S) + c_S + k τ_t``.

If the source *is* the driver's reference (S₀ = D₀), A_t = D_t exactly: adaptation only
removes the difference between the two faces. Introduced in notebook 09.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from .data import to_tensor
from .data.synthetic.geometry import Camera, Expression, FaceShape, Pose, landmarks_3d
from .finetune import PersonModel, resize_landmarks
from .landmarks import draw_sketches
from .models import fold_spectral_norms
from .video import side_by_side, write_video
from .viz import to_image

STABLE = (27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45)
"""Points that move with the head, not with the expression: the nose and the eye corners."""


def as_complex(points: np.ndarray) -> np.ndarray:
    """``(..., 2)`` pixel (x, y) → complex ``(...)`` x + iy."""
    points = np.asarray(points, dtype=np.float64)
    return points[..., 0] + 1j * points[..., 1]


def as_points(z: np.ndarray) -> np.ndarray:
    """Complex ``(...)`` → float32 ``(..., 2)`` pixel (x, y)."""
    return np.stack([z.real, z.imag], axis=-1).astype(np.float32)


def similarity(source: np.ndarray, target: np.ndarray) -> tuple[complex, complex, complex]:
    """The least-squares similarity ``target ≈ z (source − c_s) + c_t`` between complex point sets ``(n,)``.

    Returns ``(z, c_s, c_t)``: the centres and z = Σ conj(a)·b / Σ |a|² for the centred points a, b
    (its modulus is the scale, its argument the rotation).
    """
    c_s, c_t = source.mean(), target.mean()
    a, b = source - c_s, target - c_t
    return (np.conj(a) * b).sum() / (np.abs(a) ** 2).sum(), c_s, c_t


def adapt_landmarks(driver: np.ndarray, driver_reference: np.ndarray, source: np.ndarray) -> np.ndarray:
    """The driver's motion (relative to ``driver_reference``) on the source's face: ``(T, 68, 2)``.

    ``driver``: ``(T, 68, 2)``; ``driver_reference`` and ``source``: ``(68, 2)`` neutral frames
    of the driver and of the source, all in pixels of the same image size.
    """
    stable = list(STABLE)
    D, D0, S0 = as_complex(driver).reshape(-1, 68), as_complex(driver_reference), as_complex(source)
    k, c_D, c_S = similarity(D0[stable], S0[stable])              # driver's face → source's face
    adapted = []
    for D_t in D:
        z_t, _, c_t = similarity(D0[stable], D_t[stable])         # head motion: D_t ≈ z_t (D0 − c_D) + c_t
        tau_t = c_t - c_D                                          # τ_t: the head's shift
        delta_t = (D_t - c_D - tau_t) / z_t + c_D - D0             # δ_t: the rest of the motion
        adapted.append(z_t * (S0 + k * delta_t - c_S) + c_S + k * tau_t)   # A_t
    return as_points(np.stack(adapted))


def neutral_frame(landmarks: np.ndarray) -> int:
    """The most neutral frame of ``(T, 68, 2)`` landmarks: mouth closed, eyes open, facing the camera.

    A heuristic score, each term relative to the eye distance: inner-lip gap + |nose tip's
    offset from the eyes' midpoint| + |eye line's tilt| − eye opening; the lowest wins.
    """
    points = np.asarray(landmarks, dtype=np.float64).reshape(-1, 68, 2)
    right, left = points[:, 36:42].mean(axis=1), points[:, 42:48].mean(axis=1)          # (T, 2)
    eye_span = np.linalg.norm(left - right, axis=1)                                     # (T,)
    mouth = np.linalg.norm(points[:, 66] - points[:, 62], axis=1) / eye_span
    turn = np.abs(points[:, 30, 0] - (left[:, 0] + right[:, 0]) / 2) / eye_span
    tilt = np.abs(np.arctan2(left[:, 1] - right[:, 1], left[:, 0] - right[:, 0]))
    lids = [(37, 41), (38, 40), (43, 47), (44, 46)]
    opening = np.mean([np.linalg.norm(points[:, a] - points[:, b], axis=1) for a, b in lids], axis=0) / eye_span
    return int(np.argmin(mouth + turn + tilt - opening))


def mean_face_landmarks(pose: Pose = Pose(), expression: Expression = Expression(), size: int = 64) -> np.ndarray:
    """The synthetic dataset's mean face in ``pose`` with ``expression``, float32 ``(68, 2)`` pixels of size × size."""
    return Camera(pose, size=size).project(landmarks_3d(FaceShape(), expression)).astype(np.float32)


@functools.cache
def neutral_mean_face(size: int) -> np.ndarray:
    """:func:`mean_face_landmarks` facing the camera, neutral: computed once per size (the widget asks at every
    redraw), read-only."""
    face = mean_face_landmarks(size=size)
    face.setflags(write=False)
    return face


def posed_landmarks(source: np.ndarray, pose: Pose, expression: Expression) -> np.ndarray:
    """The source's landmarks ``(68, 2)`` moved by a head pose and an expression (the widget's sliders).

    The mean face, posed, is the driver; its neutral pose is the reference: only the motion
    reaches the source's own face.
    """
    size = 64                                                      # any size: only the motion is used
    driver = mean_face_landmarks(pose, expression, size)
    return adapt_landmarks(driver[None], neutral_mean_face(size), source)[0]


def driving_landmarks(person: PersonModel, driver: np.ndarray, driver_size: int, adapt: bool) -> np.ndarray:
    """The landmarks ``(T, 68, 2)`` that drive ``person`` (pixels of its frames), raw or adapted.

    ``driver``: ``(T, 68, 2)`` in pixels of ``driver_size`` × ``driver_size`` frames.
    """
    driver = resize_landmarks(driver, driver_size, person.size).reshape(-1, 68, 2)
    if not adapt:
        return driver                                             # the paper: the driver's own landmarks
    source = person.landmarks[neutral_frame(person.landmarks)]
    return adapt_landmarks(driver, driver[neutral_frame(driver)], source)


def drive(person: PersonModel, landmarks: np.ndarray, batch_size: int = 8) -> Iterator[dict[str, np.ndarray]]:
    """Generate one frame per landmark set ``(T, 68, 2)`` (pixels of the person's frames), streaming.
    ``person``: a :class:`~fewshot_lib.finetune.PersonModel` or a warping one (notebook 10).

    Yields ``{"landmarks" (68, 2), "sketch" uint8 (S, S, 3), "result" uint8 (S, S, 3)}`` frame by
    frame; only ``batch_size`` frames are in memory at a time.
    """
    person = fold_spectral_norms(person)                              # σ(W) once, not at every frame
    landmarks = np.asarray(landmarks, dtype=np.float32).reshape(-1, 68, 2)
    for start in range(0, len(landmarks), batch_size):
        points = landmarks[start:start + batch_size]                  # (B, 68, 2)
        sketches = draw_sketches(points, person.size)                 # (B, S, S, 3) uint8
        with torch.no_grad():
            results = person.draw(to_tensor(sketches).to(person.psi.device),
                                  torch.from_numpy(points).to(person.psi.device))   # (B, 3, S, S) in [-1, 1]
        for p, sketch, result in zip(points, sketches, results):
            yield {"landmarks": p, "sketch": sketch, "result": to_image(result)}


def export_puppeteering(path: str | Path, person: PersonModel, driver, adapt: bool = True,
                        fps: float | None = None) -> Path:
    """Drive ``person`` with a driving video (a record or a synthetic video) and stream the layout
    driver | sketch | result into ``path`` (.mp4 or .gif, marked synthetic); returns the path.

    Frames are read, generated and encoded one by one (``fps``: default the driver's, else 8).
    """
    landmarks = driving_landmarks(person, driver.landmarks, driver.size, adapt)
    layouts = (side_by_side([driver.frame(t), out["sketch"], out["result"]])
               for t, out in enumerate(drive(person, landmarks)))
    return write_video(path, layouts, fps or getattr(driver, "fps", 8.0))
