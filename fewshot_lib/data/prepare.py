"""``fewshot prepare``: a folder of videos -> one record per video (face crops + landmarks).

For each video (``*.mp4`` etc., flat or in VoxCeleb's ``id/video/clip.mp4`` layout):

1. stream the frames (imageio + ffmpeg; a long video is never held in memory), look at every
   ``stride``-th one and follow one face with a landmark backend, until ``frames_per_video``
   frames have a face;
2. turn the landmarks into square crop boxes, smoothed over time so the crop is stable;
3. stream the video again, crop and resize the kept frames, move the landmarks with them;
4. write the record (``records.write_record``: atomic, so an interrupted video leaves none).

Frames without a face are dropped and counted, never replaced by copies of other frames.
Videos run in parallel worker processes; finished records are skipped, so a re-run resumes.
Introduced in notebook 01.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Iterator

import imageio.v3 as iio
import numpy as np

from ..errors import FewshotError
from ..flags import ConfigError, at_least, check_ranges
from .. import __version__
from ..landmarks.backends import BACKENDS, get_backend
from ..landmarks.crop import BOX_SIGMA, MARGIN, CropBox, face_boxes
from ..landmarks.detect import LandmarkTrack, detect_video
from .records import SUFFIX, Record, RecordError, write_record

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
REPORT_NAME = "prepare_report.json"
SHOWN_DROPS = 20    # dropped videos listed in the printed summary (all of them are in the JSON report)


class PrepareError(FewshotError, ValueError):
    """`fewshot prepare` cannot start (no videos, or records made with other settings)."""


@dataclass(frozen=True)
class PrepareConfig:
    """How videos become records."""

    frames_per_video: int = field(default=32, metadata=at_least(0))   # stop after this many frames with a
                                 # face (0: the whole video)
    stride: int = field(default=5, metadata=at_least(1))   # look at every stride-th frame (25 fps, 5: 5 frames/s)
    size: int = field(default=256, metadata=at_least(16))   # side of the square crops (the paper: 256)
    backend: str = "auto"        # landmark backend, one of landmarks.BACKENDS
    margin: float = field(default=MARGIN, metadata=at_least(0))   # crop margin around the landmarks (landmarks.crop)
    box_sigma: float = field(default=BOX_SIGMA, metadata=at_least(0))   # temporal smoothing of the crop boxes,
                                 # in source frames
    min_frames: int = field(default=2, metadata=at_least(1))   # fewer frames with a face: the video is dropped
    workers: int = field(default=1, metadata=at_least(1))   # parallel worker processes

    def __post_init__(self):
        check_ranges(self)
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend={self.backend!r}: choose one of {', '.join(BACKENDS)}")


@dataclass
class VideoResult:
    """What happened to one video."""

    source: str                 # path relative to the source folder
    status: str                 # "written", "skipped" (finished record exists) or "dropped"
    reason: str = ""            # why dropped: "unreadable" or "too_few_faces"
    detail: str = ""
    frames_examined: int = 0
    frames_kept: int = 0
    frames_without_face: int = 0


@dataclass
class PrepareReport:
    """Everything `prepare` did, with every dropped frame and video counted by reason."""

    source: str
    out: str
    backend: str
    config: dict
    seconds: float = 0.0
    removed_temporary_files: int = 0
    videos: list[VideoResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(v.status == status for v in self.videos)

    @property
    def frames_examined(self) -> int:
        return sum(v.frames_examined for v in self.videos)

    @property
    def frames_per_second(self) -> float:
        """Frames decoded and searched for a face per second of wall time (all workers)."""
        return self.frames_examined / self.seconds if self.seconds > 0 else 0.0

    @property
    def dropped_frames(self) -> Counter:
        return Counter({"no_face": sum(v.frames_without_face for v in self.videos)})

    @property
    def dropped_videos(self) -> Counter:
        return Counter(v.reason for v in self.videos if v.status == "dropped")

    def __str__(self) -> str:
        written = [v for v in self.videos if v.status == "written"]
        lines = [f"prepare: {len(self.videos)} videos in {self.source} -> {self.out} (backend {self.backend})",
                 f"  records written: {len(written)} ({sum(v.frames_kept for v in written)} frames); "
                 f"skipped, already finished: {self.count('skipped')}",
                 f"  dropped frames: no face {self.dropped_frames['no_face']}",
                 f"  dropped videos: unreadable {self.dropped_videos['unreadable']}, "
                 f"too few frames with a face {self.dropped_videos['too_few_faces']}"]
        dropped = [v for v in self.videos if v.status == "dropped"]
        lines += [f"    {v.source}: {v.reason} ({v.detail})" for v in dropped[:SHOWN_DROPS]]
        if len(dropped) > SHOWN_DROPS:
            lines.append(f"    ... and {len(dropped) - SHOWN_DROPS} more, listed in {REPORT_NAME}")
        if self.removed_temporary_files:
            lines.append(f"  removed {self.removed_temporary_files} temporary files of an interrupted run")
        lines.append(f"  {self.frames_examined} frames examined in {self.seconds:.1f} s: "
                     f"{self.frames_per_second:.1f} frames/s")
        return "\n".join(lines)


def find_videos(source: str | Path) -> list[Path]:
    """Every video file under ``source`` (recursively, broken links included), sorted."""
    source = Path(source)
    if source.is_file():
        raise PrepareError(f"{source}: is a file; prepare reads every video under a folder: give the folder "
                           f"that holds it ({source.parent})")
    if not source.is_dir():
        raise PrepareError(f"{source}: no such folder of videos")
    # A broken link is kept: it is then counted as an unreadable video, not silently missing from the report.
    return sorted(p for p in source.rglob("*")
                  if p.suffix.lower() in VIDEO_SUFFIXES and (p.is_file() or p.is_symlink()))


def record_path(video: Path, source: Path, out: Path) -> Path:
    """``source/id/video/clip.mp4`` -> ``out/id/video/clip.npz``: the layout is kept."""
    return (out / video.relative_to(source)).with_suffix(SUFFIX)


def _identity(relative: Path) -> str:
    """The person: the first folder (VoxCeleb's ``id/video/clip.mp4``: the id), or the file's name."""
    return relative.parts[0] if len(relative.parts) >= 2 else relative.stem


def _frames(video: Path, stride: int) -> Iterator[np.ndarray]:
    """Every ``stride``-th frame as HxWx3 uint8 RGB, decoded one at a time."""
    frames = iio.imiter(video, plugin="FFMPEG")
    try:
        for index, frame in enumerate(frames):
            if index % stride == 0:
                yield frame
    finally:
        frames.close()   # stops ffmpeg when we stop early


def _finished(path: Path, config: PrepareConfig) -> bool:
    """True if ``path`` holds a complete record made with ``config``'s size; corrupt ones are redone."""
    if not path.is_file():
        return False
    try:
        record = Record(path)
    except RecordError:
        return False
    if record.size != config.size:
        raise PrepareError(f"{path} holds {record.size}px crops, not {config.size}px: "
                           "write to a new output folder, or delete the old records")
    return True


def _crop_frames(video: Path, config: PrepareConfig, track: LandmarkTrack, boxes: list[CropBox]):
    """Pass 2: decode again, crop the kept frames: ``(crops (T, S, S, 3), landmarks (T, 68, 2), (W, H))``."""
    wanted = dict(zip(track.frame_indices.tolist(), zip(boxes, track.landmarks)))
    crops, landmarks, source_size = [], [], None
    for position, frame in enumerate(_frames(video, config.stride)):
        if position in wanted:
            box, points = wanted[position]
            crops.append(box.crop(frame, config.size))            # (S, S, 3)
            landmarks.append(box.transform(points, config.size))  # (68, 2) in crop pixels
            source_size = (frame.shape[1], frame.shape[0])
        if position >= track.frame_indices[-1]:
            break
    if len(crops) != len(wanted):
        raise OSError(f"the second decoding pass returned {len(crops)} of {len(wanted)} frames")
    return np.stack(crops), np.stack(landmarks), source_size


def prepare_video(video: Path, source: Path, out: Path, config: PrepareConfig, backend: str) -> VideoResult:
    """Turn one video into a record (or skip / drop it); see the module docstring for the steps."""
    relative = video.relative_to(source)
    result = VideoResult(relative.as_posix(), "written")
    path = record_path(video, source, out)
    if _finished(path, config):
        result.status = "skipped"
        return result
    try:
        fps = float(iio.immeta(video, plugin="FFMPEG").get("fps", 0.0))
        track = detect_video(_frames(video, config.stride), backend,                     # pass 1: landmarks
                             limit=config.frames_per_video or None)
        result.frames_examined, result.frames_without_face = track.num_frames, len(track.missing)
        if len(track.frame_indices) < config.min_frames:
            result.status, result.reason = "dropped", "too_few_faces"
            result.detail = f"{len(track.frame_indices)} of {track.num_frames} frames have a face"
            return result
        frame_indices = track.frame_indices * config.stride                              # source frame numbers
        boxes = face_boxes(track.landmarks, frame_indices, config.margin, config.box_sigma)
        crops, landmarks, source_size = _crop_frames(video, config, track, boxes)      # pass 2: crops
    except (OSError, RuntimeError, ValueError) as error:   # e.g. imageio's "Could not load meta information"
        result.status, result.reason = "dropped", "unreadable"
        result.detail = (str(error).strip() or type(error).__name__).splitlines()[0]
        return result

    meta = {
        "source": relative.as_posix(), "identity": _identity(relative), "frame_indices": frame_indices.tolist(),
        "fps": fps, "source_size": list(source_size), "backend": backend,
        "crop_boxes": [box.as_list() for box in boxes],   # [left, top, side] in source pixels, per frame
        "margin": config.margin, "box_sigma": config.box_sigma, "stride": config.stride,
        "frames_examined": track.num_frames, "dropped": {"no_face": len(track.missing)},
        "fewshot_lib_version": __version__,
    }
    write_record(path, crops, landmarks, meta)
    result.frames_kept = len(crops)
    return result


def _remove_temporary_files(out: Path) -> int:
    """Delete the temporary files (``.name.XXXX.tmp``) a killed run left behind; returns how many."""
    stale = list(out.rglob(".*.tmp")) if out.is_dir() else []
    for tmp in stale:
        tmp.unlink(missing_ok=True)
    return len(stale)


def _results(videos: list[Path], source: Path, out: Path, config: PrepareConfig,
             backend: str) -> Iterator[VideoResult]:
    """Prepare every video, in this process or in ``config.workers`` processes; yields results as they finish."""
    if config.workers == 1:
        for video in videos:
            yield prepare_video(video, source, out, config, backend)
        return
    with ProcessPoolExecutor(config.workers, mp_context=get_context("spawn")) as pool:
        jobs = [pool.submit(prepare_video, video, source, out, config, backend) for video in videos]
        try:
            for job in as_completed(jobs):
                yield job.result()
        finally:
            for job in jobs:   # on an error or Ctrl-C, do not start the videos still waiting
                job.cancel()


def prepare(source: str | Path, out: str | Path, config: PrepareConfig = PrepareConfig(),
            progress: bool = True) -> PrepareReport:
    """Turn every video under ``source`` into a record under ``out``; returns (and saves) the report.

    Do not run two ``prepare`` into the same ``out`` at once: each removes the other's
    temporary files when it starts.
    """
    from tqdm.auto import tqdm

    source, out = Path(source), Path(out)
    videos = find_videos(source)
    if not videos:
        raise PrepareError(f"{source}: no videos ({', '.join(VIDEO_SUFFIXES)}) found; "
                           "expected files like clip.mp4 or VoxCeleb's id/video/clip.mp4")
    backend = get_backend(config.backend).name     # resolve "auto" once, so every worker uses the same
    report = PrepareReport(str(source), str(out), backend, asdict(config),
                           removed_temporary_files=_remove_temporary_files(out))
    start = time.perf_counter()
    with tqdm(total=len(videos), unit="video", disable=not progress) as bar:
        for result in _results(videos, source, out, config, backend):
            report.videos.append(result)
            bar.update()
            bar.set_postfix_str(f"{report.frames_examined / (time.perf_counter() - start):.1f} frames/s")
    report.seconds = time.perf_counter() - start
    report.videos.sort(key=lambda v: v.source)
    out.mkdir(parents=True, exist_ok=True)
    (out / REPORT_NAME).write_text(json.dumps({**asdict(report), "summary": str(report)}, indent=1))
    return report


def _run(args: argparse.Namespace) -> int:
    config = PrepareConfig(args.frames_per_video, args.stride, args.size, args.backend, args.margin,
                           args.box_sigma, args.min_frames, args.workers)
    report = prepare(args.source, args.out, config)
    print(report)
    if not any(v.status in ("written", "skipped") for v in report.videos):
        print(f"fewshot prepare: every video in {args.source} was dropped; no records to train on", file=sys.stderr)
        return 1
    return 0


def add_prepare_command(subcommands) -> None:
    defaults = PrepareConfig()
    p = subcommands.add_parser("prepare", help="videos -> records of face crops + landmarks (resumable)")
    p.add_argument("source", help="folder of videos (*.mp4, ... or VoxCeleb's id/video/clip.mp4)")
    p.add_argument("out", help="output folder for the records (same layout, .npz)")
    p.add_argument("--frames-per-video", type=int, default=defaults.frames_per_video,
                   help="keep at most this many frames with a face per video, 0 = all "
                        f"(default {defaults.frames_per_video})")
    p.add_argument("--stride", type=int, default=defaults.stride,
                   help=f"look at every N-th frame (default {defaults.stride})")
    p.add_argument("--size", type=int, default=defaults.size, help=f"crop size in pixels (default {defaults.size})")
    p.add_argument("--backend", choices=BACKENDS, default=defaults.backend,
                   help="landmark backend (default auto: face_alignment if usable, else dlib)")
    p.add_argument("--margin", type=float, default=defaults.margin,
                   help=f"crop margin around the landmarks, fraction of the face (default {defaults.margin})")
    p.add_argument("--box-sigma", type=float, default=defaults.box_sigma,
                   help=f"crop box smoothing over time, in frames, 0 = none (default {defaults.box_sigma})")
    p.add_argument("--min-frames", type=int, default=defaults.min_frames,
                   help=f"drop videos with fewer frames with a face (default {defaults.min_frames})")
    p.add_argument("--workers", type=int, default=defaults.workers,
                   help=f"parallel worker processes (default {defaults.workers})")
    p.set_defaults(run=_run)
