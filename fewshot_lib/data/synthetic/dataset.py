"""The synthetic dataset: people (:class:`SyntheticHeads`), their videos (:class:`SyntheticVideo`),
the fixed train / val / held-out splits, and ``fewshot synth``, which writes them as records.

Every random draw comes from ``np.random.default_rng([seed, stream, identity, video])``, never
from global state: the same (seed, identity, video, frame) gives the same pixels in any
process, in any order, at any video length. A :class:`SyntheticVideo` renders frames on
demand (nothing on disk) and offers what a :class:`~fewshot_lib.data.records.Record` offers
(``len``, ``frame(t)``, ``landmarks``, ``size``, ``meta``), so
:class:`~fewshot_lib.data.episodes.VideoDataset` reads both.
Introduced in notebook 02.
"""
from __future__ import annotations

import argparse
import functools
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ...errors import output_path
from ...flags import at_least_int
from ...config import pick
from ..records import write_record
from .appearance import Identity, random_appearance, random_scene
from .geometry import Expression, FaceShape, Pose, landmarks_3d
from .motion import random_motion
from .render import frame_camera, render_backdrop, render_frame

GENERATOR_VERSION = 1
"""Bumped whenever a change alters the pixels of existing (seed, identity, video, frame)s."""
IDENTITY, SCENE, MOTION, BLINKS = range(4)
"""Random streams: each kind of draw has its own, so adding one never shifts the others."""
HELDOUT_FIRST = 1_000_000
"""Held-out people are identities ``HELDOUT_FIRST + i``: no training set, however big, has them."""
VAL_FIRST = 1_000
"""Validation videos of training people are videos ``VAL_FIRST + j``: never training videos."""
SPLITS = ("train", "val", "heldout")


class SyntheticHeads:
    """A population of synthetic people drawn from ``seed``: identity ``i`` is always the same person.

    >>> heads = SyntheticHeads(seed=0)
    >>> video = heads.video(identity=3, video=0, num_frames=16, size=64)
    >>> video.frame(5).shape, video.landmarks.shape, video.poses.shape
    ((64, 64, 3), (16, 68, 2), (16, 3))
    """

    def __init__(self, seed: int = 0):
        self.seed = int(seed)
        self._people: dict[int, Identity] = {}

    def rng(self, stream: int, *keys: int) -> np.random.Generator:
        """The generator of one stream of draws (identity, scene, motion, blinks) for ``keys``."""
        return np.random.default_rng([self.seed, stream, *keys])

    def identity(self, index: int) -> Identity:
        """Person ``index``: a 3D face shape and an appearance."""
        if index < 0:
            raise ValueError(f"identity {index}: identities are numbered from 0")
        if index not in self._people:
            rng = self.rng(IDENTITY, index)
            self._people[index] = Identity(index, FaceShape.random(rng), random_appearance(rng))
        return self._people[index]

    def video(self, identity: int, video: int, num_frames: int, size: int, fps: float = 8.0,
              cache: bool = False, split: str | None = None) -> "SyntheticVideo":
        """Video ``video`` of person ``identity``: ``num_frames`` frames of ``size`` pixels, ``fps``
        frames per second. ``cache`` keeps rendered frames in memory (12 kB each at 64x64, 192 kB
        at 256x256; each DataLoader worker process keeps its own)."""
        return SyntheticVideo(self, identity, video, num_frames, size, fps, cache, split)

    def __repr__(self) -> str:
        return f"SyntheticHeads(seed={self.seed})"


