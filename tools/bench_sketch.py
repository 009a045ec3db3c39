"""How fast is the landmark sketch? Sketches per second, one core, at several sizes.

    OMP_NUM_THREADS=1 python tools/bench_sketch.py [--seconds 2] [--batch 64]

The landmarks are a real face (the astronaut portrait, dlib backend, cropped to each size)
with small seeded jitter per sketch, so every sketch draws different, realistic polylines.
"""
from __future__ import annotations

import argparse
import itertools
import time

import cv2
import numpy as np
import skimage.data

from fewshot_lib.landmarks import crop_face, detect, draw_sketch, draw_sketches


def rate(function, seconds: float) -> float:
    """Calls of ``function`` per second, timed over about ``seconds`` after one warm-up call."""
    function()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        function()
        calls += 1
    return calls / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="timing budget per measurement")
    parser.add_argument("--batch", type=int, default=64, help="batch size for draw_sketches")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256, 512])
    args = parser.parse_args()
    cv2.setNumThreads(1)

    image = skimage.data.astronaut()
    points = detect(image, backend="dlib")
    rng = np.random.default_rng(0)
    print(f"{'size':>5} {'draw_sketch /s':>15} {'draw_sketches /s':>17}  (batch {args.batch}, one core)")
    for size in args.sizes:
        _, face = crop_face(image, points, size=size)                                    # (68, 2)
        batch = face + rng.normal(0, size / 256, (args.batch, 68, 2)).astype(np.float32)  # (B, 68, 2)
        single = itertools.cycle(batch)
        one = rate(lambda: draw_sketch(next(single), size), args.seconds)
        many = rate(lambda: draw_sketches(batch, size), args.seconds) * args.batch
        print(f"{size:>5} {one:>15,.0f} {many:>17,.0f}")


if __name__ == "__main__":
    main()
