"""Meta-learning on several GPUs (or CPU processes): torchrun, one process per device, DDP.

    torchrun --nproc_per_node 4 -m fewshot_lib train --preset paper --batch-size 32 --data records/vox2_dev

How N processes take the steps one process would take:

* **Who am I.** torchrun starts N copies of the command and gives each ``RANK``, ``LOCAL_RANK``
  and ``WORLD_SIZE`` in its environment. :func:`from_environment` reads them, picks the GPU
  ``cuda:LOCAL_RANK`` and joins the process group (NCCL between GPUs, gloo between CPU processes).
* **Data.** ``--batch-size`` is the *global* batch B. Every process draws the same B episodes of
  step s from ``default_rng([seed, s])`` (:class:`~fewshot_lib.train.batches.StepBatchSampler`) and
  keeps its contiguous share of B / N (:func:`shard`). No process is told what another reads, and
  together they read exactly the episodes of a one-process run.
* **Gradients.** E with G, and D, are wrapped in ``DistributedDataParallel`` (:func:`data_parallel`),
  which averages their gradients over the processes during the backward pass. Every loss is a mean
  over the batch and no layer mixes episodes (instance norm, no batch norm), so the average of N
  gradients of means over B / N episodes is the gradient of the mean over all B: N processes with
  global batch B take the steps of one process with batch B, up to float rounding
  (``tests/test_distributed.py`` checks it with 2 gloo processes).
* **W, the per-video table of D.** W has one row per training video: 150k × 512 floats for
  VoxCeleb2, 307 MB. A step reads at most B rows of it, yet DDP would all-reduce its whole dense
  gradient, 307 MB per D step, nearly 4× the 80 MB of all of D's other weights. The options:

  1. sparse gradients (``nn.Embedding(sparse=True)``): DDP reduces them sparsely, but Adam refuses
     sparse gradients and ``SparseAdam`` updates only the rows it sees, so each row's moments would
     stop decaying between visits: a different optimiser from the one-process run;
  2. sharding W over the processes: saves memory nobody lacks (W and its Adam moments: < 1 GB);
  3. **keep W out of DDP and all-reduce only the rows of the step's videos**: B × N numbers
     (16 kB at B = 8) instead of 307 MB.

  We take (3) (:func:`all_reduce_rows`). Every other row has a zero gradient on every process, so
  its average needs no communication; the optimiser stays the dense Adam of the one-process run,
  and every process keeps an identical copy of W.
* **Checkpoints.** Rank 0 writes them. They hold the unwrapped networks and optimiser states, which
  are identical on every process and carry no trace of N, so a run resumes with any number of
  processes that divides the global batch.

Introduced in the README, "Training at scale".
"""
from __future__ import annotations

import inspect
import os
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.distributed
from torch import nn
from torch.nn.parallel import DistributedDataParallel


@dataclass(frozen=True)
class Distributed:
    """This process's place among the training processes (one process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 logs, draws the sample grids and writes the checkpoints."""
        return self.rank == 0


SINGLE = Distributed()
"""One process: nothing to synchronise."""

NO_BUFFER_SYNC = ({"forward_sync_buffers": False}      # torch ≥ 2.12's name for it
                  if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
                  else {"broadcast_buffers": False})
"""DDP must not broadcast buffers before every forward pass (see :func:`data_parallel`)."""


def from_environment(device: torch.device) -> tuple[Distributed, torch.device]:
    """Join torchrun's process group when ``WORLD_SIZE`` > 1; returns this process's place and device.

    ``device``: the device asked for (``cuda`` becomes ``cuda:LOCAL_RANK``). Without torchrun
    (no ``WORLD_SIZE``) it returns :data:`SINGLE` and ``device`` unchanged.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return SINGLE, device
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    if device.type == "cuda":
        gpus = torch.cuda.device_count()
        if local_rank >= gpus:
            raise RuntimeError(f"process {rank} wants GPU {local_rank}, but this machine has {gpus}: "
                               f"use --nproc_per_node {gpus} or fewer")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        torch.distributed.init_process_group("nccl", device_id=device)
    elif device.type == "cpu":
        torch.distributed.init_process_group("gloo")
    else:
        raise RuntimeError(f"several training processes need CUDA GPUs (NCCL) or CPUs (gloo), not {device.type}; "
                           "use --device cuda or --device cpu")
    return Distributed(rank, world_size, local_rank), device


def close(dist: Distributed) -> None:
    """Leave the process group (at the end of training)."""
    if dist.enabled and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def check_divides(batch_size: int, dist: Distributed) -> None:
    if batch_size % dist.world_size:
        raise ValueError(f"batch_size={batch_size} does not split over {dist.world_size} processes: "
                         f"use a multiple of {dist.world_size} (it is the global batch, shared by all processes)")


def shard(items: Sequence, dist: Distributed) -> list:
    """This process's contiguous share of a step's global batch ``items`` (all of it for one process)."""
    check_divides(len(items), dist)
    share = len(items) // dist.world_size
    return list(items[dist.rank * share:(dist.rank + 1) * share])


def data_parallel(module: nn.Module, dist: Distributed, device: torch.device,
                  ignore: Sequence[str] = ()) -> nn.Module:
    """``module`` in DistributedDataParallel (itself for one process); parameters named in
    ``ignore`` stay out of DDP's gradient all-reduce (see :func:`all_reduce_rows`).

    No buffer broadcast before each forward pass: the only buffers are spectral norm's
    power-iteration vectors, which DDP copies from rank 0 once, at construction, and which
    then evolve from the weights alone, identical on every process.
    """
    if not dist.enabled:
        return module
    if ignore:
        DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(module, list(ignore))
    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=device_ids, **NO_BUFFER_SYNC)


def gather(local: torch.Tensor, dist: Distributed) -> torch.Tensor:
    """Every process's ``local`` (the same shape on each), concatenated in rank order."""
    if not dist.enabled:
        return local
    parts = [torch.empty_like(local) for _ in range(dist.world_size)]
    torch.distributed.all_gather(parts, local.contiguous())
    return torch.cat(parts)


def all_reduce_rows(table: nn.Embedding, local_rows: torch.Tensor, dist: Distributed) -> None:
    """Average the gradient of ``table`` over the processes, communicating only the rows in use.

    ``local_rows`` (b,): the rows this process's batch read (its videos). Every other row's
    gradient is zero on every process and stays so. A row that several processes read is
    sent once per reader and gets the same sum in each place. No host synchronisation.
    """
    grad = table.weight.grad
    if not dist.enabled or grad is None:
        return
    rows = gather(local_rows, dist)                     # (B,) the step's videos, over all processes
    sent = grad.index_select(0, rows)                   # (B, N)
    torch.distributed.all_reduce(sent)                  # Σ over the processes
    grad.index_copy_(0, rows, sent / dist.world_size)   # the mean, as DDP gives the other weights


def mean_over_processes(values: dict[str, torch.Tensor], dist: Distributed) -> dict[str, torch.Tensor]:
    """Each (scalar) value averaged over the processes: the logged losses of the global batch."""
    if not dist.enabled:
        return values
    stacked = torch.stack([v.float() for v in values.values()])   # (len(values),)
    torch.distributed.all_reduce(stacked)
    return dict(zip(values, stacked / dist.world_size))


def any_over_processes(flag: torch.Tensor, dist: Distributed) -> bool:
    """True when ``flag`` (a bool scalar) is set on any process; one host read."""
    if not dist.enabled:
        return bool(flag)
    flag = flag.to(torch.int32)
    torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
    return bool(flag)
