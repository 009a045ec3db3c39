"""Detect faces' 68 landmarks in an image, or follow one face through a video.

``detect(image)`` returns the most prominent face's points as float32 ``(68, 2)`` pixel
``(x, y)``; ``detect_all`` returns every :class:`Face`; ``detect_video`` follows one face from
frame to frame. Images may be HxWx3 uint8 RGB arrays, grayscale or RGBA arrays, PIL images
or file paths. A missing face raises :class:`NoFaceError`: it is never filled in silently.
Introduced in notebook 01.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import FewshotError, MissingFileError
from .backends import Backend, Face, get_backend
from .schema import NUM_LANDMARKS
from .smoothing import smooth_track

MIN_SIDE = 32
"""Smaller images are refused: no detector finds a face in them."""


class NoFaceError(FewshotError, ValueError):
    """The detector found no face in an image; the message names the image and what to try."""


def describe(image) -> str:
    """A short name for ``image`` in messages: its path, or its type and size."""
    if isinstance(image, (str, Path)):
        return str(image)
    if isinstance(image, Image.Image):
        return f"PIL image {image.size[0]}x{image.size[1]} {image.mode}"
    shape = getattr(image, "shape", None)
    return f"{type(image).__name__} image of shape {shape}" if shape is not None else type(image).__name__


def _from_path(path: Path) -> np.ndarray:
    if not path.is_file():
        raise MissingFileError(f"{path}: no such image file")
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"{path}: not a readable image ({error}); use a JPEG or PNG file") from error


def _to_rgb(array: np.ndarray, name: str) -> np.ndarray:
    if array.dtype != np.uint8:
        raise TypeError(f"{name}: dtype {array.dtype}, expected uint8 0-255; convert a float image in [0, 1] "
                        "with (image * 255).round().astype(np.uint8)")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:                                        # grayscale -> RGB
        return np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim == 3 and array.shape[2] in (3, 4):           # RGBA -> RGB (alpha dropped)
        return np.ascontiguousarray(array[:, :, :3])
    raise ValueError(f"{name}: expected an HxWx3 RGB image (or HxW gray, HxWx4 RGBA), got shape {array.shape}")


def load_image(image) -> np.ndarray:
    """``image`` (array, PIL image or path) as a contiguous HxWx3 uint8 RGB array, or a clear error."""
    name = describe(image)
    if isinstance(image, (str, Path)):
        array = _from_path(Path(image))
    elif isinstance(image, Image.Image):
        array = np.asarray(image.convert("RGB"))
    elif isinstance(image, np.ndarray):
        array = image
    else:
        raise TypeError(f"{name}: expected a numpy HxWx3 uint8 array, a PIL image or a path")
    array = _to_rgb(array, name)
    if min(array.shape[:2]) < MIN_SIDE:
        raise ValueError(f"{name}: {array.shape[1]}x{array.shape[0]} pixels is too small to hold a face "
                         f"(at least {MIN_SIDE}x{MIN_SIDE})")
    return array


def _backend(backend: str | Backend) -> Backend:
    return get_backend(backend) if isinstance(backend, str) else backend


def detect_all(image, backend: str | Backend = "auto") -> list[Face]:
    """Every face in ``image``, most prominent first (:attr:`Face.prominence`); ``[]`` if none."""
    faces = _backend(backend).detect_faces(load_image(image))
    return sorted(faces, key=lambda face: face.prominence, reverse=True)


def detect(image, backend: str | Backend = "auto") -> np.ndarray:
    """The most prominent face's landmarks, float32 ``(68, 2)`` pixel ``(x, y)``.

    Raises :class:`NoFaceError` when there is no face.
    """
    backend = _backend(backend)
    faces = detect_all(image, backend)
    if not faces:
        raise NoFaceError(f"no face found in {describe(image)} by the {backend.name} backend; the face should be "
                          "frontal-ish and at least ~40 px wide for dlib's HOG detector; or try "
                          "backend='dlib_cnn' or 'face_alignment'")
    return faces[0].landmarks


def _area(box: tuple[float, ...]) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    return width * height / (_area(a) + _area(b) - width * height)


def follow_face(faces: list[Face], previous: Face | None) -> Face | None:
    """The face continuing ``previous`` (largest box overlap), else the most prominent; None if no face."""
    if not faces:
        return None
    if previous is not None:
        overlaps = [_overlap(face.box, previous.box) for face in faces]
        if max(overlaps) > 0:
            return faces[int(np.argmax(overlaps))]
    return max(faces, key=lambda face: face.prominence)


@dataclass(frozen=True)
class LandmarkTrack:
    """One face followed through a video: the frames where it was found and its points there."""

    frame_indices: np.ndarray   # (T,) int64 positions in the input sequence, increasing
    landmarks: np.ndarray       # (T, 68, 2) float32
    num_frames: int             # frames examined (found + missing)

    @property
    def missing(self) -> list[int]:
        """Positions of the examined frames without a face (dropped, never filled in)."""
        return sorted(set(range(self.num_frames)) - set(self.frame_indices.tolist()))


def detect_video(frames: Iterable, backend: str | Backend = "auto", smooth: float = 0.0,
                 limit: int | None = None) -> LandmarkTrack:
    """Follow one face through ``frames`` (any iterable of images, read lazily).

    ``smooth``: Gaussian sigma, in frames, of the temporal smoothing of the points (0: none);
    ``limit``: stop once this many frames have a face. Frames without a face are listed in
    :attr:`LandmarkTrack.missing`.
    """
    backend = _backend(backend)
    found, points, previous, num_frames = [], [], None, 0
    for position, frame in enumerate(frames):
        num_frames += 1
        face = follow_face(backend.detect_faces(load_image(frame)), previous)
        if face is not None:
            found.append(position)
            points.append(face.landmarks)
            previous = face
            if len(found) == limit:
                break
    indices = np.array(found, dtype=np.int64)
    landmarks = smooth_track(points, indices, smooth) if points else np.zeros((0, NUM_LANDMARKS, 2), np.float32)
    return LandmarkTrack(indices, landmarks, num_frames)
