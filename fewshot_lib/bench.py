"""``fewshot bench``: how fast meta-learning steps and the person model run here, as JSON lines.

    fewshot bench --preset paper --batch 2 8 --precision bf16 --compile     # a GPU
    fewshot bench --preset tiny cpu64 cpu128 --batch 4                      # a CPU
    fewshot bench --preset cpu64 --person-only --compile                    # the person model alone
    fewshot bench --preset cpu64 --data-only --data-workers 0 2             # the data pipeline alone

For every preset and batch size it first runs the **plain fp32 eager configuration** (fp32,
NCHW, not compiled), then each configuration asked for, all in this one process: every
``speedup`` is a ratio of two measurements of the same run on the same machine. Each
configuration prints one JSON line (``"kind": "train"``):

* the training step: ``ms_per_step`` and ``samples_per_s`` (episodes per second) of
  :meth:`~fewshot_lib.train.meta.MetaTrainer.train_step` (one E/G step, two D steps), timed
  over ``steps`` steps after ``warmup`` steps, on **one pre-generated batch** kept on the device
  (random frames and sketches of the right shape), so the data pipeline is not what is measured;
* ``gflop_per_step``: the convolutions and matrix products of one step, counted by
  ``torch.utils.flop_counter.FlopCounterMode`` (forward and backward, the losses' VGG stacks
  included), ``tflops`` achieved, and ``fraction_of_peak`` of the device's datasheet peak for
  the precision (:data:`PEAK_TFLOPS`; null on CPUs and unknown GPUs);
* ``peak_memory_gib``: the most GPU memory the step held (CUDA); on a CPU, the process's peak
  resident memory so far (all configurations up to this one);
* the **person model**: G from a precomputed ψ (``forward_from_psi``, ê and P · ê computed
  once), its spectral norms baked into plain weights (:func:`inference_generator`): latency
  at batch 1 and throughput at ``infer_batch``;
* on a CPU also ``cpu_ms_per_step`` and ``infer_batch1_cpu_ms`` (this process's CPU time: on a
  machine shared with other jobs the wall clock grows with their load, the CPU time much less)
  and the load average.

With ``--data-workers`` it also measures the data pipeline: episodes per second that
:class:`~fewshot_lib.data.VideoDataset` delivers through the trainer's DataLoader
(``"kind": "data"``, one line per number of workers).

The content loss is the paper's (VGG19 + VGGFace stacks; random weights when the published
ones are missing, at the same cost) on CUDA, and the course's offline stand-in (multi-scale
pixel L1) on CPUs, unless ``--content`` says otherwise. Introduced in the README, "Training at scale".
"""
from __future__ import annotations

import copy
import gc
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass
from typing import Iterator

import torch
from torch.utils.flop_counter import FlopCounterMode

from .flags import at_least_int
from .losses import FALLBACKS
from .models import Generator, fold_spectral_norms, get_preset
from .train.batches import StepBatchSampler
from .train.meta import PRECISIONS, MetaTrainer, TrainConfig, choose_memory_format, choose_precision, training_dataset

PEAK_TFLOPS: dict[str, dict[str, float]] = {
    # Dense tensor-core TFLOP/s from NVIDIA's datasheets (no sparsity); "fp32" without tensor cores.
    # Matched as a substring of torch.cuda.get_device_name(), first match wins (specific names first).
    "H100 PCIe": {"bf16": 756.0, "fp16": 756.0, "tf32": 378.0, "fp32": 51.2},
    "H100 NVL": {"bf16": 835.0, "fp16": 835.0, "tf32": 418.0, "fp32": 60.0},
    "H100": {"bf16": 989.4, "fp16": 989.4, "tf32": 494.7, "fp32": 66.9},      # SXM, "NVIDIA H100 80GB HBM3"
    "H200": {"bf16": 989.4, "fp16": 989.4, "tf32": 494.7, "fp32": 66.9},
    "A100": {"bf16": 312.0, "fp16": 312.0, "tf32": 156.0, "fp32": 19.5},
    "L40S": {"bf16": 362.1, "fp16": 362.1, "tf32": 183.0, "fp32": 91.6},
    "L40": {"bf16": 181.0, "fp16": 181.0, "tf32": 90.5, "fp32": 90.5},
    "L4": {"bf16": 121.0, "fp16": 121.0, "tf32": 60.0, "fp32": 30.3},
    "V100": {"fp16": 125.0, "fp32": 15.7},                                   # no bf16, no tf32
    "T4": {"fp16": 65.0, "fp32": 8.1},                                       # Colab's free GPU
}
"""Peak TFLOP/s by GPU name and precision; what a step can reach at best (matmul-heavy code
typically tops out at 70-80 % of it)."""

DTYPE_NAMES = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}