class SyntheticVideo:
    """One synthetic video, rendered on demand: ``len``, ``frame(t)``, ``landmarks``, ``poses``, ``meta``."""

    def __init__(self, heads: SyntheticHeads, identity: int, video: int, num_frames: int, size: int,
                 fps: float = 8.0, cache: bool = False, split: str | None = None):
        if num_frames < 1 or size < 8 or fps <= 0:
            raise ValueError(f"num_frames={num_frames}, size={size}, fps={fps}: need num_frames >= 1, "
                             "size >= 8 pixels and fps > 0")
        self.heads, self.video, self.fps = heads, int(video), float(fps)
        self.num_frames, self.size = int(num_frames), int(size)
        self.identity = heads.identity(int(identity))
        self.scene = random_scene(heads.rng(SCENE, self.identity.index, self.video))
        self.motion = random_motion(heads.rng(MOTION, self.identity.index, self.video),
                                    heads.rng(BLINKS, self.identity.index, self.video))
        self.split = split
        self._frames: dict[int, np.ndarray] | None = {} if cache else None
        self._backdrop: np.ndarray | None = None

    def __len__(self) -> int:
        return self.num_frames

    def state(self, t: int) -> tuple[Pose, Expression, tuple[float, float]]:
        """Pose, expression and the head's shift in the image (fractions of its side) at frame ``t``."""
        return self.motion.at(t / self.fps)

    def frame(self, t: int) -> np.ndarray:
        """Frame ``t`` as uint8 ``(S, S, 3)`` RGB, rendered now (or taken from the cache)."""
        t = self._check(t)
        if self._frames is not None and t in self._frames:
            return self._frames[t]
        if self._backdrop is None:
            self._backdrop = render_backdrop(self.identity, self.scene, self.size)
        pose, expression, shift = self.state(t)
        image, _ = render_frame(self.identity, pose, expression, self.scene, self.size, self._backdrop, shift)
        if self._frames is not None:
            self._frames[t] = image
        return image

    def frames(self, indices=None) -> np.ndarray:
        """Several frames as uint8 ``(n, S, S, 3)`` (all of them when ``indices`` is None)."""
        indices = range(len(self)) if indices is None else indices
        return np.stack([self.frame(t) for t in indices])

    @functools.cached_property
    def landmarks(self) -> np.ndarray:
        """The exact landmarks of every frame, float32 ``(T, 68, 2)`` pixels (geometry only, no pixels)."""
        points = []
        for t in range(len(self)):
            pose, expression, shift = self.state(t)
            camera = frame_camera(self.scene, pose, self.size, shift)
            points.append(camera.project(landmarks_3d(self.identity.shape, expression)))
        return np.asarray(points, dtype=np.float32)

    @functools.cached_property
    def poses(self) -> np.ndarray:
        """Head pose of every frame, float32 ``(T, 3)`` degrees: yaw, pitch, roll."""
        return np.stack([self.motion.at(t / self.fps)[0].as_array() for t in range(len(self))])

    @functools.cached_property
    def meta(self) -> dict:
        """What made this video (the metadata ``fewshot synth`` stores in its record)."""
        looks = self.identity.appearance
        return {
            "source": "synthetic", "identity": self.identity.index, "video": self.video, "split": self.split,
            "seed": self.heads.seed, "num_frames": self.num_frames, "size": self.size,
            "generator": {"version": GENERATOR_VERSION, "fps": self.fps},
            "appearance": {"skin": looks.skin, "hair": looks.hair,
                           "hair_style": looks.hair_style.name if looks.hair_style else "bald",
                           "facial_hair": looks.facial_hair, "glasses": looks.glasses is not None},
            "poses": np.round(self.poses.astype(np.float64), 3).tolist(),
        }

    def _check(self, t: int) -> int:
        if not -len(self) <= t < len(self):
            raise IndexError(f"{self!r}: frame {t} out of range (0..{len(self) - 1})")
        return int(t) % len(self)

    def __repr__(self) -> str:
        return (f"SyntheticVideo(identity={self.identity.index}, video={self.video}, frames={self.num_frames}, "
                f"size={self.size}, seed={self.heads.seed})")


@dataclass(frozen=True)
class SyntheticConfig:
    """How big a synthetic dataset is. Train: ``identities`` x ``videos``; val: ``val_videos`` new
    videos of the same people; heldout: ``heldout_identities`` new people x ``videos``."""

    identities: int = 200
    videos: int = 4
    frames: int = 32
    size: int = 64
    val_videos: int = 1
    heldout_identities: int = 20
    fps: float = 8.0
    seed: int = 0


def default_config() -> SyntheticConfig:
    """The course's dataset: 200 people x 4 videos x 32 frames; in smoke mode 6 x 2 x 12."""
    return pick(full=SyntheticConfig(), smoke=SyntheticConfig(identities=6, videos=2, frames=12, heldout_identities=3))


