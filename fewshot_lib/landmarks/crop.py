"""Face crops: a square box around the landmarks, with margin, resized to the training size.

The paper trains on frames "cropped around the face" at 256x256. The box is square, centred
on the landmarks' bounding box (raised a little, since the 68 points stop at the brows and
the forehead belongs in the picture) and ``1 + 2 * margin`` times its larger side. In a video
the boxes are smoothed over time so the crop does not jitter with the detector. The landmarks
move with the crop: :meth:`CropBox.transform` maps image pixels to crop pixels.
Coordinates put pixel centres at integers (see ``sketch.py``). Introduced in notebook 01.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .detect import load_image
from .smoothing import smooth_track

MARGIN = 0.4
"""Space added on each side of the landmarks' box, as a fraction of its larger side."""
LIFT = 0.15
"""The box centre moves up by this fraction of the landmarks' larger side (room for the forehead)."""
BOX_SIGMA = 5.0
"""Default temporal smoothing of video crop boxes (Gaussian sigma, in source frames)."""


@dataclass(frozen=True)
class CropBox:
    """A square of whole pixels: columns ``left .. left + side - 1``, rows ``top .. top + side - 1``.

    It may reach outside the image; those pixels are black in the crop.
    """

    left: int
    top: int
    side: int

    def crop(self, image: np.ndarray, size: int) -> np.ndarray:
        """The box's pixels of ``image`` (HxWx3 uint8), resized to uint8 ``(size, size, 3)``."""
        height, width = image.shape[:2]
        region = np.zeros((self.side, self.side, 3), dtype=np.uint8)   # black outside the image
        x0, y0 = max(self.left, 0), max(self.top, 0)
        x1, y1 = min(self.left + self.side, width), min(self.top + self.side, height)
        if x0 < x1 and y0 < y1:
            region[y0 - self.top:y1 - self.top, x0 - self.left:x1 - self.left] = image[y0:y1, x0:x1]
        shrink = self.side > size
        return cv2.resize(region, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)

    def transform(self, landmarks: np.ndarray, size: int) -> np.ndarray:
        """Landmarks ``(..., 68, 2)`` in image pixels -> pixels of the ``size`` x ``size`` crop."""
        scale = size / self.side
        origin = np.array([self.left, self.top], dtype=np.float64)
        return ((np.asarray(landmarks, np.float64) - origin + 0.5) * scale - 0.5).astype(np.float32)

    def as_list(self) -> list[int]:
        """``[left, top, side]``, for JSON metadata."""
        return [self.left, self.top, self.side]


def _square(landmarks: np.ndarray, margin: float) -> np.ndarray:
    """Centre and side ``(..., 3)`` = ``(cx, cy, side)`` of the face squares of ``(..., 68, 2)`` landmarks."""
    low, high = landmarks.min(axis=-2), landmarks.max(axis=-2)   # (..., 2)
    extent = (high - low).max(axis=-1)                           # (...,)
    cx = (low[..., 0] + high[..., 0]) / 2
    cy = (low[..., 1] + high[..., 1]) / 2 - LIFT * extent
    return np.stack([cx, cy, extent * (1 + 2 * margin)], axis=-1)


def _to_box(square: np.ndarray) -> CropBox:
    cx, cy, side = (float(v) for v in square)
    side = max(1, round(side))
    # pixels left .. left + side - 1 are centred on left + (side - 1) / 2
    return CropBox(round(cx - (side - 1) / 2), round(cy - (side - 1) / 2), side)


def face_box(landmarks, margin: float = MARGIN) -> CropBox:
    """The square crop box of one face's ``(68, 2)`` landmarks."""
    return _to_box(_square(np.asarray(landmarks, np.float64), margin))


def face_boxes(landmarks, times=None, margin: float = MARGIN, sigma: float = BOX_SIGMA) -> list[CropBox]:
    """Crop boxes of a face followed through a video, ``(T, 68, 2)`` -> T boxes, smoothed over time.

    ``times``: the frames' numbers in the video (default ``0..T-1``); ``sigma``: Gaussian
    smoothing of the boxes' centre and side, in frames (0: none).
    """
    squares = smooth_track(_square(np.asarray(landmarks, np.float64), margin), times, sigma)   # (T, 3)
    return [_to_box(square) for square in squares]


def crop_face(image, landmarks, size: int = 256, margin: float = MARGIN) -> tuple[np.ndarray, np.ndarray]:
    """Crop one face: ``(crop (size, size, 3) uint8, landmarks (68, 2) float32 in the crop)``."""
    box = face_box(landmarks, margin)
    return box.crop(load_image(image), size), box.transform(landmarks, size)
