"""The detector on a user's files: each image or video → the probability that its frames were generated.

A frame of any size is cut to its centre square and resized to 64² (what the detector was trained
on); a video's first ``max_frames`` frames are scored and their probabilities averaged. Read
:data:`LIMITS` before trusting a number. Introduced in notebook 11.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import cv2
import numpy as np

from ..video import IMAGE_SUFFIXES
from ..video import read_frames as decode_frames
from .frames import SIZE
from .model import DetectorError, FakeDetector
from .train import predict

VIDEO_SUFFIXES = (".mp4", ".gif", ".mov", ".avi", ".mkv", ".webm", ".m4v")
LIMITS = ("Limits: a small CNN trained on this course's 64x64 synthetic people against three generators (the "
          "paper's model, TPS warping, the warping generator). On other generators, real photos of people, or "
          "files re-compressed (JPEG, resized, re-encoded) its scores fall towards chance (notebook 11 measures "
          "how far). A probability, not a proof: a low score never means a file is real.")


@dataclass
class Detection:
    """The detector's verdict on one file: mean p(fake) over ``frames`` frames, and each frame's."""

    path: Path
    probability: float
    frames: int
    per_frame: np.ndarray        # (frames,)


def square(frame: np.ndarray, size: int = SIZE) -> np.ndarray:
    """The centre square of an uint8 ``(H, W, 3)`` frame, resized to ``size``²."""
    H, W = frame.shape[:2]
    side = min(H, W)
    top, left = (H - side) // 2, (W - side) // 2
    crop = np.ascontiguousarray(frame[top:top + side, left:left + side])
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(crop, (size, size), interpolation=interpolation)


def check_input(path: str | Path) -> Path:
    """``path`` if it exists and is named like an image or a video; else a :class:`DetectorError`."""
    path = Path(path)
    if not path.is_file():
        raise DetectorError(f"{path}: no such file")
    if path.suffix.lower() not in IMAGE_SUFFIXES + VIDEO_SUFFIXES:
        raise DetectorError(f"{path}: not an image or a video by its name; give one of "
                            f"{' '.join(IMAGE_SUFFIXES + VIDEO_SUFFIXES)}")
    return path


def read_frames(path: Path, max_frames: int) -> np.ndarray:
    """The first ``max_frames`` frames of an image (one) or a video, squared to 64²: uint8 ``(N, 64, 64, 3)``."""
    from PIL import UnidentifiedImageError

    is_image = path.suffix.lower() in IMAGE_SUFFIXES
    try:
        frames = list(islice(decode_frames(path), max_frames))
    except (UnidentifiedImageError, OSError, RuntimeError, ValueError) as problem:
        lines = str(problem).strip().splitlines()
        why = lines[-1][:200] if lines else type(problem).__name__          # ffmpeg's last line says why
        raise DetectorError(f"{path}: cannot be read as {'an image' if is_image else 'a video'} ({why}); "
                            "is the file complete?") from problem
    if not frames:
        raise DetectorError(f"{path}: holds no frames")
    return np.stack([square(frame) for frame in frames])


def detect(detector: FakeDetector, path: str | Path, max_frames: int = 64) -> Detection:
    """The detector's verdict on one image or video file."""
    path = check_input(path)
    per_frame = predict(detector, read_frames(path, max_frames))
    return Detection(path, float(per_frame.mean()), len(per_frame), per_frame)
