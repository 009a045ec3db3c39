"""The animation pipeline: every argument checked, source and driver loaded, landmarks and method made
(:func:`prepare_animation`), the frames rendered (:class:`Animation`, :func:`animate_frames`) and streamed
into a video written atomically (:func:`animate`, :func:`check_output`); and ``fewshot animate``, the
command line that calls it. Not introduced by one notebook: it strings together notebooks 01, 07, 09 and 10.
"""
from __future__ import annotations

import argparse
import math
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from ..errors import output_path
from ..landmarks import BACKENDS, draw_sketch
from ..video import SUFFIXES, VideoWriter, side_by_side
from .driver import SWEEP_FRAMES, Driver, _check_video
from .methods import METHODS, Method, MethodOptions
from .motion import drive_landmarks, nearest_reference
from .source import AnimateError, Source

DEFAULT_METHOD = "warp"
LAYOUTS = ("result", "side-by-side")
DEFAULT_FPS = 25.0
"""Frames per second when the driver has none (the sweep, a list of images, a video without a frame rate)."""
MIN_SIZE = 32


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
        from ..animation_quality import measure_animation

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
            with VideoWriter(tmp, self.fps, model=self.method.model_file) as video:
                for frame in self.frames(batch_size, progress):
                    video.write(frame)
            os.replace(tmp, out)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return out


def check_output(out: str | Path, overwrite: bool = False) -> Path:
    """``out`` as a Path if a video can be written there: an :class:`AnimateError` for a wrong suffix, else
    :func:`~fewshot_lib.errors.output_path`'s errors (a folder, an existing file unasked, an unwritable place)."""
    out = Path(out)
    if out.suffix.lower() not in SUFFIXES:
        raise AnimateError(f"{out}: choose a file name ending in .mp4 (H.264) or .gif")
    return output_path(out, overwrite)             # not a folder, not an existing file unasked, writable


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
    from ..config import get_device

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
                   help="--method paper or warp: fine-tuning epochs (default 0: the feed-forward model)")
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
    start = time.perf_counter()                    # known errors: one line, printed by fewshot_lib.cli
    check_output(args.out, args.overwrite)
    animation = prepare_animation(
        args.photo, args.drive, frames=args.frames, method=args.method, raw=args.raw, size=args.size,
        layout="side-by-side" if args.side_by_side else "result", fps=args.fps, frames_limit=args.frames_limit,
        finetune_epochs=args.finetune_epochs, checkpoint=args.checkpoint, backend=args.backend,
        device=args.device)
    path = animation.write(args.out, args.overwrite, max(1, args.batch_size))
    quality = animation.measure(max(1, args.batch_size)) if args.measure else None
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
