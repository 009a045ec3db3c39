"""Issue 9's GPU checks in one run (under 10 minutes on one H100 or H200): JSON lines, curves, logs.

    PYTHONUNBUFFERED=1 python3 tools/gpu_check.py --out "$OUT"      # on the lent machine, from the repo root

It needs only the machine's python3 with a CUDA torch (no install: it puts the repository on
PYTHONPATH) and never downloads (FEWSHOT_OFFLINE=1: the VGG stacks of L_CNT get random weights,
which cost what the real ones cost). Each part runs in its own process under its own time limit,
so one that overruns (compiling) leaves the others' results; every result is printed as it comes
and written under --out:

1. ``env``: GPU, driver, torch, CUDA, cuDNN, bf16 support.
2. ``bench_paper``: ``fewshot bench`` of the paper preset (256×256, K = 8) at batch 2 and 8, fp32
   baseline (NCHW) then fp32 / bf16 / fp16 channels-last, eager: the step, FLOP/s, memory, and
   the person model's batch-1 latency and batch-32 throughput          → bench.jsonl
3. ``syncs``: host synchronisations inside one training step (bf16 and fp16), with where they
   come from (torch.cuda.set_sync_debug_mode); and whether the side-stream prefetch of the
   trainer hands over exactly the loader's batches                     → syncs.json
4. ``bench_cpu_presets``: the CPU presets' steps and person models on this GPU → bench.jsonl
5. ``curves``: bf16 against fp32 over the first 150 steps of the paper preset on pre-rendered
   synthetic heads, and a second fp32 seed as the yardstick of run-to-run spread
                                                                       → curves.json, curves.png
6. ``bench_compiled``: the paper preset at batch 8, bf16, eager against torch.compile (training),
   and CUDA graphs for the person model                                → bench.jsonl
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = ["-m", "fewshot_lib", "bench", "--device", "cuda"]
PARTS = {   # name: (command after `python3`, seconds allowed); the seconds add up to 570, sized by the
    # first run on an H200 (docs/gpu_check/log.txt: bench_paper needed more than 150 s, env and syncs less)
    "env": (["--part", "env"], 10),
    "bench_paper": ([*BENCH, "--preset", "paper", "--batch", "2", "8", "--precision", "fp32", "bf16", "fp16",
                     "--steps", "15", "--warmup", "3"], 210),
    "syncs": (["--part", "syncs"], 35),
    "bench_cpu_presets": ([*BENCH, "--preset", "cpu64", "cpu128", "--batch", "8", "--precision", "bf16",
                           "--steps", "15", "--warmup", "3"], 60),
    "curves": (["--part", "curves"], 115),
    "bench_compiled": ([*BENCH, "--preset", "paper", "--batch", "8", "--precision", "bf16", "--compile",
                        "--steps", "15", "--warmup", "3"], 140),
}
SMOKE = {"paper": "tiny", "cpu64": "tiny", "cpu128": "tiny", "cuda": "cpu", "bf16": "auto", "fp16": "auto",
         "15": "2", "3": "1"}
"""--smoke: the same parts on the CPU with the tiny preset and few steps, to check this script
before spending device time (compiling on a CPU takes minutes: leave bench_compiled out)."""


def command_of(name: str, out: Path, smoke: bool) -> list[str]:
    command, _ = PARTS[name]
    if command[0] == "--part":
        command = [str(REPO / "tools" / "gpu_check.py"), *command, "--out", str(out)] + (["--smoke"] if smoke else [])
    return [sys.executable, *([SMOKE.get(word, word) for word in command] if smoke else command)]


def run_parts(out: Path, only: list[str], smoke: bool) -> None:
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "FEWSHOT_OFFLINE": "1", "FEWSHOT_RUNS": str(out / "runs"), "PYTHONUNBUFFERED": "1"}
    with open(out / "log.txt", "a") as log:
        for name in only:
            seconds = PARTS[name][1]
            print(f"== {name} (at most {seconds} s)", flush=True)
            start = time.perf_counter()
            process = subprocess.Popen(command_of(name, out, smoke), cwd=REPO, env=env, text=True,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                output, _ = process.communicate(timeout=seconds)
                status = f"exit {process.returncode}"
            except subprocess.TimeoutExpired:      # end the part and its children (data workers, compilers)
                os.killpg(process.pid, signal.SIGKILL)
                output, _ = process.communicate()
                status = "TIMED OUT (the lines above are complete results)"
            for line in output.splitlines():
                log.write(f"[{name}] {line}\n")
                if line.startswith("{"):
                    print(line, flush=True)
                    if name.startswith("bench"):
                        with open(out / "bench.jsonl", "a") as f:
                            f.write(line + "\n")
            tail = [line for line in output.splitlines() if not line.startswith("{")][-15:]
            print("\n".join(tail) if process.returncode else "", f"-- {name}: {status}, "
                  f"{time.perf_counter() - start:.0f} s", sep="\n", flush=True)


# ------------------------------------------------------------------------------------ the parts in-process
def part_env(out: Path) -> None:
    import torch

    info = {"kind": "env", "torch": torch.__version__, "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(), "cpus": os.cpu_count(), "python": sys.version.split()[0],
            "gpu": None}
    if torch.cuda.is_available():
        info.update(gpu=torch.cuda.get_device_name(), bf16=torch.cuda.is_bf16_supported(),
                    gpu_memory_gib=round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1))
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,clocks.max.sm,power.limit",
                              "--format=csv,noheader"], capture_output=True, text=True)
        info["nvidia_smi"] = smi.stdout.strip()
    print(json.dumps(info))


def part_syncs(out: Path, smoke: bool) -> None:
    """Count host synchronisations in one step (after a warm-up step), by the line that causes them."""
    import warnings
    from collections import Counter

    import torch

    from fewshot_lib.bench import RandomEpisodes, device_batch
    from fewshot_lib.models import get_preset
    from fewshot_lib.train.batches import on_device, to_device
    from fewshot_lib.train.meta import MetaTrainer, TrainConfig

    results = []        # (smoke: nothing to count on a CPU, but the step runs)
    device = torch.device("cpu" if smoke else "cuda")
    for precision in ("fp32",) if smoke else ("bf16", "fp16"):
        preset = get_preset("tiny" if smoke else "cpu128")
        dataset = RandomEpisodes(800, 8, preset.image_size)
        trainer = MetaTrainer(preset, TrainConfig(batch_size=4, k=8, precision=precision), dataset,
                              out / "runs" / "syncs", device, log=lambda *_: None)
        batch = device_batch(dataset, 4, device)
        trainer.train_step(batch)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if not smoke:
                torch.cuda.synchronize()
                torch.cuda.set_sync_debug_mode("warn")
            trainer.train_step(batch)
            if not smoke:
                torch.cuda.set_sync_debug_mode("default")
        places = Counter(f"{Path(w.filename).relative_to(REPO) if w.filename.startswith(str(REPO)) else w.filename}"
                         f":{w.lineno}" for w in caught if "synchroniz" in str(w.message))
        results.append({"kind": "syncs", "precision": precision, "syncs_per_step": sum(places.values()),
                        "where": dict(places)})
        print(json.dumps(results[-1]))
    # The side-stream prefetch of MetaTrainer.train must hand over exactly the loader's batches.
    direct = [to_device(b, device, trainer.memory_format) for b in trainer.loader(4)]
    fetched = list(on_device(trainer.loader(4), device, trainer.memory_format))
    results.append({"kind": "prefetch", "batches": len(fetched), "equal": len(direct) == len(fetched) and all(
        torch.equal(a[key], b[key]) for a, b in zip(direct, fetched) for key in a)})
    print(json.dumps(results[-1]))
    (out / "syncs.json").write_text(json.dumps(results, indent=2))


def prerendered_videos(identities: int, videos: int, frames: int, size: int):
    """Synthetic videos rendered once by a process pool and kept in memory, so that the data
    pipeline feeds the GPU from RAM (rendering 256×256 heads on the fly is too slow to keep up)."""
    from concurrent.futures import ProcessPoolExecutor

    keys = [(i, v) for i in range(identities) for v in range(videos)]
    with ProcessPoolExecutor(min(16, os.cpu_count() or 1)) as pool:
        rendered = list(pool.map(_render, keys, [frames] * len(keys), [size] * len(keys)))
    return [InMemoryVideo(f, points, size) for f, points in rendered]


def _render(key, frames, size):
    from fewshot_lib.data import SyntheticHeads

    video = SyntheticHeads(seed=0).video(*key, num_frames=frames, size=size)
    return video.frames(), video.landmarks


class InMemoryVideo:
    """What VideoDataset reads (``len``, ``frame(t)``, ``landmarks``, ``size``, ``meta``), from arrays."""

    def __init__(self, frames, landmarks, size):
        self.frames, self.landmarks, self.size, self.meta = frames, landmarks, size, {"source": "synthetic"}

    def __len__(self) -> int:
        return len(self.frames)

    def frame(self, t: int):
        return self.frames[t]


def part_curves(out: Path, smoke: bool, steps: int = 150, batch: int = 4, every: int = 5) -> None:
    """bf16 and fp32 meta-learning of the paper preset from the same start; a second fp32 seed for scale."""
    import numpy as np
    import torch

    from fewshot_lib.data import VideoDataset
    from fewshot_lib.models import get_preset
    from fewshot_lib.train.batches import on_device
    from fewshot_lib.train.meta import MetaTrainer, TrainConfig

    preset = get_preset("tiny" if smoke else "paper")
    steps = 20 if smoke else steps
    start = time.perf_counter()
    dataset = VideoDataset(prerendered_videos(identities=16, videos=2, frames=16, size=preset.image_size), k=8)
    print(f"rendered {len(dataset)} videos in {time.perf_counter() - start:.0f} s", flush=True)
    runs = {"fp32 (seed 0)": ("fp32", 0), "bf16 (seed 0)": ("bf16", 0), "fp32 (seed 1)": ("fp32", 1)}
    curves = {}
    for name, (precision, seed) in runs.items():
        cfg = TrainConfig(steps=steps, batch_size=batch, k=8, precision="fp32" if smoke else precision, seed=seed,
                          content_fallback="random", num_workers=0 if smoke else 6)
        trainer = MetaTrainer(preset, cfg, dataset, out / "runs" / "curves", "cpu" if smoke else "cuda",
                              log=lambda *_: None)
        rows, begin = [], time.perf_counter()
        for episodes in on_device(trainer.loader(steps), trainer.device, trainer.memory_format):
            losses = trainer.train_step(episodes)
            if trainer.step % every == 0:
                rows.append({"step": trainer.step, **{k: float(v) for k, v in losses.items()}})
        if not smoke:
            torch.cuda.synchronize()
        curves[name] = {"rows": rows, "seconds": time.perf_counter() - begin}
        print(json.dumps({"kind": "curve", "run": name, "seconds": round(curves[name]["seconds"], 1),
                          "last": rows[-1]}), flush=True)
        del trainer

    def smooth(name, key, window=8):                  # moving average over 8 logged points (40 steps)
        values = np.array([row[key] for row in curves[name]["rows"]])
        return np.convolve(values, np.ones(window) / window, mode="valid")

    keys = ("loss_G", "L_CNT", "L_ADV", "L_MCH", "L_DSC")
    summary = {"kind": "curves_summary", "steps": steps, "batch": batch}
    for key in keys:
        fp32, bf16, other = (smooth(name, key) for name in runs)
        scale = np.abs(fp32).mean()
        summary[key] = {"bf16_vs_fp32": float(np.abs(bf16 - fp32).mean() / scale),
                        "fp32_seed1_vs_seed0": float(np.abs(other - fp32).mean() / scale)}
    print(json.dumps(summary), flush=True)
    (out / "curves.json").write_text(json.dumps({"summary": summary, "curves": curves}))
    plot_curves(curves, keys, f"{preset.name} preset, {preset.image_size}×{preset.image_size}, K = 8, batch {batch}",
                out / "curves.png")


def plot_curves(curves: dict, keys: tuple[str, ...], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.2))
    for ax, key in zip(axes, keys):
        for name, curve in curves.items():
            ax.plot([r["step"] for r in curve["rows"]], [r[key] for r in curve["rows"]], label=name, lw=1)
        ax.set_title(key)
        ax.set_xlabel("step")
    axes[0].legend()
    fig.suptitle(f"{title}: bf16 autocast against fp32 (and a second fp32 seed)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.environ.get("OUT", "build/gpu_check"), help="where results go")
    parser.add_argument("--part", choices=("env", "syncs", "curves"), help="run one in-process part (internal)")
    parser.add_argument("--only", nargs="+", choices=list(PARTS), default=list(PARTS), help="parts to run")
    parser.add_argument("--smoke", action="store_true", help="check the script on a CPU (tiny preset, few steps)")
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if args.part == "env":
        part_env(out)
    elif args.part:
        sys.path.insert(0, str(REPO))
        {"syncs": part_syncs, "curves": part_curves}[args.part](out, args.smoke)
    else:
        run_parts(out, args.only, args.smoke)


if __name__ == "__main__":
    main()
