"""One photo in, a talking-head video out: the whole pipeline behind ``fewshot animate``.

>>> animate("face.jpg", drive="driver.mp4", out="talking.mp4")          # doctest: +SKIP
>>> for frame in animate_frames("face.jpg"):                            # doctest: +SKIP
...     ...                                                              # uint8 (256, 256, 3), the built-in sweep

The steps, each a piece built earlier in the course:

1. **Source** (:class:`Source`): a photo, or T frames of one person; landmarks detected
   (dlib by default), the face cropped square at the output side ``size`` (notebook 01).
   The crop *is* the output's frame: a 256² crop animates at 256².
2. **Driver** (:class:`Driver`): the landmarks that drive, one set per output frame: a video
   file (landmarks detected per frame, frames without a face skipped as in ``fewshot
   prepare``), the built-in **sweep** of the source's own face through head poses and
   expressions (:func:`sweep_motion`), or a built-in **synthetic** person talking. The
   driver is cropped like the source (a square box around its neutral frame's landmarks),
   so its landmarks are in pixels of an R × R crop.
3. **Landmark adaptation** (notebook 09, :func:`~fewshot_lib.puppeteer.adapt_landmarks`), on
   by default: the driver's motion on the source's face. ``raw=True`` is the paper's mode:
   the driver's own landmarks, as they sit in its crop.
4. **Method** (:data:`METHODS`): draws the source with the driving landmarks, R × R frames:
   ``"tps"`` warps the source's pixels with a thin-plate spline (notebook 10);
   ``"paper"`` is the paper's person model (notebook 07), drawn at its 64² and resized.
5. **Output**: frames streamed into an mp4 or GIF marked as synthetic (:mod:`~fewshot_lib.video`),
   alone or next to the driver and the source (``layout="side-by-side"``).

Every argument is checked before any landmark is detected, and the video is written under a
temporary name beside ``out`` and renamed at the end: a failure never leaves half a video.
Not introduced by one notebook: it strings together notebooks 01, 07, 09 and 10.
"""
from __future__ import annotations

import argparse
import math
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .data import to_tensor
from .data.synthetic.geometry import Expression, Pose
from .landmarks import (BACKENDS, BackendUnavailableError, CropBox, NoFaceError, crop_face, detect, detect_video,
                        draw_sketch, face_box, load_image)
from .puppeteer import adapt_landmarks, mean_face_landmarks, neutral_frame
from .video import SUFFIXES, VideoExportError, VideoWriter, read_video, side_by_side

DEFAULT_METHOD = "warp"
LAYOUTS = ("result", "side-by-side")
DEFAULT_FPS = 25.0
"""Frames per second when the driver has none (the sweep, a list of images, a video without a frame rate)."""
SWEEP_FRAMES = 48
SYNTHETIC_FRAMES = 48
SMOOTH = 1.0
"""Temporal smoothing of a driving video's detected landmarks (Gaussian sigma, in frames): less detector jitter."""
MIN_SIZE = 32


class AnimateError(ValueError):
    """An argument or an input file ``animate`` cannot use; the message names it and says what to do."""


# --------------------------------------------------------------------------------- the source
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


# --------------------------------------------------------------------------------- the driver
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
        from .data import SyntheticConfig, synthetic_split

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


# --------------------------------------------------------------------------------- the methods
@dataclass(frozen=True)
class MethodOptions:
    """What a method may need besides the source: the device, the paper model's checkpoint and epochs."""

    device: torch.device = torch.device("cpu")
    finetune_epochs: int = 0
    checkpoint: str | Path | None = None
    progress: bool = True


def _to_uint8(images: torch.Tensor) -> np.ndarray:
    """Images ``(B, 3, H, W)`` in [-1, 1] → uint8 ``(B, H, W, 3)``."""
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


class Method:
    """One way to draw the source with new landmarks.

    A method is made once per animation, ``Method(source, options)``, then asked for frames:
    ``render(landmarks)``: float ``(B, 68, 2)`` pixels of the source's R × R crop → uint8
    ``(B, R, R, 3)``. Register a new one in :data:`METHODS` under its ``name``.
    """

    name = "method"
    description = ""

    def __init__(self, source: Source, options: MethodOptions = MethodOptions()):
        self.source, self.options = source, options

    def render(self, landmarks: np.ndarray) -> np.ndarray:
        raise NotImplementedError


