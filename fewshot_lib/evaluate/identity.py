"""Whose identity ends up in the output: the identity-swap probe and the identity leak of puppeteering.

For held-out synthetic people the exact answer to puppeteering is known: the renderer can draw
person i making person j's head motion and expressions (:func:`cross_reenactment`). Two
measurements use it:

* :func:`identity_swap`: does G draw the person of ê, or the person of the sketch? G(y_t, ê_j)
  for another person j is compared with x_t and with the true frame of j making i's motion
  (paper, Sec. 4.1: the embedding must carry the identity). Introduced in notebook 08;
* :func:`identity_leak`: how much of the *driver's* face shape the driving landmarks carry
  (the identity-mismatch limit of puppeteering, Zakharov et al. 2019, Sec. 4.3): shape error
  after the best similarity (:func:`shape_error`), face proportions (:func:`face_proportions`),
  point placement. :func:`adaptation_leak` measures it for raw and adapted landmarks
  (:func:`~fewshot_lib.puppeteer.adapt_landmarks`) over pairs of held-out people, and
  ``fewshot identity-leak`` prints the summary. Introduced in notebook 09.

    fewshot identity-leak --pairs 10 --frames 48 --shots 8
"""
from __future__ import annotations

import argparse
from typing import Any, Sequence

import numpy as np
import torch

from ..flags import at_least_int
from ..data import SyntheticVideo, to_tensor
from ..finetune import Shots, embed_person
from ..models import Embedder, Generator
from ..puppeteer import adapt_landmarks, as_complex, neutral_frame, similarity
from .metrics import EvaluationError, ssim
from .protocol import heldout_videos


