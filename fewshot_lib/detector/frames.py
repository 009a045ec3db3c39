"""The labelled frames: real ones, and the fakes of each generator, from people kept apart by split.

* **real**: the true target frames of synthetic people (:mod:`~fewshot_lib.data.synthetic`) and
  random crops of a real photo (:mod:`~fewshot_lib.landmarks.portraits`), resized to 64²;
* **fake**: each generator's forgery of the same target frames (:mod:`.generators`).

Training and testing never share a person: ``"train"`` uses the synthetic dataset's training people
and Grace Hopper's portrait, ``"heldout"`` its held-out people (identities from
:data:`~fewshot_lib.data.HELDOUT_FIRST`) and the astronaut's. A detector that scores well on
``"heldout"`` has learnt something about how frames are made, not who is in them.
Introduced in notebook 11.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ..config import pick
from ..data import SyntheticConfig, synthetic_split
from ..flags import ConfigError, at_least, check_ranges
from ..landmarks.portraits import load_portrait
from .generators import GENERATORS, Clip, make_fakes

SIZE = 64
"""The detector's side: the shipped generators draw 64² frames."""
VIDEO_FRAMES = 32
PHOTOS = {"train": "grace_hopper", "heldout": "astronaut"}
"""The real photo of each split: one person per split, never both."""


@dataclass(frozen=True)
class FramesConfig:
    """How many frames each split has: ``people`` videos, ``targets`` real and fake frames from each."""

    people: int = field(default=96, metadata=at_least(1))           # training people (one video each)
    heldout_people: int = field(default=20, metadata=at_least(1))   # held-out people for testing
    targets: int = field(default=8, metadata=at_least(1))           # frames forged per video (T)
    references: int = field(default=4, metadata=at_least(1))        # frames each forgery is made from (K)
    photo_crops: int = field(default=96, metadata=at_least(0))      # real crops of the split's photo
    crop_seed: int = 0                                               # which crops of the photo are taken

    def __post_init__(self):
        check_ranges(self)
        if max(self.targets, self.references) > VIDEO_FRAMES:
            raise ConfigError(f"--targets {self.targets}, --references {self.references}: a video has "
                              f"{VIDEO_FRAMES} frames")


def default_frames_config() -> FramesConfig:
    """The course's frame sets; in smoke mode a handful of people and frames."""
    return pick(full=FramesConfig(), smoke=FramesConfig(people=6, heldout_people=4, targets=4, references=2,
                                                         photo_crops=8))


@dataclass
class FrameSet:
    """The frames of one split, uint8 ``(N, 64, 64, 3)``: ``real`` and each generator's ``fakes``."""

    real: np.ndarray
    fakes: dict[str, np.ndarray]

    def labelled(self, generators=None) -> tuple[np.ndarray, np.ndarray]:
        """``(images (N, 64, 64, 3) uint8, labels (N,) float32)``: real (0) then the generators' fakes (1)."""
        generators = tuple(self.fakes) if generators is None else tuple(generators)
        fakes = [self.fakes[g] for g in generators]
        images = np.concatenate([self.real, *fakes])
        labels = np.concatenate([np.zeros(len(self.real)), np.ones(sum(map(len, fakes)))]).astype(np.float32)
        return images, labels

    def map(self, change) -> "FrameSet":
        """The same frames after ``change`` (uint8 ``(N, S, S, 3)`` → the same), e.g. a JPEG round trip."""
        return FrameSet(change(self.real), {g: change(x) for g, x in self.fakes.items()})


def photo_crops(photo: np.ndarray, n: int, rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """``n`` random square crops of ``photo`` (HxWx3 uint8), each side 1/8 to all of the shorter side, half
    of them mirrored, resized to ``size``²: uint8 ``(n, size, size, 3)``."""
    H, W = photo.shape[:2]
    crops = []
    for _ in range(n):
        side = int(rng.uniform(min(H, W) / 8, min(H, W)))
        top, left = rng.integers(0, H - side + 1), rng.integers(0, W - side + 1)
        crop = photo[top:top + side, left:left + side]
        crop = crop[:, ::-1] if rng.random() < 0.5 else crop
        crops.append(cv2.resize(np.ascontiguousarray(crop), (size, size), interpolation=cv2.INTER_AREA))
    return np.stack(crops) if crops else np.zeros((0, size, size, 3), np.uint8)


def clips(split: str, cfg: FramesConfig) -> list[Clip]:
    """One clip per person of ``split``: the targets are the first T frames of their video 0 (a piece of
    video, so an H.264 encoder sees motion), the references K frames spread over their video 1."""
    data = SyntheticConfig(identities=cfg.people, heldout_identities=cfg.heldout_people, videos=2,
                           frames=VIDEO_FRAMES, size=SIZE)
    videos = synthetic_split(split, data)                              # person i: videos[2i], videos[2i + 1]
    targets = np.arange(cfg.targets)
    references = np.linspace(0, VIDEO_FRAMES - 1, cfg.references).round().astype(int)
    return [Clip.from_videos(driver, targets, source, references) for driver, source in zip(videos[::2], videos[1::2])]


def build_frames(split: str, cfg: FramesConfig | None = None, generators=GENERATORS,
                 progress: bool = False) -> FrameSet:
    """The real frames and each generator's fakes for the people of ``split`` (``"train"`` or ``"heldout"``)."""
    from tqdm.auto import tqdm

    if split not in PHOTOS:
        raise ValueError(f"unknown split {split!r}: choose one of {', '.join(PHOTOS)}")
    cfg = default_frames_config() if cfg is None else cfg
    pieces = clips(split, cfg)
    fakes = {g: np.concatenate([make_fakes(g, clip) for clip in tqdm(pieces, desc=f"{split}: {g}",
                                                                       disable=not progress)])
             for g in generators}
    rng = np.random.default_rng([cfg.crop_seed, list(PHOTOS).index(split)])
    crops = photo_crops(load_portrait(PHOTOS[split]), cfg.photo_crops, rng)
    return FrameSet(np.concatenate([*(clip.targets for clip in pieces), crops]), fakes)