MIN_OPENING = 0.5
"""The TPS method keeps each eyelid and lip gap at least this fraction of the source's.

A warp moves pixels, it cannot draw a lid over an eye: closing an eye means squeezing the
eye's pixels into a line and stretching the skin above it (and a pair of glasses' rims) down
by the eye's height. Past about half closed this pulls the brows and the forehead into
streaks, and a fully closed pair (two source points on one target point) makes the spline's
weights explode. So with the TPS a blink is a squint."""


class TPSMethod(Method):
    """The source's own pixels moved by a thin-plate spline from its landmarks to the driving ones, at R × R.

    With T source frames, each driving frame warps the reference nearest in pose
    (:func:`nearest_reference`). Introduced in notebook 10.
    """

    name = "tps"
    description = "thin-plate-spline warp of the source crop"

    def __init__(self, source: Source, options: MethodOptions = MethodOptions()):
        super().__init__(source, options)
        self.images = to_tensor(source.crops).to(options.device)             # (T, 3, R, R) in [-1, 1]
        self.references = torch.from_numpy(source.landmarks).to(options.device)   # (T, 68, 2)

    def render(self, landmarks: np.ndarray) -> np.ndarray:
        from .warping import tps_grid, warp

        points = np.asarray(landmarks, np.float32).reshape(-1, 68, 2)       # (B, 68, 2)
        nearest = nearest_reference(self.source.landmarks, points)          # (B,)
        # Closed eyes or mouth: squeezing a gap to nothing tears the spline (see MIN_OPENING).
        points = keep_open(points, MIN_OPENING * openings(self.source.landmarks[nearest]))
        nearest = torch.from_numpy(nearest).to(self.images.device)
        target = torch.from_numpy(points).to(self.images.device)
        grid = tps_grid(self.references[nearest], target, self.source.size)  # (B, R, R, 2)
        return _to_uint8(warp(self.images[nearest], grid))                   # (B, R, R, 3)


class PaperMethod(Method):
    """The paper's person model (notebook 07): G with ψ′ from the source's T frames, from the shipped checkpoint.

    ``options.finetune_epochs`` = 0 is the feed-forward model (ê from the embedder, nothing
    trained), more is the FT variant. It draws at the model's side (64² for the shipped
    ``meta_cpu64``) and the frames are resized up to R: that is why they look blurry next to
    the warps, which move the R × R crop's own pixels.
    """

    name = "paper"
    description = "the paper's generator (feed-forward or fine-tuned person model)"

    def __init__(self, source: Source, options: MethodOptions = MethodOptions()):
        super().__init__(source, options)
        from .finetune import FinetuneConfig, Shots, finetune
        from .losses.content import ContentLoss
        from .pretrained import pretrained_checkpoint
        from .train.meta import load_networks

        checkpoint = options.checkpoint or pretrained_checkpoint()
        model_cfg, E, G, D = load_networks(checkpoint, options.device)
        shots = Shots.from_images(source.crops, source.landmarks, model_cfg.image_size)
        cfg = FinetuneConfig.from_checkpoint(checkpoint, epochs=options.finetune_epochs)
        content = None if cfg.epochs else ContentLoss({}, {})     # 0 epochs: no loss is computed, none is loaded
        self.person = finetune(E, G, D, shots, cfg, progress=options.progress, content=content,
                               info={"source": source.name, "checkpoint": str(checkpoint)})

    def render(self, landmarks: np.ndarray) -> np.ndarray:
        from .finetune import resize_landmarks

        R, S = self.source.size, self.person.size
        frames = self.person.render(resize_landmarks(landmarks, R, S))      # (B, 3, S, S)
        frames = F.interpolate(frames, size=(R, R), mode="bicubic", align_corners=False)   # (B, 3, R, R)
        return _to_uint8(frames)