def split_keys(split: str, config: SyntheticConfig) -> list[tuple[int, int]]:
    """The (identity, video) pairs of a split, in a fixed order."""
    if config.videos > VAL_FIRST or config.val_videos > VAL_FIRST or config.identities > HELDOUT_FIRST:
        raise ValueError(f"at most {VAL_FIRST} videos per person and {HELDOUT_FIRST} training people, "
                         "so the splits never overlap")
    if split == "train":
        return [(i, v) for i in range(config.identities) for v in range(config.videos)]
    if split == "val":
        return [(i, VAL_FIRST + v) for i in range(config.identities) for v in range(config.val_videos)]
    if split == "heldout":
        return [(HELDOUT_FIRST + i, v) for i in range(config.heldout_identities) for v in range(config.videos)]
    raise ValueError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")


def synthetic_split(split: str, config: SyntheticConfig | None = None, cache: bool = False) -> list[SyntheticVideo]:
    """The videos of a split (``"train"``, ``"val"`` or ``"heldout"``), rendered on demand.

    ``config``: sizes (default :func:`default_config`, tiny in smoke mode).
    """
    config = default_config() if config is None else config
    heads = SyntheticHeads(config.seed)
    return [heads.video(i, v, config.frames, config.size, config.fps, cache=cache, split=split)
            for i, v in split_keys(split, config)]


def record_name(video: SyntheticVideo) -> str:
    return f"id{video.identity.index:07d}_v{video.video:04d}"


def write_synthetic(out: str | Path, config: SyntheticConfig | None = None, splits=SPLITS,
                    progress: bool = True) -> dict[str, list[Path]]:
    """Render the splits into records under ``out/<split>/``; returns the paths per split.

    The records read back with :class:`~fewshot_lib.data.records.Record`, like real videos
    prepared with ``fewshot prepare``.
    """
    from tqdm.auto import tqdm

    config = default_config() if config is None else config
    out = Path(out)
    written = {}
    for split in splits:
        videos = synthetic_split(split, config)
        written[split] = [write_record(out / split / record_name(video), video.frames(), video.landmarks, video.meta)
                          for video in tqdm(videos, desc=split, disable=not progress)]
    (out / "synthetic.json").write_text(json.dumps({"config": asdict(config), "generator_version": GENERATOR_VERSION,
                                                    "splits": {s: len(p) for s, p in written.items()}}, indent=2))
    return written


def add_synth_command(subcommands) -> None:
    defaults = default_config()
    p = subcommands.add_parser("synth", help="write the built-in synthetic talking-head dataset as records",
                               description="Render synthetic talking-head videos into record files "
                                           "OUT/train, OUT/val and OUT/heldout (same format as `fewshot prepare`).")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--identities", type=at_least_int(1), default=defaults.identities, help="training people")
    p.add_argument("--videos", type=at_least_int(1), default=defaults.videos, help="videos per person")
    p.add_argument("--frames", type=at_least_int(1), default=defaults.frames, help="frames per video")
    p.add_argument("--size", type=at_least_int(8), default=defaults.size,
                   help="frame side in pixels (e.g. 64, 128, 256)")
    p.add_argument("--seed", type=int, default=defaults.seed, help="which population of people")
    p.add_argument("--val-videos", type=at_least_int(0), default=defaults.val_videos,
                   help="validation videos per training person")
    p.add_argument("--heldout-identities", type=at_least_int(0), default=defaults.heldout_identities,
                   help="held-out people")
    p.add_argument("--fps", type=float, default=defaults.fps, help="frames per second of motion")
    p.add_argument("--splits", nargs="+", choices=SPLITS, default=list(SPLITS), help="which splits to write")
    p.add_argument("--overwrite", action="store_true", help="write into an --out that holds a dataset already")
    p.set_defaults(run=_run_synth)


def _run_synth(args: argparse.Namespace) -> int:
    output_path(Path(args.out) / "synthetic.json", args.overwrite)      # a dataset is there: refuse unless asked
    config = SyntheticConfig(identities=args.identities, videos=args.videos, frames=args.frames, size=args.size,
                             val_videos=args.val_videos, heldout_identities=args.heldout_identities, fps=args.fps,
                             seed=args.seed)
    written = write_synthetic(args.out, config, splits=args.splits)
    for split, paths in written.items():
        print(f"{split:>8}: {len(paths)} records in {Path(args.out) / split}")
    return 0
