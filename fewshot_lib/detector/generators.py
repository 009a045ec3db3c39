"""The fakes: the three generators the course builds, each run on the same clip of a synthetic person.

A :class:`Clip` holds two videos of one synthetic person: K **references** from one (the frames a
person model is made from: another day, another room) and T **targets** from the other (the frames
to forge, given only their landmarks), as in reenactment. Every generator draws the T targets
from the K references:

* ``"paper"``: the paper's feed-forward model (Zakharov et al. 2019, Sec. 3.2): ê = (1/K) Σ_k E(x_k, y_k),
  x̂_t = G(y_t, ê), with the shipped ``meta_cpu64`` networks (notebook 06); no fine-tuning;
* ``"tps"``: the reference nearest in pose, its pixels moved by a thin-plate spline from its
  landmarks onto the target's (notebook 10);
* ``"warp"``: the learned warping generator (shipped ``warp_cpu64``, notebook 10): the K references
  warped and blended, G paints the rest.

The true target frames are real frames of the same person in the same pose: what tells them apart
from the fakes is how they were made.
Outputs are rounded to uint8 as any saved image is: a detector must not learn that fakes are floats.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ..data import to_tensor
from ..landmarks import draw_sketches

@dataclass
class Clip:
    """K references and T targets of one video, as uint8 frames ``(·, S, S, 3)`` and landmarks ``(·, 68, 2)``."""

    references: np.ndarray            # (K, S, S, 3) uint8
    reference_landmarks: np.ndarray   # (K, 68, 2) float32 pixels
    targets: np.ndarray               # (T, S, S, 3) uint8: the real frames
    target_landmarks: np.ndarray      # (T, 68, 2) float32 pixels: all a generator sees of the targets

    @classmethod
    def from_videos(cls, driver, targets: np.ndarray, source, references: np.ndarray) -> "Clip":
        """The ``targets`` frames of video ``driver`` forged from the ``references`` frames of video ``source``
        (synthetic videos or records; frame indices)."""
        return cls(source.frames(references), source.landmarks[references], driver.frames(targets),
                   driver.landmarks[targets])

    @property
    def size(self) -> int:
        return self.targets.shape[1]


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Images ``(B, 3, S, S)`` in [-1, 1] → uint8 ``(B, S, S, 3)``, rounded as a saved image is."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def _sketches(landmarks: np.ndarray, size: int) -> torch.Tensor:
    return to_tensor(draw_sketches(landmarks, size))                          # (N, 3, S, S) in [-1, 1]


@functools.lru_cache(maxsize=None)
def _paper_networks():
    from ..pretrained import pretrained_checkpoint
    from ..train.networks import load_networks

    _, E, G, _ = load_networks(pretrained_checkpoint("meta_cpu64"))
    return E, G


@functools.lru_cache(maxsize=None)
def _warping_generator():
    from ..pretrained import pretrained_checkpoint
    from ..train.networks import load_warping_generator

    return load_warping_generator(pretrained_checkpoint("warp_cpu64"))[1]


def paper_fakes(clip: Clip) -> torch.Tensor:
    """x̂_t = G(y_t, ê), ê = mean_k E(x_k, y_k) (paper, Sec. 3.2, feed-forward): (T, 3, S, S)."""
    E, G = _paper_networks()
    frames, sketches = to_tensor(clip.references), _sketches(clip.reference_landmarks, clip.size)   # (K, 3, S, S)
    e_hat, _ = E.embed_frames(frames[None], sketches[None])                   # ê (1, N)
    y_t = _sketches(clip.target_landmarks, clip.size)                         # (T, 3, S, S)
    return G(y_t, e_hat.expand(len(y_t), -1))                                 # (T, 3, S, S)


def tps_fakes(clip: Clip) -> torch.Tensor:
    """The reference nearest in pose, warped by TPS onto each target's landmarks: (T, 3, S, S)."""
    from ..animate.motion import nearest_reference
    from ..warping import tps_warp

    nearest = nearest_reference(clip.reference_landmarks, clip.target_landmarks)                  # (T,)
    return tps_warp(to_tensor(clip.references[nearest]), clip.reference_landmarks[nearest], clip.target_landmarks)


def warp_fakes(clip: Clip) -> torch.Tensor:
    """The learned warping generator with the K references for each target: (T, 3, S, S)."""
    warper = _warping_generator()
    T = len(clip.targets)
    frames = to_tensor(clip.references)[None].expand(T, -1, -1, -1, -1)       # (T, K, 3, S, S)
    sketches = _sketches(clip.reference_landmarks, clip.size)[None].expand(T, -1, -1, -1, -1)
    landmarks = torch.from_numpy(clip.reference_landmarks)[None].expand(T, -1, -1, -1)         # (T, K, 68, 2)
    y_t = _sketches(clip.target_landmarks, clip.size)                         # (T, 3, S, S)
    x_hat, _ = warper(frames, sketches, y_t, landmarks, torch.from_numpy(clip.target_landmarks))
    return x_hat


FAKERS: dict[str, Callable[[Clip], torch.Tensor]] = {"paper": paper_fakes, "tps": tps_fakes, "warp": warp_fakes}
"""Each generator by name: a clip → its forged targets ``(T, 3, S, S)`` in [-1, 1]."""
GENERATORS = tuple(FAKERS)


@torch.no_grad()
def make_fakes(generator: str, clip: Clip) -> np.ndarray:
    """The generator's forgeries of the clip's targets, uint8 ``(T, S, S, 3)``."""
    if generator not in FAKERS:
        raise ValueError(f"unknown generator {generator!r}: choose one of {', '.join(GENERATORS)}")
    return to_uint8(FAKERS[generator](clip).float())
