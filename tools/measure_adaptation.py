"""How much of the driver's face shape leaks into puppeteering, raw vs adapted landmarks (issue 7, notebook 09).

For held-out synthetic people the exact answer is known (``cross_reenactment``: the source's
person making the driver's motion), so the driving landmarks can be compared with the true
ones. Pair i drives person i with person i + 1; the source's landmarks are its T shots spread
over its video, as in notebook 09. Landmarks only: no checkpoint is involved.

    python tools/measure_adaptation.py --pairs 10 --frames 48 --shots 8
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from fewshot_lib.evaluate import cross_reenactment, heldout_videos, identity_leak
from fewshot_lib.puppeteer import adapt_landmarks, neutral_frame


def leak_of_pair(source, driver, frames: int, shots: int) -> dict[str, dict[str, float]]:
    """identity_leak of raw and adapted driving landmarks for one source/driver pair."""
    chosen = np.linspace(0, len(source) - 1, shots).astype(int)
    source_points = source.landmarks[chosen]                                   # (T, 68, 2): what a person model keeps
    raw = driver.landmarks[:frames]                                            # (F, 68, 2): the paper's driving
    adapted = adapt_landmarks(raw, raw[neutral_frame(raw)], source_points[neutral_frame(source_points)])
    _, truth = cross_reenactment(source, driver, range(frames))                # (F, 68, 2): the exact answer
    return {"raw": identity_leak(raw, truth), "adapted": identity_leak(adapted, truth)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=10)
    p.add_argument("--frames", type=int, default=48)
    p.add_argument("--shots", type=int, default=8)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--json", default=None, help="also write the per-pair numbers here")
    args = p.parse_args()

    videos = heldout_videos(args.size, max(args.frames, args.shots), identities=args.pairs + 1)
    pairs = [leak_of_pair(videos[i], videos[i + 1], args.frames, args.shots) for i in range(args.pairs)]
    print(f"{args.pairs} pairs of held-out people, {args.frames} frames, {args.shots} shots, {args.size} px "
          "(mean ± standard error; 'lower' counts the pairs where adaptation beats raw)")
    for metric in pairs[0]["raw"]:
        values = {mode: np.array([pair[mode][metric] for pair in pairs]) for mode in ("raw", "adapted")}
        se = {mode: v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else float("nan") for mode, v in values.items()}
        lower = int((values["adapted"] < values["raw"]).sum())
        print(f"  {metric:<17} raw {values['raw'].mean():.3f} ± {se['raw']:.3f}   "
              f"adapted {values['adapted'].mean():.3f} ± {se['adapted']:.3f}   lower in {lower} of {len(pairs)}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(pairs, f, indent=2)


if __name__ == "__main__":
    main()
