"""The batches of meta-learning's steps: which episodes step s trains on, and how they reach the device.

* :class:`StepBatchSampler`: step s's B videos from ``numpy.random.default_rng([seed, s])`` alone, so a
  run that is stopped and resumed draws exactly the batches an uninterrupted run would (and each of
  several processes its share of them, :mod:`~fewshot_lib.train.distributed`);
* :func:`to_device`: a batch on the device, its images in the trainer's memory format;
* :func:`on_device`: the batches on the device; on CUDA each copied on a side stream while the previous
  one trains.

Introduced in notebook 06 (:class:`~fewshot_lib.train.meta.MetaTrainer` feeds its steps with them).
"""
from __future__ import annotations

import numpy as np
import torch

from .distributed import SINGLE, Distributed, check_divides, shard


class StepBatchSampler(torch.utils.data.Sampler):
    """The batches of steps ``start..stop-1``: B videos from ``default_rng([seed, step])`` each.

    It yields dataset indices ``step · num_videos + video``; :class:`~fewshot_lib.data.VideoDataset`
    draws that item's target and K frames from ``default_rng([dataset seed, step, video])``. So a
    step's batch depends on (seed, step) alone: resuming at any step replays the same batches,
    with or without DataLoader workers. With several processes (``dist``), each yields its
    contiguous share of every step's B episodes.
    """

    def __init__(self, num_videos: int, batch_size: int, seed: int, start: int, stop: int,
                 dist: Distributed = SINGLE):
        check_divides(batch_size, dist)
        self.num_videos, self.batch_size, self.seed, self.start, self.stop = num_videos, batch_size, seed, start, stop
        self.dist = dist

    def videos(self, step: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, step])
        return rng.choice(self.num_videos, size=self.batch_size, replace=self.batch_size > self.num_videos)

    def __iter__(self):
        for step in range(self.start, self.stop):
            yield [step * self.num_videos + int(video) for video in shard(self.videos(step), self.dist)]

    def __len__(self) -> int:
        return max(0, self.stop - self.start)


def to_device(batch: dict[str, torch.Tensor], device: torch.device,
              memory_format: torch.memory_format = torch.contiguous_format) -> dict[str, torch.Tensor]:
    """The batch on ``device``; its images (B, 3, S, S) in ``memory_format``."""
    return {key: value.to(device, non_blocking=True,
                          memory_format=memory_format if value.dim() == 4 else torch.preserve_format)
            for key, value in batch.items()}


def on_device(batches, device: torch.device, memory_format: torch.memory_format = torch.contiguous_format):
    """The batches on ``device``. On CUDA each is copied on a side stream while the previous one
    trains (the copy engine runs beside the kernels); the training stream waits for its copy."""
    if device.type != "cuda":
        yield from (to_device(batch, device, memory_format) for batch in batches)
        return
    side, pending = torch.cuda.Stream(device), None
    for batch in batches:
        with torch.cuda.stream(side):
            copied = to_device(batch, device, memory_format)      # from pinned memory: asynchronous
        if pending is not None:
            yield pending
        training = torch.cuda.current_stream(device)
        training.wait_stream(side)                                 # this batch's kernels wait for its copy
        for tensor in copied.values():
            tensor.record_stream(training)                         # its memory is in use on that stream too
        pending = copied
    if pending is not None:
        yield pending
