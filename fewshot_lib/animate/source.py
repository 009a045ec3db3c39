"""The source of an animation: the person to animate, T square face crops and their landmarks.

A photo, or T frames of one person: landmarks detected (dlib by default), the face cropped square
at the output side (:func:`~fewshot_lib.landmarks.crop_face`); the crop *is* the output's frame.
Also :class:`AnimateError`, what every step of ``animate`` raises for an input it cannot use.
Introduced in notebook 01 (detection and crop); used by ``fewshot animate`` (notebook 10).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import FewshotError
from ..landmarks import crop_face, detect, load_image
from ..puppeteer import neutral_frame


class AnimateError(FewshotError, ValueError):
    """An argument or an input file ``animate`` cannot use; the message names it and says what to do."""


def _image(image) -> np.ndarray:
    """``image`` (path, array, PIL) as HxWx3 uint8, or an :class:`AnimateError` naming it."""
    try:
        return load_image(image)
    except (FileNotFoundError, ValueError, TypeError) as error:
        raise AnimateError(str(error)) from error


def _name(image) -> str:
    return str(image) if isinstance(image, (str, Path)) else type(image).__name__


@dataclass(frozen=True)
class Source:
    """The person to animate: T square face crops and their landmarks.

    ``crops``: uint8 ``(T, R, R, 3)``; ``landmarks``: float32 ``(T, 68, 2)`` pixels of the R × R crops.
    """

    crops: np.ndarray
    landmarks: np.ndarray
    name: str = "source"

    def __len__(self) -> int:
        return len(self.crops)

    @property
    def size(self) -> int:
        return self.crops.shape[1]

    @property
    def neutral(self) -> np.ndarray:
        """The landmarks ``(68, 2)`` of the most neutral frame: adaptation carries motion onto them."""
        return self.landmarks[neutral_frame(self.landmarks)]

    @classmethod
    def from_images(cls, images: Sequence, size: int = 256, backend: str = "dlib") -> "Source":
        """T images of one person (paths, arrays or PIL images): each face detected and cropped at ``size``.

        Raises :class:`NoFaceError` naming the image without a face, :class:`AnimateError` for an unreadable one.
        """
        arrays = [_image(image) for image in images]                 # every file read before any detection
        crops, points = [], []
        for image, array in zip(images, arrays):
            found = detect(image if isinstance(image, (str, Path)) else array, backend=backend)   # names the file
            crop, landmarks = crop_face(array, found, size=size)      # (R, R, 3), (68, 2) pixels of the crop
            crops.append(crop)
            points.append(landmarks)
        names = [_name(image) for image in images]
        return cls(np.stack(crops), np.stack(points).astype(np.float32),
                   names[0] if len(names) == 1 else f"{names[0]} (+{len(names) - 1})")

    @classmethod
    def from_photo(cls, photo, size: int = 256, backend: str = "dlib") -> "Source":
        """One photo (path, array or PIL image): a source with T = 1."""
        return cls.from_images([photo], size, backend)