class WarpMethod(Method):
    """The learned warping generator (notebook 10) as a person model of the source: its own T frames warped,
    blended and, where none shows the pixel, painted by the paper's G with ψ′ (shipped ``warp_cpu64``).

    The warp is computed at the model's side (64²) and applied to the R × R crop (the high-resolution
    path, :func:`~fewshot_lib.warping.generator.compose_high_res`); only the painted pixels are 64² ones.
    ``options.finetune_epochs`` > 0 fine-tunes it on the T frames (:class:`~fewshot_lib.finetune.WarpFineTuner`).
    Eyelid and lip gaps are kept as the TPS method keeps them (:data:`MIN_OPENING`): the warps are TPS warps.
    """

    name = "warp"
    description = "the learned warping generator (references warped by TPS + flow, the rest painted)"

    def __init__(self, source: Source, options: MethodOptions = MethodOptions()):
        super().__init__(source, options)
        from .finetune import FinetuneConfig, Shots, WarpFineTuner
        from .losses.content import ContentLoss
        from .pretrained import pretrained_checkpoint
        from .train.meta import load_warping_generator

        checkpoint = options.checkpoint or pretrained_checkpoint("warp_cpu64")
        model_cfg, warper, D = load_warping_generator(checkpoint, options.device)
        shots = Shots.from_images(source.crops, source.landmarks, model_cfg.image_size)
        cfg = FinetuneConfig.from_checkpoint(checkpoint, epochs=options.finetune_epochs)
        content = None if cfg.epochs else ContentLoss({}, {})     # 0 epochs: no loss is computed, none is loaded
        tuner = WarpFineTuner(warper, D, shots, cfg, content=content)
        tuner.train(progress=options.progress)
        self.person = tuner.person_model({"source": source.name, "checkpoint": str(checkpoint)})
        self.crops = to_tensor(source.crops).to(options.device)              # (T, 3, R, R) in [-1, 1]

    def render(self, landmarks: np.ndarray) -> np.ndarray:
        from .finetune import resize_landmarks
        from .landmarks import draw_sketches

        R, S = self.source.size, self.person.size
        points = np.asarray(landmarks, np.float32).reshape(-1, 68, 2)       # (B, 68, 2) pixels of R
        points = keep_open(points, MIN_OPENING * openings(self.source.landmarks[nearest_reference(
            self.source.landmarks, points)]))
        small = resize_landmarks(points, R, S)                              # (B, 68, 2) pixels of S
        sketches = to_tensor(draw_sketches(small, S)).to(self.crops.device)
        frames = self.person.forward_high_res(sketches, torch.from_numpy(small).to(self.crops.device), self.crops)
        return _to_uint8(frames)                                            # (B, R, R, 3)


METHODS: dict[str, type[Method]] = {"warp": WarpMethod, "tps": TPSMethod, "paper": PaperMethod}
"""The methods by name; ``METHODS[name](source, options)`` makes one. Add new ones here."""


