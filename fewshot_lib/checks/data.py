"""Notebook 02 · data: episodes and the tensor convention."""
from __future__ import annotations

import numpy as np
import torch

from ..data import VideoDataset, to_tensor
from .check import Check


class _Video:
    """A stand-in video of ``n`` frames: all ``VideoDataset.draw`` looks at is its length."""

    size, meta = 64, {}

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n


def check_draw_episode(draw_episode) -> None:
    """Exercise 2.1: ``draw_episode(num_frames, k, rng) → (target, k_indices)``: K + 1 distinct frames."""
    with Check("check_draw_episode", "an episode: a target frame and K other frames of the same video",
               hint="draw K + 1 different frames with the generator you are given (no frame twice), keep one of them "
                    "as "
                    "the target and the other K, in time order, as the episode's frames") as check:
        T, k, draws = 12, 8, 300
        episodes = [draw_episode(T, k, np.random.default_rng([0, 0, video])) for video in range(draws)]
        targets = [int(target) for target, _ in episodes]
        frames = [np.asarray(ks).reshape(-1) for _, ks in episodes]
        check.holds("K frames per episode", all(len(ks) == k for ks in frames))
        check.holds("the target is never among the K frames (paper: the generator must re-pose, not copy)",
                    all(t not in ks for t, ks in zip(targets, frames)),
                    f"{sum(t in ks for t, ks in zip(targets, frames))} of {draws} episodes")
        check.holds("the K frames are distinct", all(len(set(ks.tolist())) == len(ks) for ks in frames))
        check.holds("every frame lies in 0 … T − 1", all(0 <= t < T for t in targets)
                    and all(((ks >= 0) & (ks < T)).all() for ks in frames))
        check.holds(f"every frame is the target of some episode ({draws} draws)", set(targets) == set(range(T)),
                    f"targets seen: {sorted(set(targets))}")
        target, ks = draw_episode(k + 1, k, np.random.default_rng(1))
        check.holds("with T = K + 1 frames, the K frames are all the others",
                    sorted(np.asarray(ks).tolist()) == sorted(set(range(k + 1)) - {int(target)}))
        dataset = VideoDataset([_Video(T) for _ in range(4)], k=k, seed=3)
        same = all((int(mine[0]), sorted(np.asarray(mine[1]).tolist())) == (theirs[0], theirs[1].tolist())
                   for video in range(4) for epoch in range(5)
                   for mine, theirs in [(draw_episode(T, k, np.random.default_rng([3, epoch, video])),
                                         dataset.draw(video, epoch))])
        check.holds("the same episodes as VideoDataset.draw for the same rng", same)


def check_to_tensor(to_tensor_by_hand) -> None:
    """Exercise 2.2: ``to_tensor_by_hand(images uint8 (n, S, S, 3)) → float32 (n, 3, S, S) in [-1, 1]``."""
    with Check("check_to_tensor", "uint8 (n, S, S, 3) images → float32 (n, 3, S, S) in [-1, 1], RGB",
               hint="uint8 0..255 must land on float −1..1 (0 → −1, 255 → 1), and numpy's (N, H, W, 3) becomes torch's "
                    "(N, 3, H, W)"
               ) as check:
        images = np.random.default_rng(0).integers(0, 256, (2, 6, 9, 3), dtype=np.uint8)   # not square: axes show
        images[0, 0, 0], images[0, 0, 1] = 0, 255
        x = to_tensor_by_hand(images)
        check.holds("a float32 tensor", isinstance(x, torch.Tensor) and x.dtype == torch.float32,
                    f"got {type(x).__name__}" + (f" {x.dtype}" if isinstance(x, torch.Tensor) else ""))
        check.close("0 ↦ −1 and 255 ↦ +1", [x[0, :, 0, 0].tolist(), x[0, :, 0, 1].tolist()],
                    [[-1.0] * 3, [1.0] * 3])
        red = np.zeros((1, 4, 4, 3), np.uint8)
        red[..., 0] = 255
        check.close("a red image is bright in channel 0 only", to_tensor_by_hand(red)[0, :, 0, 0], [1.0, -1.0, -1.0])
        check.close("equals fewshot_lib.data.to_tensor (NCHW, rows then columns)", x, to_tensor(images))
