"""How fast is the thin-plate-spline warp? Frames per second on one thread, as JSON lines.

    OMP_NUM_THREADS=1 .venv/bin/python tools/bench_warping.py [--seconds 2] [--sizes 64 256] [--batch 1 8]

Each timed call warps ``batch`` frames from scratch: the spline fitted to the frames'
landmarks (``fit_tps``), its sampling grid (``spline_grid``) and the bilinear sample
(``warp``), under ``torch.no_grad()`` as in inference. ``"kind": "tps_warp"``: all at the
frame's own size. ``"kind": "tps_warp_highres"``: the landmarks and the grid at the model's
size (64²), the grid resized (``resize_grid``) and applied to the larger frame. The
landmarks are the synthetic mean face (source) and seeded random poses and expressions
(targets), a different set every call. Reported: frames/s by wall clock and by this
process's CPU time (on a machine shared with other jobs the wall clock grows with their
load, the CPU time much less), and the load average.

With ``--learned`` (the shipped warping generator ``warp_cpu64``, a feed-forward person model of one
synthetic shot): ``"kind": "learned_warp"``, frames drawn at the model's 64² and composed on a 256²
reference (``WarpPerson.forward_high_res``: painter, flow network, TPS, blend); and
``"kind": "widget"``, the puppeteering widget of notebook 09 redrawing with each method (sketch +
model + PNG), as its own frames-per-second counter reports it; ``--compile``: the widget drawing through
``torch.compile``d person models (``PuppetWidget(compile=True)``; the compiling is not timed).
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import time

import numpy as np
import torch

from fewshot_lib.data import Expression, Pose
from fewshot_lib.finetune import resize_landmarks
from fewshot_lib.puppeteer import mean_face_landmarks
from fewshot_lib.warping import fit_tps, resize_grid, spline_grid, warp

MODEL_SIZE = 64


def rate(function, seconds: float) -> tuple[float, float]:
    """Calls of ``function`` per second (wall clock, CPU time), over about ``seconds`` after one warm-up call."""
    function()
    calls, start, start_cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        function()
        calls += 1
    return calls / (time.perf_counter() - start), calls / max(time.process_time() - start_cpu, 1e-9)


def target_landmarks(count: int, seed: int = 0) -> np.ndarray:
    """``count`` seeded random head poses and expressions of the mean face, ``(count, 68, 2)`` at 64²."""
    rng = np.random.default_rng(seed)
    faces = []
    for _ in range(count):
        pose = Pose(*rng.uniform([-25, -15, -10], [25, 15, 10]))
        expression = Expression(mouth_open=rng.uniform(0, 1), smile=rng.uniform(-0.5, 1), blink=rng.uniform(0, 1))
        faces.append(mean_face_landmarks(pose, expression, MODEL_SIZE))
    return np.stack(faces).astype(np.float32)


def warps(size: int, batch: int, source64: np.ndarray, targets64: np.ndarray) -> dict:
    """The timed calls at frame side ``size``, ``batch`` frames each: ``{kind: function}``."""
    frames = torch.rand(batch, 3, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1   # (B, 3, S, S)
    source = torch.from_numpy(resize_landmarks(source64, MODEL_SIZE, size))                      # (68, 2)
    targets = torch.from_numpy(resize_landmarks(targets64, MODEL_SIZE, size))                    # (T, 68, 2)
    source_model, targets_model = torch.from_numpy(source64), torch.from_numpy(targets64)
    starts = itertools.cycle(range(0, len(targets) - batch + 1, batch))       # a new set of targets every call

    @torch.no_grad()
    def own_size():
        first = next(starts)
        spline = fit_tps(source, targets[first:first + batch], size)                # B splines
        return warp(frames, spline_grid(spline, size))                            # (B, S, S, 2) grids → frames

    @torch.no_grad()
    def highres():
        first = next(starts)
        spline = fit_tps(source_model, targets_model[first:first + batch], MODEL_SIZE)
        return warp(frames, resize_grid(spline_grid(spline, MODEL_SIZE), size))  # 64² grids → S² frames

    return {"tps_warp": own_size, **({"tps_warp_highres": highres} if size > MODEL_SIZE else {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="timing budget per measurement")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256], help="frame sides")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8], help="frames per call")
    parser.add_argument("--learned", action="store_true", help="also the learned warping generator and the widget")
    parser.add_argument("--compile", action="store_true", help="with --learned: the widget compiled")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(json.dumps({"kind": "setup", "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "load_average": os.getloadavg()[0]}), flush=True)

    source64 = mean_face_landmarks(size=MODEL_SIZE)                               # (68, 2)
    targets64 = target_landmarks(64)                                              # (64, 68, 2)
    for size, batch in itertools.product(args.sizes, args.batch):
        for kind, function in warps(size, batch, source64, targets64).items():
            wall, cpu = rate(function, args.seconds)
            line = {"kind": kind, "size": size, "batch": batch, "frames_per_s": round(wall * batch, 1),
                    "cpu_frames_per_s": round(cpu * batch, 1), "ms_per_frame": round(1000 / (wall * batch), 2),
                    "load_average": os.getloadavg()[0]}
            if kind == "tps_warp_highres":
                line["grid_size"] = MODEL_SIZE
            print(json.dumps(line), flush=True)
    if args.learned:
        shot, person, paper = one_shot_people()
        for batch in args.batch:
            learned(shot, person, args.seconds, batch)
        widget_rates(paper, person, args.seconds, args.compile)   # the widget draws one frame at a time


def one_shot_people():
    """A held-out synthetic person's first frame as one shot, and its feed-forward person models: the shipped
    warping generator's and the paper model's."""
    from fewshot_lib.data import SyntheticConfig, synthetic_split
    from fewshot_lib.finetune import FinetuneConfig, Shots, finetune, finetune_warp
    from fewshot_lib.pretrained import pretrained_checkpoint
    from fewshot_lib.train.networks import load_networks, load_warping_generator

    (video,) = synthetic_split("heldout", SyntheticConfig(size=MODEL_SIZE, frames=8, heldout_identities=1, videos=1))
    shot = Shots.from_video(video, [0])
    _, warper, D = load_warping_generator(pretrained_checkpoint("warp_cpu64"))
    _, E, G, D_paper = load_networks(pretrained_checkpoint())
    return (shot, finetune_warp(warper, D, shot, FinetuneConfig(epochs=0), progress=False),
            finetune(E, G, D_paper, shot, FinetuneConfig(epochs=0), progress=False))


def learned(shot, person, seconds: float, batch: int) -> None:
    """The learned warping generator's frames at 256², ``batch`` per call (a JSON line)."""
    from fewshot_lib.landmarks import draw_sketches

    big = torch.nn.functional.interpolate(shot.frames, size=256, mode="bicubic", align_corners=False)   # (1, 3, 256, 256)
    targets = target_landmarks(64, seed=1)
    sketches = torch.from_numpy(draw_sketches(targets, MODEL_SIZE)).permute(0, 3, 1, 2).float() / 127.5 - 1
    starts = itertools.cycle(range(0, len(targets) - batch + 1, batch))

    @torch.no_grad()
    def draw():
        first = next(starts)
        return person.forward_high_res(sketches[first:first + batch], torch.from_numpy(targets[first:first + batch]), big)

    wall, cpu = rate(draw, seconds)
    print(json.dumps({"kind": "learned_warp", "size": 256, "grid_size": MODEL_SIZE, "batch": batch,
                      "frames_per_s": round(wall * batch, 1), "cpu_frames_per_s": round(cpu * batch, 1),
                      "load_average": os.getloadavg()[0]}), flush=True)


def widget_rates(paper, person, seconds: float, compile: bool) -> None:
    """The widget's redraw rate with each method (JSON lines)."""
    from fewshot_lib.widgets import PuppetWidget

    widget = PuppetWidget(paper, display_size=256, methods={"warp": person}, compile=compile)
    for method in ("paper", "warp"):
        widget.set_method(method)
        poses = itertools.cycle(np.linspace(-20, 20, 9))
        rate(lambda: widget.update(yaw=next(poses)), seconds)
        print(json.dumps({"kind": "widget", "method": method, "size": MODEL_SIZE, "display": 256, "compiled": compile,
                          "frames_per_s": round(widget.frames_per_second, 1), "load_average": os.getloadavg()[0]}),
              flush=True)


if __name__ == "__main__":
    main()