@dataclass(frozen=True)
class Setting:
    """One configuration of the training step: what ``fewshot bench`` compares."""

    precision: str = "fp32"                # as TrainConfig.precision
    memory_format: str = "contiguous"      # as TrainConfig.memory_format
    compile: bool = False


BASELINE = Setting()
"""The plain fp32 eager configuration every other one is compared with."""


# ------------------------------------------------------------------------------------ the machine
def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = platform.processor() or device.type
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model} ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"


def peak_tflops(name: str, precision: str) -> float | None:
    """The datasheet peak of GPU ``name`` for ``precision`` (bf16, fp16, tf32, fp32); None if unknown."""
    for key, peaks in PEAK_TFLOPS.items():
        if key in name:
            return peaks.get(precision)
    return None


def peak_precision(dtype: torch.dtype, device: torch.device) -> str:
    """Which peak a step of ``dtype`` is measured against: fp32 convolutions run as TF32 on
    tensor cores when cuDNN allows it (PyTorch's default)."""
    if dtype == torch.float32 and device.type == "cuda" and torch.backends.cudnn.allow_tf32:
        return "tf32"
    return DTYPE_NAMES[dtype]


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_memory_gib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20   # Linux: KiB


def fresh_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


# ------------------------------------------------------------------------------------ the data
class RandomEpisodes(torch.utils.data.Dataset):
    """Episodes of the right shapes with random pixels: what a step costs without the data pipeline.

    ``num_videos`` sets the size of D's table W (its Adam update touches every row).
    """

    def __init__(self, num_videos: int, k: int, size: int, seed: int = 0):
        self.num_videos, self.k, self.size, self.seed = num_videos, k, size, seed

    def __len__(self) -> int:
        return self.num_videos

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + int(index))
        S, K = self.size, self.k
        images = torch.rand(2, K + 1, 3, S, S, generator=g) * 2 - 1          # frames, sketches in [-1, 1]
        return {"frames": images[0, :K], "sketches": images[1, :K], "target": images[0, K],
                "target_sketch": images[1, K], "video": torch.tensor(int(index) % self.num_videos)}


def device_batch(dataset: RandomEpisodes, batch: int, device: torch.device) -> dict[str, torch.Tensor]:
    items = [dataset[i] for i in range(batch)]
    return {key: value.to(device) for key, value in torch.utils.data.default_collate(items).items()}


# ------------------------------------------------------------------------------------ measuring
def seconds_per_call(run, calls: int, warmup: int, device: torch.device) -> tuple[float, float]:
    """Mean wall-clock and process-CPU seconds of ``run()`` over ``calls`` calls after ``warmup``
    calls (one synchronisation at the end: the calls queue up on the GPU as in training)."""
    for _ in range(warmup):
        run()
    synchronize(device)
    start, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        run()
    synchronize(device)
    return (time.perf_counter() - start) / calls, (time.process_time() - start_cpu) / calls


def latency(run, calls: int, warmup: int, device: torch.device) -> tuple[float, float]:
    """Median wall-clock and process-CPU seconds of one ``run()``, waiting for each to finish."""
    for _ in range(warmup):
        run()
    wall, cpu = [], []
    for _ in range(calls):
        synchronize(device)
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        synchronize(device)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def count_flops(run) -> int:
    """Floating-point operations of convolutions and matrix products in ``run()`` (forward and backward)."""
    with FlopCounterMode(display=False) as counter:
        run()
    return counter.get_total_flops()


# ------------------------------------------------------------------------------------ the person model
def inference_generator(G: Generator, dtype: torch.dtype = torch.float32,
                        memory_format: torch.memory_format = torch.contiguous_format) -> Generator:
    """A copy of G for drawing frames only (:func:`~fewshot_lib.models.fold_spectral_norms`: eval mode, no
    gradients, every spectral norm baked into a plain weight W / σ(W)), in ``dtype`` and ``memory_format``."""
    baked = fold_spectral_norms(G)
    baked = copy.deepcopy(G).eval() if baked is G else baked        # nothing to fold: still never G itself
    baked.requires_grad_(False)
    return baked.to(dtype=dtype, memory_format=memory_format)


