"""The driver of an animation: the landmarks that drive, one set per output frame.

A video file (landmarks detected per frame, frames without a face skipped as in ``fewshot
prepare``), a list of images, the built-in **sweep** of the source's own face through head poses
and expressions (:func:`sweep_motion`), or a built-in **synthetic** person talking. The driver
is cropped like the source (a square box around its neutral frame's landmarks), so its
landmarks are in pixels of an R × R crop. Introduced in notebook 09 (the sweep's mean face,
the neutral frame); used by ``fewshot animate`` (notebook 10).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from ..data.synthetic.geometry import Expression, Pose
from ..landmarks import CropBox, NoFaceError, detect_video, face_box
from ..puppeteer import mean_face_landmarks, neutral_frame
from ..video import read_video
from .source import AnimateError, _image

SWEEP_FRAMES = 48
SYNTHETIC_FRAMES = 48
SMOOTH = 1.0
"""Temporal smoothing of a driving video's detected landmarks (Gaussian sigma, in frames): less detector jitter."""


def sweep_motion() -> list[tuple[Pose, Expression]]:
    """The built-in sweep: 48 (pose, expression) pairs, the head's range and the face's moves in turn.

    Frames 0-15: yaw 0 → +20° → 0 → −20° → 0; 16-27: pitch 0 → +10° (chin down) → 0 → −10° → 0;
    28-39: the mouth opens (to 0.6 of the synthetic face's widest, as when talking) and closes
    twice; 40-47: one blink. Frame 0 is neutral.
    """
    motion = []
    for t in range(SWEEP_FRAMES):
        yaw = 20 * math.sin(2 * math.pi * t / 16) if t < 16 else 0.0
        pitch = 10 * math.sin(2 * math.pi * (t - 16) / 12) if 16 <= t < 28 else 0.0
        mouth = 0.6 * math.sin(math.pi * (t - 28) / 6) ** 2 if 28 <= t < 40 else 0.0
        blink = max(0.0, math.sin(math.pi * (t - 41) / 5)) if 41 <= t < 46 else 0.0
        motion.append((Pose(yaw=yaw, pitch=pitch), Expression(mouth_open=mouth, blink=blink)))
    return motion