# --------------------------------------------------------------------------------- the animation
@dataclass
class Animation:
    """A prepared animation: the source, the driver, the driving landmarks and the method, ready to render.

    ``landmarks``: float32 ``(N, 68, 2)`` pixels of the source's crop, one set per output frame.
    """

    source: Source
    driver: Driver
    landmarks: np.ndarray
    method: Method
    layout: str = "result"
    fps: float = DEFAULT_FPS
    raw: bool = False
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.landmarks)

    @property
    def frame_shape(self) -> tuple[int, int]:
        """``(H, W)`` of every output frame."""
        R = self.source.size
        return (R, R) if self.layout == "result" else (R, 3 * R + 2 * 2)

    def frames(self, batch_size: int = 8, progress: bool = True) -> Iterator[np.ndarray]:
        """The output frames, uint8 ``(H, W, 3)``, rendered ``batch_size`` at a time as they are asked for."""
        from tqdm.auto import tqdm

        R = self.source.size
        side = self.layout == "side-by-side"
        panels = self.driver.crops(R) if side else None
        driver_points = self.driver.landmarks_in_crop(R) if side else None  # (N, 68, 2) the driver as it is
        bar = tqdm(total=len(self), desc=f"animate ({self.method.name})", unit="frame", disable=not progress)
        try:
            for start in range(0, len(self), batch_size):
                points = self.landmarks[start:start + batch_size]                  # (B, 68, 2)
                results = self.method.render(points)                               # (B, R, R, 3)
                if side:
                    nearest = nearest_reference(self.source.landmarks, points)     # (B,)
                for i, result in enumerate(results):
                    if side:
                        panel = draw_sketch(driver_points[start + i], R) if panels is None else next(panels, None)
                        if panel is None:
                            raise AnimateError(f"{self.driver.name}: fewer frames on a second reading than on the "
                                               "first; was the file changed?")
                        result = side_by_side([panel, self.source.crops[nearest[i]], result])
                    yield np.ascontiguousarray(result)
                bar.update(len(points))
        finally:
            bar.close()

    def measure(self, batch_size: int = 8, progress: bool = True):
        """What dlib says of the result frames (:mod:`~fewshot_lib.animation_quality`): a face, the driving
        pose, the source's identity. Renders the frames again (the result alone, whatever the layout)."""
        from .animation_quality import measure_animation

        results = [frame for start in range(0, len(self), batch_size)
                   for frame in self.method.render(self.landmarks[start:start + batch_size])]
        neutral = self.source.landmarks[nearest_reference(self.source.landmarks, self.source.neutral[None])[0]]
        photo = self.source.crops[nearest_reference(self.source.landmarks, self.source.neutral[None])[0]]
        return measure_animation(results, self.landmarks, photo, neutral)

    def write(self, out: str | Path, overwrite: bool = False, batch_size: int = 8, progress: bool = True) -> Path:
        """Stream the frames into ``out`` (.mp4 or .gif, marked synthetic) and return its path.

        The video is written to a temporary file beside ``out`` (``.NAME.XXXX.tmp.mp4``) and
        renamed when complete; on any error the temporary file is deleted and ``out`` untouched.
        """
        out = check_output(out, overwrite)
        tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp{out.suffix}")
        try:
            with VideoWriter(tmp, self.fps) as video:
                for frame in self.frames(batch_size, progress):
                    video.write(frame)
            os.replace(tmp, out)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return out


def check_output(out: str | Path, overwrite: bool = False) -> Path:
    """``out`` as a Path if a video can be written there, else an :class:`AnimateError` saying why."""
    out = Path(out)
    if out.suffix.lower() not in SUFFIXES:
        raise AnimateError(f"{out}: choose a file name ending in .mp4 (H.264) or .gif")
    if out.is_dir():
        raise AnimateError(f"{out}: is a folder; give the video's file name")
    if out.exists() and not overwrite:
        raise AnimateError(f"{out} already exists; choose another name, or pass overwrite=True (--overwrite)")
    return out


def _check_file(path, what: str) -> None:
    if isinstance(path, (str, Path)) and not Path(path).is_file():
        raise AnimateError(f"{path}: no such {what} file")


def _check_arguments(photo, frames, drive, method: str, size: int, layout: str, fps: float | None,
                     frames_limit: int | None, finetune_epochs: int, checkpoint, backend: str) -> None:
    """Every argument checked before any work, each failure an :class:`AnimateError` saying what to give."""
    if method not in METHODS:
        raise AnimateError(f"unknown method {method!r}: choose one of {', '.join(METHODS)}")
    if not isinstance(size, int) or size < MIN_SIZE or size % 4:
        raise AnimateError(f"size={size!r}: the output side must be a multiple of 4, at least {MIN_SIZE} (e.g. 256)")
    if layout not in LAYOUTS:
        raise AnimateError(f"layout={layout!r}: choose one of {', '.join(LAYOUTS)}")
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise AnimateError(f"fps={fps}: frames per second must be a positive number")
    if frames_limit is not None and frames_limit < 2:
        raise AnimateError(f"frames_limit={frames_limit}: a video needs at least 2 frames")
    if finetune_epochs < 0:
        raise AnimateError(f"finetune_epochs={finetune_epochs}: 0 (feed-forward) or more")
    if backend not in BACKENDS:
        raise AnimateError(f"backend={backend!r}: choose one of {', '.join(BACKENDS)}")
    if checkpoint is not None:
        _check_file(checkpoint, "checkpoint")
    if (photo is None) == (frames is None):
        raise AnimateError("give the person to animate: a photo, or frames (several images of one person), not both")
    images = [photo] if photo is not None else list(frames)
    if not images:
        raise AnimateError("frames is empty: give at least one image of the person")
    for image in images:
        _check_file(image, "image")
    if isinstance(photo, Source) and photo.size != size:
        raise AnimateError(f"the source's crops are {photo.size}² but size={size}: give size={photo.size}, "
                           "or load the source again at this size")
    if isinstance(drive, (str, Path)) and str(drive) not in ("sweep", "synthetic"):
        _check_video(Path(drive))                               # exists, and its first frame decodes
    elif isinstance(drive, list):
        if len(drive) < 2:
            raise AnimateError(f"{len(drive)} driving image(s): a driver needs at least 2 frames")
        for image in drive:
            _check_file(image, "image")