def bench_person_model(G: Generator, setting: Setting, device: torch.device, batch: int,
                       calls: int) -> dict[str, float]:
    """Latency at batch 1 and frames per second at ``batch`` of G drawing from a precomputed ψ."""
    dtype = choose_precision(setting.precision, device)
    memory_format = choose_memory_format(setting.memory_format, device)
    model = inference_generator(G, dtype, memory_format)
    S = G.cfg.image_size
    with torch.no_grad():
        psi = model.psi_hat(torch.randn(1, G.cfg.embed_dim, device=device, dtype=dtype))[0]   # ψ (n_psi,), once
    draw = model.forward_from_psi
    if setting.compile:                     # CUDA graphs replay the whole network in one launch
        draw = torch.compile(draw, mode="reduce-overhead" if device.type == "cuda" else "default")

    def frames(n: int):
        y = (torch.rand(n, 3, S, S, device=device) * 2 - 1).to(dtype=dtype, memory_format=memory_format)
        return lambda: draw(y, psi)

    with torch.no_grad():
        wall, cpu = latency(frames(1), calls, warmup=3, device=device)
        batched, _ = seconds_per_call(frames(batch), max(2, calls // 4), warmup=3, device=device)
        y = torch.zeros(1, 3, S, S, device=device, dtype=dtype)
        flops = count_flops(lambda: model.forward_from_psi(y, psi))
    results = {"infer_batch1_ms": wall * 1e3, "infer_fps": batch / batched, "infer_batch": batch,
               "g_gflop_per_frame": flops / 1e9}
    if device.type == "cpu":
        results["infer_batch1_cpu_ms"] = cpu * 1e3
    return results


# ------------------------------------------------------------------------------------ the training step
def bench_training(preset: str, batch: int, k: int, setting: Setting, device: torch.device, steps: int,
                   warmup: int, videos: int, content: str) -> tuple[dict, MetaTrainer, dict[str, torch.Tensor]]:
    """Time the meta-learning step of ``preset`` in ``setting``; returns the measurements, the trainer
    and the batch it stepped on."""
    model_cfg = get_preset(preset)
    dataset = RandomEpisodes(videos, k, model_cfg.image_size)
    train_cfg = TrainConfig(batch_size=batch, k=k, precision=setting.precision, content_fallback=content,
                            memory_format=setting.memory_format, compile=setting.compile)
    fresh_memory(device)
    with tempfile.TemporaryDirectory() as out:  # the trainer writes nothing unless asked: no files here
        trainer = MetaTrainer(model_cfg, train_cfg, dataset, out, device, log=lambda *_: None)
    data = device_batch(dataset, batch, device)
    wall, cpu = seconds_per_call(lambda: trainer.train_step(data), steps, warmup, device)
    measured = {"ms_per_step": wall * 1e3, "samples_per_s": batch / wall, "peak_memory_gib": peak_memory_gib(device),
                "finite": not bool(trainer.nonfinite), "content": sorted(trainer.content.weights)}
    if device.type == "cpu":
        measured["cpu_ms_per_step"] = cpu * 1e3
    return measured, trainer, data


def settings_to_run(precisions: list[str], compile: bool, device: torch.device) -> list[Setting]:
    """The baseline first, then each precision eager (and compiled), channels-last where it helps;
    configurations that resolve to the baseline on this device (fp32 on a CPU) are not repeated."""
    settings = [BASELINE]
    for precision in precisions:
        for compiled in (False, True) if compile else (False,):
            setting = Setting(precision, "auto", compiled)
            resolved = (choose_precision(precision, device), device.type == "cuda", compiled)
            if resolved != (torch.float32, False, False) and setting not in settings:
                settings.append(setting)
    return settings


def run_bench(presets: list[str], batches: list[int], k: int = 8, precisions: list[str] = ("auto",),
              compile: bool = False, steps: int = 10, warmup: int = 2, infer_batch: int = 32,
              infer_calls: int = 20, content: str | None = None, videos: int | None = None,
              device: torch.device | str = "cpu", train: bool = True) -> Iterator[dict]:
    """One dict per (preset, batch, configuration): the lines ``fewshot bench`` prints.

    ``train=False``: the person model alone (``"kind": "person"``, one line per preset and configuration).
    """
    device = torch.device(device)
    content = content or ("random" if device.type == "cuda" else TrainConfig().content_fallback)
    name = device_name(device)
    for preset in presets:
        cfg = get_preset(preset)
        num_videos = videos or (150_000 if preset == "paper" else 800)    # VoxCeleb2's, or the course's dataset
        for batch in batches if train else batches[:1]:
            baseline = None
            for setting in settings_to_run(list(precisions), compile, device):
                if setting.compile:
                    torch._dynamo.reset()               # every configuration compiles its own networks
                dtype = choose_precision(setting.precision, device)
                memory_format = choose_memory_format(setting.memory_format, device)
                line = {"kind": "train" if train else "person", "device": name, "preset": preset,
                        "image_size": cfg.image_size, "precision": DTYPE_NAMES[dtype],
                        "memory_format": str(memory_format).removeprefix("torch."), "compile": setting.compile}
                if train:
                    measured, trainer, data = bench_training(preset, batch, k, setting, device, steps, warmup,
                                                             num_videos, content)
                    if baseline is None:                # count the FLOPs once, on the eager fp32 step
                        flops = count_flops(lambda: trainer.train_step(data))
                    tflops = flops / (measured["ms_per_step"] / 1e3) / 1e12
                    peak = peak_tflops(name, peak_precision(dtype, device)) if device.type == "cuda" else None
                    line.update(batch=batch, k=k, videos=num_videos, steps=steps, **measured,
                                gflop_per_step=flops / 1e9, tflops=tflops, peak_tflops=peak,
                                fraction_of_peak=tflops / peak if peak else None)
                    G = trainer.G
                    del trainer, data
                else:
                    G = Generator(cfg).to(device)
                line.update(bench_person_model(G, setting, device, infer_batch, infer_calls))
                baseline = baseline or line
                if train:
                    line["speedup"] = baseline["ms_per_step"] / line["ms_per_step"]
                line["infer_speedup"] = line["infer_fps"] / baseline["infer_fps"]
                if device.type == "cpu":
                    line["cpu_load_1min"] = os.getloadavg()[0]
                yield line


def bench_data(preset: str, k: int, batch: int, workers: int, steps: int, data: str = "synthetic") -> dict:
    """Episodes per second through the trainer's DataLoader (``data``: "synthetic" or a records folder),
    after the first batch (so worker start-up is not counted)."""
    size = get_preset(preset).image_size
    dataset = training_dataset(data, size, k)
    sampler = StepBatchSampler(len(dataset), batch, seed=0, start=0, stop=steps + 1)
    loader = iter(torch.utils.data.DataLoader(dataset, batch_sampler=sampler, num_workers=workers))
    next(loader)
    start = time.perf_counter()
    for _ in loader:
        pass
    seconds = time.perf_counter() - start
    return {"kind": "data", "device": device_name(torch.device("cpu")), "data": data, "image_size": size, "k": k,
            "batch": batch, "num_workers": workers, "steps": steps, "episodes_per_s": steps * batch / seconds,
            "frames_per_s": steps * batch * (k + 1) / seconds, "cpu_load_1min": os.getloadavg()[0]}


def add_bench_command(subcommands) -> None:
    p = subcommands.add_parser("bench", help="time training steps, the person model and the data pipeline "
                                             "(one JSON line per configuration)")
    p.add_argument("--preset", nargs="+", default=["tiny"], help="model presets (default: tiny)")
    p.add_argument("--batch", nargs="+", type=at_least_int(1), default=[4], help="episodes per step (default: 4)")
    p.add_argument("--k", type=at_least_int(1), default=8, help="frames per episode for the embedder (default: 8)")
    p.add_argument("--precision", nargs="+", default=["auto"], choices=PRECISIONS,
                   help="configurations besides the fp32 baseline (default: auto = bf16 or fp16 on a GPU)")
    p.add_argument("--compile", action="store_true", help="also time each precision with torch.compile")
    p.add_argument("--steps", type=at_least_int(1), default=10,
                   help="timed steps per configuration, and batches of the data pipeline (default: 10)")
    p.add_argument("--warmup", type=at_least_int(0), default=2,
                   help="untimed steps first (default: 2; compiling happens here)")
    p.add_argument("--infer-batch", type=at_least_int(1), default=32,
                   help="batch for the person model's throughput (default: 32)")
    p.add_argument("--content", choices=FALLBACKS, default=None,
                   help="L_CNT without VGG weights (default: random VGG stacks on CUDA, pixel L1 on CPUs)")
    p.add_argument("--videos", type=at_least_int(1), default=None,
                   help="rows of D's table W (default: 150000 for paper, as VoxCeleb2; 800 otherwise)")
    p.add_argument("--device", default=None, help="cpu, cuda (default: FEWSHOT_DEVICE or auto)")
    p.add_argument("--person-only", action="store_true", help="time the person model alone, no training steps")
    p.add_argument("--data-workers", nargs="*", type=at_least_int(0), default=[],
                   help="also time the data pipeline with these numbers of DataLoader workers")
    p.add_argument("--data-only", action="store_true", help="time the data pipeline alone (0 workers unless given)")
    p.add_argument("--data", default="synthetic", help="data for --data-workers: 'synthetic' or a records folder")
    p.set_defaults(run=_run)


def _run(args) -> int:
    from .config import get_device

    if not args.data_only:
        for line in run_bench(args.preset, args.batch, args.k, args.precision, args.compile, args.steps, args.warmup,
                              args.infer_batch, content=args.content, videos=args.videos,
                              device=get_device(args.device), train=not args.person_only):
            print(json.dumps(line), flush=True)
    for preset in args.preset:
        for workers in args.data_workers or ([0] if args.data_only else []):
            print(json.dumps(bench_data(preset, args.k, args.batch[0], workers, args.steps, args.data)), flush=True)
    return 0
