"""The T frames of a new person (or one photo): images, landmarks and sketches at the model's size."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
import torch

from ..data import to_tensor
from ..landmarks import crop_face, detect, draw_sketches, load_image


def resize_landmarks(landmarks: np.ndarray, from_size: int, to_size: int) -> np.ndarray:
    """Landmarks ``(..., 68, 2)`` in pixels of a ``from_size`` square image → of a ``to_size`` one.

    Pixel centres sit at integers, so a point maps as ``(p + 0.5) · to / from − 0.5``.
    """
    return ((np.asarray(landmarks, np.float64) + 0.5) * (to_size / from_size) - 0.5).astype(np.float32)


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    if image.shape[0] == size:
        return image
    interpolation = cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_CUBIC
    return cv2.resize(image, (size, size), interpolation=interpolation)


@dataclass(frozen=True)
class Shots:
    """The T few-shot frames of one person, as E and G want them.

    ``frames``, ``sketches``: float32 ``(T, 3, S, S)`` in [-1, 1]; ``landmarks``: float32
    ``(T, 68, 2)`` pixels of the S × S frames.
    """

    frames: torch.Tensor
    sketches: torch.Tensor
    landmarks: np.ndarray

    def __len__(self) -> int:
        return len(self.frames)

    def to(self, device: torch.device | str) -> "Shots":
        """The same shots with their tensors on ``device``."""
        return Shots(self.frames.to(device), self.sketches.to(device), self.landmarks)

    @classmethod
    def from_images(cls, images: Sequence[np.ndarray] | np.ndarray, landmarks: np.ndarray, size: int) -> "Shots":
        """T square uint8 RGB images ``(T, H, H, 3)`` and their landmarks ``(T, 68, 2)`` (pixels of
        the H × H images), resized to the model's side ``size``."""
        images = [np.asarray(image) for image in images]
        landmarks = np.asarray(landmarks, dtype=np.float32).reshape(-1, 68, 2)
        if not images or len(images) != len(landmarks):
            raise ValueError(f"got {len(images)} images and {len(landmarks)} landmark sets: "
                             "give at least one image, and one (68, 2) landmark set per image")
        odd = [image.shape for image in images if image.ndim != 3 or image.shape[0] != image.shape[1]
               or image.shape[2] != 3 or image.dtype != np.uint8]
        if odd:
            raise ValueError(f"images must be square HxHx3 uint8 RGB crops (see landmarks.crop_face); got {odd[0]}")
        points = np.stack([resize_landmarks(p, image.shape[0], size) for p, image in zip(landmarks, images)])
        pixels = np.stack([_resize(image, size) for image in images])          # (T, S, S, 3)
        return cls(to_tensor(pixels), to_tensor(draw_sketches(points, size)), points)

    @classmethod
    def from_video(cls, video, indices: Sequence[int], size: int | None = None) -> "Shots":
        """Frames ``indices`` of a video (a record or a synthetic video), at ``size`` (default: the video's)."""
        indices = [int(t) for t in indices]
        return cls.from_images([video.frame(t) for t in indices], video.landmarks[indices], size or video.size)

    @classmethod
    def from_photo(cls, photo, size: int, backend: str = "dlib") -> "Shots":
        """One shot from a photo (array, PIL image or path): landmarks detected, face cropped, resized.

        Raises :class:`~fewshot_lib.landmarks.NoFaceError` when the detector finds no face.
        """
        image = load_image(photo)
        crop, points = crop_face(image, detect(image, backend=backend), size=size)
        return cls.from_images([crop], points[None], size)