def _device(device) -> torch.device:
    from .config import get_device

    try:
        return get_device(device if device is None or isinstance(device, str) else str(device))
    except RuntimeError as error:
        raise AnimateError(str(error)) from error


def prepare_animation(photo=None, drive=None, *, frames: Sequence | None = None, method: str = DEFAULT_METHOD,
                      raw: bool = False, size: int = 256, layout: str = "result", fps: float | None = None,
                      frames_limit: int | None = None, finetune_epochs: int = 0,
                      checkpoint: str | Path | None = None, backend: str = "dlib", device=None,
                      progress: bool = True) -> Animation:
    """Check every argument, then load the source and the driver, adapt the landmarks and make the method.

    ``photo`` (path, array, PIL, or a :class:`Source` already loaded at ``size``) or ``frames``
    (T images of one person); ``drive``: None / ``"sweep"``,
    ``"synthetic"``, a video's path, a list of images or a :class:`Driver`; ``raw``: the paper's
    landmarks (no adaptation); ``size``: the output side R; ``layout``: ``"result"`` or
    ``"side-by-side"`` (driver | source | result); ``fps``: default the driver's (25 if unknown);
    ``frames_limit``: at most this many frames; ``finetune_epochs``, ``checkpoint``: the
    ``"paper"`` method's. Render with :meth:`Animation.frames` or :meth:`Animation.write`.
    """
    if frames is not None:
        frames = list(frames)
    if drive is not None and not isinstance(drive, (str, Path, Driver)):
        drive = list(drive)                                     # images: an iterator is read once, here
    _check_arguments(photo, frames, drive, method, size, layout, fps, frames_limit, finetune_epochs, checkpoint,
                     backend)
    options = MethodOptions(_device(device), finetune_epochs, checkpoint, progress)
    if isinstance(photo, Source):
        source = photo
    else:
        source = Source.from_images([photo] if photo is not None else frames, size, backend)
    driver = Driver.load(drive, size, backend, frames_limit)
    notes = list(driver.notes)
    if fps is None:
        fps = driver.fps
        if fps is None:
            fps = DEFAULT_FPS
            if driver.images is not None:                     # a video or images without a frame rate
                notes.append(f"{driver.name}: frame rate unknown; writing at {DEFAULT_FPS:g} fps (set fps)")
    landmarks = drive_landmarks(source, driver, raw)
    return Animation(source, driver, landmarks, METHODS[method](source, options), layout, float(fps), raw, notes)


def animate_frames(photo=None, drive=None, *, batch_size: int = 8, **options) -> Iterator[np.ndarray]:
    """The frames of an animation, uint8 ``(H, W, 3)``, rendered as they are asked for (no file written).

    Takes :func:`prepare_animation`'s arguments; the checks and the loading happen now, the
    rendering as the iterator is consumed.
    """
    animation = prepare_animation(photo, drive, **options)
    return animation.frames(batch_size, options.get("progress", True))


def animate(photo=None, drive=None, *, out: str | Path, overwrite: bool = False, batch_size: int = 8,
            **options) -> Path:
    """Animate ``photo`` (or ``frames=[...]``) with ``drive`` into the video ``out`` (.mp4 or .gif); returns its path.

    Takes :func:`prepare_animation`'s arguments (``method``, ``raw``, ``size``, ``layout``, ``fps``, ...).
    ``out`` is checked first; an existing file is refused unless ``overwrite``.
    """
    check_output(out, overwrite)
    animation = prepare_animation(photo, drive, **options)
    return animation.write(out, overwrite, batch_size, options.get("progress", True))