@dataclass(frozen=True)
class Driver:
    """The landmarks that drive, one set per output frame, and (if it has them) the driver's frames.

    ``landmarks``: float32 ``(N, 68, 2)`` pixels of the driver's own frames; ``reference``: its
    neutral frame (default: :func:`~fewshot_lib.puppeteer.neutral_frame`); ``images``: a function
    returning the N frames again, in order (re-read on demand: a long video never sits in memory),
    or None (the sweep: its panel is the landmark sketch); ``fps``: its frame rate if known;
    ``notes``: what the user should know (frames skipped, frame rate guessed).
    """

    landmarks: np.ndarray
    name: str
    fps: float | None = None
    reference: int | None = None
    images: Callable[[], Iterable[np.ndarray]] | None = field(default=None, repr=False)
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.landmarks)

    @property
    def reference_index(self) -> int:
        return neutral_frame(self.landmarks) if self.reference is None else int(self.reference)

    def box(self) -> CropBox:
        """The driver's crop: the square box (as ``crop_face`` makes it) around its neutral frame, fixed over time."""
        return face_box(self.landmarks[self.reference_index])

    def landmarks_in_crop(self, size: int) -> np.ndarray:
        """The driver's landmarks ``(N, 68, 2)`` in pixels of its ``size`` × ``size`` crop."""
        return self.box().transform(self.landmarks, size)

    def crops(self, size: int) -> Iterator[np.ndarray] | None:
        """The driver's frames cropped like its landmarks, uint8 ``(size, size, 3)`` one at a time (None: no frames)."""
        if self.images is None:
            return None
        box = self.box()
        return (box.crop(_image(frame), size) for frame in self.images())

    # ---------------------------------------------------------------- the built-in drivers
    @classmethod
    def sweep(cls, limit: int | None = None) -> "Driver":
        """The mean face of the synthetic dataset moved through :func:`sweep_motion` (no frames: sketches)."""
        motion = sweep_motion()[:limit]
        points = np.stack([mean_face_landmarks(pose, expression, size=64) for pose, expression in motion])
        return cls(points, "sweep", None, reference=0)

    @classmethod
    def synthetic(cls, size: int = 256, limit: int | None = None) -> "Driver":
        """A held-out synthetic person talking (exact landmarks; frames rendered on demand at ``size``)."""
        from ..data import SyntheticConfig, synthetic_split

        frames = min(limit or SYNTHETIC_FRAMES, SYNTHETIC_FRAMES)
        config = SyntheticConfig(size=size, frames=frames, heldout_identities=1, videos=1)
        video = synthetic_split("heldout", config)[0]
        return cls(video.landmarks, f"synthetic person {video.identity.index}", video.fps,
                   images=lambda: (video.frame(t) for t in range(frames)))

    @classmethod
    def from_images(cls, images: Sequence, backend: str = "dlib", limit: int | None = None,
                    name: str = "driving images", fps: float | None = None) -> "Driver":
        """A driver from a list of frames (paths, arrays or PIL images), landmarks detected in each."""
        images = list(images)
        arrays = [_image(image) for image in images]
        track = detect_video(arrays, backend, smooth=SMOOTH, limit=limit)
        kept = [arrays[i] for i in track.frame_indices]
        return cls._from_track(track, name, fps, lambda: iter(kept))

    @classmethod
    def from_video(cls, path: str | Path, backend: str = "dlib", limit: int | None = None) -> "Driver":
        """A driver from a video file (mp4, GIF, anything ffmpeg reads): landmarks detected frame by frame.

        Frames without a face are skipped (and counted in ``notes``); ``limit``: stop after this
        many frames with a face. The frames are decoded again, lazily, for the side-by-side layout.
        """
        path = Path(path)
        fps = _check_video(path)
        from tqdm.auto import tqdm

        reader = read_video(path)
        bar = tqdm(reader, desc="driver landmarks", unit="frame", leave=False)
        try:
            track = detect_video(bar, backend, smooth=SMOOTH, limit=limit)
        except (OSError, RuntimeError, SyntaxError, ValueError) as error:   # a truncated file, frames too small
            raise AnimateError(f"{path}: {_first_line(error)}") from error
        finally:
            bar.close()
            reader.close()                                    # stops ffmpeg when the limit stopped us early
        positions = track.frame_indices.tolist()

        def images() -> Iterator[np.ndarray]:
            wanted, frames = set(positions), read_video(path)
            try:
                for position, frame in enumerate(frames):
                    if position in wanted:
                        yield frame
                    if position >= positions[-1]:
                        break
            finally:
                frames.close()

        return cls._from_track(track, str(path), fps, images)

    @classmethod
    def _from_track(cls, track, name: str, fps: float | None, images) -> "Driver":
        if track.num_frames < 2:
            raise AnimateError(f"{name}: {track.num_frames} frame(s); a driver needs at least 2 frames")
        found = len(track.frame_indices)
        if found == 0:
            raise NoFaceError(f"no face found in any of the {track.num_frames} frames of {name}; the driving "
                              "face should be frontal-ish and at least ~40 px wide, or try backend='dlib_cnn'")
        if found < 2:
            raise AnimateError(f"{name}: a face in only {found} of {track.num_frames} frames; a driver needs "
                               "at least 2 frames with a face")
        notes = (f"{name}: {len(track.missing)} of {track.num_frames} frames have no face and were skipped",) \
            if track.missing else ()
        return cls(track.landmarks, name, fps, images=images, notes=notes)

    @classmethod
    def load(cls, drive=None, size: int = 256, backend: str = "dlib", limit: int | None = None) -> "Driver":
        """``drive``: None or ``"sweep"`` (:meth:`sweep`), ``"synthetic"`` (:meth:`synthetic`), a video's path
        (:meth:`from_video`), a list of images (:meth:`from_images`) or a :class:`Driver` (kept, cut to ``limit``)."""
        if isinstance(drive, Driver):
            if limit is None:
                return drive
            reference = drive.reference if drive.reference is not None and drive.reference < limit else None
            return cls(drive.landmarks[:limit], drive.name, drive.fps, reference, drive.images, drive.notes)
        if drive is None or drive == "sweep":
            return cls.sweep(limit)
        if drive == "synthetic":
            return cls.synthetic(size, limit)
        if isinstance(drive, (str, Path)):
            return cls.from_video(drive, backend, limit)
        return cls.from_images(drive, backend, limit)


def _first_line(error: BaseException) -> str:
    return (str(error).strip() or type(error).__name__).splitlines()[0]


def _check_video(path: Path) -> float | None:
    """Open ``path`` as a video and decode its first frame: its frame rate (None if unknown), or an AnimateError."""
    if not path.is_file():
        raise AnimateError(f"{path}: no such video file (or use drive='sweep' / 'synthetic')")
    frames = read_video(path)
    try:
        next(frames)
    except StopIteration:
        raise AnimateError(f"{path}: a video without frames") from None
    except (OSError, RuntimeError, ValueError, SyntaxError) as error:       # PIL raises SyntaxError for bad GIFs
        raise AnimateError(f"{path}: not a readable video ({_first_line(error)}); use an mp4 or GIF file") from None
    finally:
        frames.close()
    try:
        if path.suffix.lower() == ".gif":
            from PIL import Image

            with Image.open(path) as image:
                fps = 1000.0 / image.info["duration"] if image.info.get("duration") else None
        else:
            import imageio.v3 as iio

            fps = float(iio.immeta(path, plugin="FFMPEG").get("fps") or 0)
    except (OSError, RuntimeError, ValueError, KeyError):
        fps = None
    return fps if fps and math.isfinite(fps) and fps > 0 else None