# ------------------------------------------------------------------------------------ the exact answer
def cross_reenactment(source: SyntheticVideo, driver: SyntheticVideo,
                      frames: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The exact answer to puppeteering, for synthetic people: ``source``'s person, in ``source``'s
    scene, making ``driver``'s head motion and expressions at ``frames``.

    Returns uint8 images ``(n, S, S, 3)`` and landmarks ``(n, 68, 2)`` at the source's size.
    """
    from ..data.synthetic.render import render_backdrop, render_frame

    backdrop = render_backdrop(source.identity, source.scene, source.size)
    images, points = [], []
    for t in frames:
        pose, expression, shift = driver.state(int(t))
        image, landmarks = render_frame(source.identity, pose, expression, source.scene, source.size, backdrop, shift)
        images.append(image), points.append(landmarks)
    return np.stack(images), np.stack(points)


@torch.no_grad()
def identity_swap(E: Embedder, G: Generator, videos: Sequence[SyntheticVideo], k: int = 8, targets: int = 4,
                  seed: int = 0) -> list[dict[str, Any]]:
    """Does G draw the person of ê, or the person of the sketch? For video i and its target frame t,
    x̂_self = G(y_t, ê_i) and x̂_swap = G(y_t, ê_j), j the next video (another person).

    Rows hold SSIM(x̂_self, x_t), SSIM(x̂_swap, x_t) and SSIM(x̂_swap, x*_j,t), x*_j,t the true frame of
    person j making i's motion (:func:`cross_reenactment`). A model that uses ê has
    x̂_swap closer to x*_j,t than to x_t, and x̂_self closer to x_t than x̂_swap is.
    """
    rows, size, device = [], G.cfg.image_size, next(G.parameters()).device
    embeddings = [embed_person(E, Shots.from_video(v, np.random.default_rng(seed + i).choice(len(v), k, replace=False),
                                                   size).to(device)) for i, v in enumerate(videos)]
    for i, video in enumerate(videos):
        j = (i + 1) % len(videos)
        for t in np.random.default_rng(seed + 100 + i).choice(len(video), size=targets, replace=False):
            truth = Shots.from_video(video, [int(t)], size)
            x_self = G(truth.sketches.to(device), embeddings[i][None]).cpu()
            x_swap = G(truth.sketches.to(device), embeddings[j][None]).cpu()
            other, _ = cross_reenactment(videos[j], video, [int(t)])
            x_other = to_tensor(np.stack([_resize_image(other[0], size)]))
            rows.append({"video": i, "other": j, "target": int(t),
                         "SSIM self vs x_t": float(ssim(x_self, truth.frames)),
                         "SSIM swap vs x_t": float(ssim(x_swap, truth.frames)),
                         "SSIM swap vs other person's truth": float(ssim(x_swap, x_other))})
    return rows


def _resize_image(image: np.ndarray, size: int) -> np.ndarray:
    import cv2

    return image if image.shape[0] == size else cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


# ------------------------------------------------------------------------------------ identity leak
def face_proportions(landmarks: np.ndarray) -> np.ndarray:
    """Shape ratios of faces ``(..., 68, 2)`` → ``(..., 4)``, each divided by the eye distance:
    jaw width (0–16), face length (eyes' midpoint to chin 8), mouth width (48–54), nose length (27–33)."""
    p = np.asarray(landmarks, dtype=np.float64)
    eyes_r, eyes_l = p[..., 36:42, :].mean(-2), p[..., 42:48, :].mean(-2)
    eye_span = np.linalg.norm(eyes_l - eyes_r, axis=-1)
    lengths = [np.linalg.norm(p[..., 16, :] - p[..., 0, :], axis=-1),
               np.linalg.norm(p[..., 8, :] - (eyes_l + eyes_r) / 2, axis=-1),
               np.linalg.norm(p[..., 54, :] - p[..., 48, :], axis=-1),
               np.linalg.norm(p[..., 33, :] - p[..., 27, :], axis=-1)]
    return np.stack(lengths, axis=-1) / eye_span[..., None]


PROPORTIONS = ("jaw width", "face length", "mouth width", "nose length")
"""The columns of :func:`face_proportions` (all relative to the eye distance)."""


def shape_error(landmarks: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Landmark error left after the best similarity (position, scale, rotation) is removed, per frame,
    relative to the true face's size: ``(T, 68, 2)`` pairs → ``(T,)``. Only the face's shape remains."""
    errors = []
    for a, b in zip(as_complex(landmarks).reshape(-1, 68), as_complex(truth).reshape(-1, 68)):
        z, c_a, c_b = similarity(a, b)
        errors.append(np.abs(z * (a - c_a) + c_b - b).mean() / np.abs(b - c_b).mean())
    return np.asarray(errors)


def identity_leak(driving: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """How much of the driving landmarks' face is not the source's: ``driving`` vs ``truth`` ``(T, 68, 2)``
    (the source making the driver's motion). ``shape error``: :func:`shape_error`; ``proportion error``:
    mean |difference| of :func:`face_proportions`; ``placement error``: mean point distance in pixels."""
    return {"shape error": float(shape_error(driving, truth).mean()),
            "proportion error": float(np.abs(face_proportions(driving) - face_proportions(truth)).mean()),
            "placement error": float(np.linalg.norm(driving - truth, axis=-1).mean())}


LEAK_MODES = ("raw", "adapted")
"""The driving landmarks compared: the driver's own (the paper's puppeteering) and adapted to the source."""


def leak_of_pair(source: SyntheticVideo, driver: SyntheticVideo, frames: int,
                 shots: int) -> dict[str, dict[str, float]]:
    """:func:`identity_leak` of raw and adapted driving landmarks when ``driver`` drives ``source``.

    The source's landmarks are its ``shots`` frames spread over its video (what a person model
    keeps, as in notebook 09); the driving landmarks are the driver's first ``frames`` frames.
    """
    chosen = np.linspace(0, len(source) - 1, shots).astype(int)
    source_points = source.landmarks[chosen]                                   # (T, 68, 2): what a person model keeps
    raw = driver.landmarks[:frames]                                            # (F, 68, 2): the paper's driving
    adapted = adapt_landmarks(raw, raw[neutral_frame(raw)], source_points[neutral_frame(source_points)])
    _, truth = cross_reenactment(source, driver, range(frames))                # (F, 68, 2): the exact answer
    return {"raw": identity_leak(raw, truth), "adapted": identity_leak(adapted, truth)}


def adaptation_leak(pairs: int = 10, frames: int = 48, shots: int = 8,
                    size: int = 64) -> list[dict[str, dict[str, float]]]:
    """:func:`leak_of_pair` for ``pairs`` pairs of held-out synthetic people: pair i drives person i with
    person i + 1. Landmarks only, no checkpoint. One ``{"raw": {...}, "adapted": {...}}`` per pair."""
    for name, value, least in (("pairs", pairs, 1), ("frames", frames, 1), ("shots", shots, 1), ("size", size, 8)):
        if value < least:
            raise EvaluationError(f"{name}={value}: needs at least {least}")
    videos = heldout_videos(size, max(frames, shots), identities=pairs + 1)
    return [leak_of_pair(videos[i], videos[i + 1], frames, shots) for i in range(pairs)]


def leak_summary(pairs: Sequence[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Per measure of :func:`identity_leak`: mean and standard error of each mode over the pairs, and
    ``lower``, the number of pairs where adapted landmarks leak less than raw ones."""
    summary = {}
    for metric in pairs[0]["raw"]:
        values = {mode: np.array([pair[mode][metric] for pair in pairs]) for mode in LEAK_MODES}
        se = {mode: v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else float("nan") for mode, v in values.items()}
        summary[metric] = {**{mode: float(values[mode].mean()) for mode in LEAK_MODES},
                           **{f"{mode}_sem": float(se[mode]) for mode in LEAK_MODES},
                           "lower": int((values["adapted"] < values["raw"]).sum()), "pairs": len(pairs)}
    return summary


def format_leak(pairs: Sequence[dict[str, dict[str, float]]], frames: int, shots: int, size: int) -> str:
    """The summary of :func:`adaptation_leak` as ``fewshot identity-leak`` prints it."""
    lines = [f"{len(pairs)} pairs of held-out people, {frames} frames, {shots} shots, {size} px "
             "(mean ± standard error; 'lower' counts the pairs where adaptation beats raw)"]
    for metric, s in leak_summary(pairs).items():
        lines.append(f"  {metric:<17} raw {s['raw']:.3f} ± {s['raw_sem']:.3f}   "
                     f"adapted {s['adapted']:.3f} ± {s['adapted_sem']:.3f}   lower in {s['lower']} of {s['pairs']}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ command line
def add_identity_leak_command(subcommands) -> None:
    p = subcommands.add_parser(
        "identity-leak", help="how much of the driver's face leaks into puppeteering, raw vs adapted landmarks",
        description="Drive held-out synthetic people with each other's landmarks and compare the driving landmarks "
                    "with the exact answer (the source making the driver's motion): shape, proportion and placement "
                    "errors of raw and adapted landmarks. Landmarks only: no checkpoint is involved.")
    p.add_argument("--pairs", type=at_least_int(1), default=10, help="pairs of held-out people (default: 10)")
    p.add_argument("--frames", type=at_least_int(2), default=48, help="driving frames per pair (default: 48)")
    p.add_argument("--shots", type=at_least_int(1), default=8,
                   help="the source's frames a person model keeps (default: 8)")
    p.add_argument("--size", type=at_least_int(16), default=64, help="frame size in pixels (default: 64)")
    p.add_argument("--json", default=None, help="also write the per-pair numbers here")
    p.add_argument("--overwrite", action="store_true", help="replace the --json file if it exists")
    p.set_defaults(run=_run_identity_leak)


def _run_identity_leak(args: argparse.Namespace) -> int:
    from ..errors import output_path
    from .report import write_json

    out = output_path(args.json, args.overwrite) if args.json else None   # known errors: printed by the CLI
    pairs = adaptation_leak(args.pairs, args.frames, args.shots, args.size)
    print(format_leak(pairs, args.frames, args.shots, args.size))
    if out is not None:
        write_json(out, pairs)
    return 0