# --------------------------------------------------------------------------------- command line
KNOWN_ERRORS = (AnimateError, NoFaceError, VideoExportError, BackendUnavailableError)


def add_animate_command(subcommands) -> None:
    p = subcommands.add_parser(
        "animate", help="turn a photo into a talking-head video",
        description="Animate a photo (or a few frames of one person) with a driving video, the built-in sweep "
                    "of poses and expressions (default) or a built-in synthetic talking person; write an mp4 or "
                    "GIF marked as synthetic.")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--photo", help="one photo of a person (landmarks detected, face cropped)")
    source.add_argument("--frames", nargs="+", help="several images of one person (each warp uses the nearest)")
    p.add_argument("--drive", default=None,
                   help="driving video (mp4, GIF), 'synthetic' (a built-in person talking) or 'sweep' "
                        f"(default: the sweep, {SWEEP_FRAMES} frames of the source's own face)")
    p.add_argument("--out", required=True, help="the video to write (.mp4 or .gif)")
    p.add_argument("--method", default=DEFAULT_METHOD,
                   help=f"one of {', '.join(METHODS)} (default: {DEFAULT_METHOD})")
    p.add_argument("--raw", action="store_true",
                   help="the paper's mode: the driver's landmarks as they are (default: adapted to the source's face)")
    p.add_argument("--size", type=int, default=256, help="output side in pixels, a multiple of 4 (default: 256)")
    p.add_argument("--side-by-side", action="store_true", help="show driver | source | result")
    p.add_argument("--fps", type=float, default=None,
                   help=f"frames per second (default: the driver's; {DEFAULT_FPS:g} for the sweep)")
    p.add_argument("--frames-limit", type=int, default=None, metavar="N", help="at most N frames")
    p.add_argument("--finetune-epochs", type=int, default=0, metavar="N",
                   help="--method paper: fine-tuning epochs (default 0: the feed-forward model)")
    p.add_argument("--checkpoint", default=None, help="--method paper or warp: a meta-learning checkpoint of that "
                                                      "model (default: the shipped meta_cpu64 or warp_cpu64)")
    p.add_argument("--backend", default="dlib", help="landmark detector (default: dlib)")
    p.add_argument("--batch-size", type=int, default=8, help="frames rendered at a time (default: 8)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.add_argument("--measure", action="store_true",
                   help="also measure the result with dlib: a face found, landmark error (NME), same person")
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: FEWSHOT_DEVICE or auto)")
    p.set_defaults(run=_run_animate)


def _run_animate(args: argparse.Namespace) -> int:
    from .train.checkpoint import CheckpointError

    start = time.perf_counter()
    try:
        check_output(args.out, args.overwrite)
        animation = prepare_animation(
            args.photo, args.drive, frames=args.frames, method=args.method, raw=args.raw, size=args.size,
            layout="side-by-side" if args.side_by_side else "result", fps=args.fps, frames_limit=args.frames_limit,
            finetune_epochs=args.finetune_epochs, checkpoint=args.checkpoint, backend=args.backend,
            device=args.device)
        path = animation.write(args.out, args.overwrite, max(1, args.batch_size))
        quality = animation.measure(max(1, args.batch_size)) if args.measure else None
    except (*KNOWN_ERRORS, CheckpointError) as error:
        print(f"fewshot animate: {error}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - start
    height, width = animation.frame_shape
    for note in animation.notes:
        print(f"note: {note}")
    landmarks = "raw" if animation.raw else "adapted"
    print(f"video: {path}\n{len(animation)} frames of {width}×{height} at {animation.fps:g} fps, method "
          f"{animation.method.name}, {landmarks} landmarks, driver {animation.driver.name}; "
          f"{seconds:.1f} s ({len(animation) / seconds:.1f} frames/s)")
    if quality is not None:
        print(f"dlib: {quality}; issue 13's bar {'met' if quality.meets_bar() else 'NOT met'}")
    return 0
