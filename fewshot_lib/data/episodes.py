"""K-shot episodes: the unit of meta-learning (paper, Sec. 3.2).

An episode of video ``i`` holds K frames ``x_k`` with their landmark sketches ``y_k`` for the
embedder, and one more frame ``x_t`` of the same video, *never one of the K*, with its sketch
``y_t``: the generator must redraw ``x_t`` from ``y_t`` and the K-frame embedding, and the
discriminator judges it with the video's column ``W_i``.

:class:`VideoDataset` reads any list of videos (on-disk :class:`~.records.Record` s or
on-demand :class:`~.synthetic.SyntheticVideo` s) or a folder of records. Which frames an episode
uses is a pure function of ``(seed, epoch, video)``: the same in every DataLoader worker, on
every run. The epoch travels inside the item index (``index = epoch * len(dataset) + video``),
which :class:`EpisodeSampler` produces, so no worker needs to be told about epochs.
Introduced in notebook 02.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Protocol, Sequence

import cv2
import numpy as np
import torch

from ..errors import FewshotError
from ..landmarks.sketch import draw_sketches
from .records import Record, RecordError, find_records


class Video(Protocol):
    """What a dataset needs from a video: a record on disk or a synthetic video."""

    size: int
    meta: dict
    landmarks: np.ndarray          # float32 (T, 68, 2)

    def __len__(self) -> int: ...
    def frame(self, t: int) -> np.ndarray: ...   # uint8 (S, S, 3)


class EpisodeError(FewshotError, ValueError):
    """A video cannot give the episodes asked for (too short, wrong size, bad frame indices)."""


def describe(video: Video) -> str:
    """A short name for error messages: the record's file, or the video's repr."""
    return str(getattr(video, "path", None) or repr(video))


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 ``(..., S, S, 3)`` -> float32 ``(..., 3, S, S)`` in [-1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(images)).float()
    return (x / 127.5 - 1.0).movedim(-1, -3)


class VideoDataset(torch.utils.data.Dataset):
    """Episodes of K frames + a distinct target frame from each of a list of videos.

    ``videos``: a list of videos (records or synthetic videos), or a folder of records.
    ``k``: frames per episode for the embedder. ``size``: resize frames to this side (None:
    keep the videos' own size, which must then agree). ``seed``: which frames episodes draw.
    ``drop_short``: videos with fewer than K + 1 frames raise an :class:`EpisodeError`,
    unless ``drop_short`` is True; then they are left out and listed in ``self.dropped``.

    ``dataset[i]`` (for ``i < len(dataset)``: epoch 0) is a dict::

        frames         float32 (K, 3, S, S) in [-1, 1]   x_k, the embedder's frames
        sketches       float32 (K, 3, S, S) in [-1, 1]   y_k, their landmark sketches (black = -1)
        target         float32 (3, S, S)                 x_t, never one of the K frames
        target_sketch  float32 (3, S, S)                 y_t
        landmarks      float32 (K, 68, 2)                the K frames' landmarks, pixels of S × S
        target_landmarks float32 (68, 2)                 the target's (warping reads them: notebook 10)
        video          int64 ()                          i: the video's column of the discriminator's W
        target_index   int64 ()   frame_indices  int64 (K,)   which frames were used
    """

    def __init__(self, videos: Sequence[Video] | str | Path, k: int = 8, size: int | None = None, seed: int = 0,
                 drop_short: bool = False):
        if k < 1:
            raise EpisodeError(f"k={k}: an episode needs at least one embedder frame")
        if isinstance(videos, (str, Path)):
            paths = find_records(videos)
            if not paths:
                raise RecordError(f"{videos}: no records found; create them with `fewshot synth` or `fewshot prepare`")
            videos = [Record(p) for p in paths]
        videos = list(videos)
        if not videos:
            raise EpisodeError("no videos given")
        short = [v for v in videos if len(v) < k + 1]
        if short and not drop_short:
            names = ", ".join(f"{describe(v)} ({len(v)} frames)" for v in short[:3])
            raise EpisodeError(f"{len(short)} video(s) have fewer than K + 1 = {k + 1} frames, e.g. {names}; "
                               "use a smaller k, longer videos, or drop_short=True to leave them out")
        self.dropped = short
        self.videos = [v for v in videos if len(v) >= k + 1]
        if not self.videos:
            raise EpisodeError(f"every video has fewer than K + 1 = {k + 1} frames")
        sizes = {v.size for v in self.videos}
        if size is None and len(sizes) > 1:
            odd = next(v for v in self.videos if v.size != self.videos[0].size)
            raise EpisodeError(f"videos have different frame sizes {sorted(sizes)} (e.g. {describe(odd)}: {odd.size}, "
                               f"{describe(self.videos[0])}: {self.videos[0].size}); pass size=... to resize them")
        self.k, self.seed = k, seed
        self.size = int(size) if size is not None else self.videos[0].size

    def __len__(self) -> int:
        return len(self.videos)

    def draw(self, video: int, epoch: int = 0) -> tuple[int, np.ndarray]:
        """The (target, K frames) that video ``video``'s episode uses in ``epoch``: K + 1 distinct
        frames drawn from ``default_rng([seed, epoch, video])``."""
        rng = np.random.default_rng([self.seed, epoch, video])
        chosen = rng.choice(len(self.videos[video]), size=self.k + 1, replace=False)
        return int(chosen[0]), np.sort(chosen[1:])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        epoch, video = divmod(int(index), len(self))
        target, frames = self.draw(video, epoch)
        return self.episode(video, target, frames)

    def episode(self, video: int, target: int, k_indices: Sequence[int]) -> dict[str, torch.Tensor]:
        """The episode of video ``video`` with explicit frames: target ``target``, embedder frames
        ``k_indices`` (any number, e.g. K random or the K most pose-distant ones; never the target)."""
        if not 0 <= video < len(self):
            raise IndexError(f"video {video} out of range (0..{len(self) - 1})")
        source = self.videos[video]
        k_indices = np.asarray(k_indices, dtype=np.int64).reshape(-1)
        if len(k_indices) == 0:
            raise EpisodeError("an episode needs at least one embedder frame")
        if target in k_indices:
            raise EpisodeError(f"target frame {target} is among the embedder frames {k_indices.tolist()}: "
                               "the generator would copy it instead of learning to pose it")
        if len(np.unique(k_indices)) != len(k_indices):
            raise EpisodeError(f"embedder frames {k_indices.tolist()} repeat a frame")
        bad = [int(t) for t in [target, *k_indices] if not 0 <= t < len(source)]
        if bad:
            raise EpisodeError(f"{describe(source)}: frames {bad} out of range (0..{len(source) - 1})")
        indices = np.concatenate([k_indices, [target]])                     # (K + 1,)
        images = np.stack([self._frame(source, int(t)) for t in indices])  # (K + 1, S, S, 3) uint8
        sketches = draw_sketches(source.landmarks[indices], self.size, image_size=source.size)
        images, sketches = to_tensor(images), to_tensor(sketches)           # (K + 1, 3, S, S)
        scale = self.size / source.size                                      # pixel centres sit at integers
        points = torch.from_numpy((source.landmarks[indices].astype(np.float32) + 0.5) * scale - 0.5)  # (K+1, 68, 2)
        return {
            "frames": images[:-1], "sketches": sketches[:-1],
            "target": images[-1], "target_sketch": sketches[-1],
            "landmarks": points[:-1], "target_landmarks": points[-1],
            "video": torch.tensor(video, dtype=torch.int64),
            "target_index": torch.tensor(target, dtype=torch.int64),
            "frame_indices": torch.from_numpy(k_indices),
        }

    def _frame(self, source: Video, t: int) -> np.ndarray:
        frame = source.frame(t)
        if frame.shape[0] == self.size:
            return frame
        shrink = frame.shape[0] > self.size
        return cv2.resize(frame, (self.size, self.size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)

    def __repr__(self) -> str:
        return f"VideoDataset({len(self)} videos, k={self.k}, size={self.size}, seed={self.seed})"


class EpisodeSampler(torch.utils.data.Sampler):
    """Every video once per epoch, shuffled by ``default_rng([seed, epoch])``; yields item indices
    ``epoch * num_videos + video`` so each episode also knows its epoch.

    Each pass over the sampler is the next epoch (or call :meth:`set_epoch`). With
    ``num_replicas`` > 1 (distributed training), replica ``rank`` takes every
    ``num_replicas``-th video of the shuffled order.
    """

    def __init__(self, num_videos: int, seed: int = 0, shuffle: bool = True, rank: int = 0, num_replicas: int = 1):
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} is not in 0..{num_replicas - 1}")
        self.num_videos, self.seed, self.shuffle = num_videos, seed, shuffle
        self.rank, self.num_replicas = rank, num_replicas
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        epoch, self.epoch = self.epoch, self.epoch + 1
        order = np.arange(self.num_videos)
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(self.num_videos)
        return iter((epoch * self.num_videos + order[self.rank::self.num_replicas]).tolist())

    def __len__(self) -> int:
        return len(range(self.rank, self.num_videos, self.num_replicas))


def make_loader(dataset: VideoDataset, batch_size: int, shuffle: bool = True, num_workers: int = 0,
                seed: int | None = None, device: torch.device | str | None = None, drop_last: bool = True,
                rank: int = 0, num_replicas: int = 1) -> torch.utils.data.DataLoader:
    """A DataLoader of episode batches (``frames`` ``(B, K, 3, S, S)``, ``video`` ``(B,)``, ...).

    The order of videos is shuffled by ``seed`` (default: the dataset's seed); batches are the
    same whatever ``num_workers``. Memory is pinned when ``device`` is a CUDA device, for faster
    copies to the GPU. ``rank`` / ``num_replicas``: this process's share in distributed training.
    """
    device = torch.device(device) if device is not None else torch.device("cpu")
    seed = dataset.seed if seed is None else seed
    sampler = EpisodeSampler(len(dataset), seed=seed, shuffle=shuffle, rank=rank, num_replicas=num_replicas)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                                       pin_memory=device.type == "cuda", drop_last=drop_last,
                                       persistent_workers=num_workers > 0)
