"""``fewshot detect FILE…`` and ``fewshot detector-train``: the detector from the command line.

``detect`` prints, for each image or video, the probability that its frames were generated, then
the detector's limits. ``detector-train`` makes the frames, trains a detector, measures it on
held-out people (clean and after JPEG, resizing and H.264) and saves it; the shipped detector is::

    fewshot detector-train --out fewshot_lib/assets/detector_cpu64.safetensors --overwrite

Introduced in notebook 11.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import asdict

from ..errors import output_path
from ..flags import add_flags, at_least_int, from_flags
from .detect import LIMITS, check_input, detect
from .evaluate import cross_generator, format_table, robustness
from .frames import FramesConfig, build_frames, default_frames_config
from .generators import GENERATORS
from .model import load_detector
from .train import DetectorConfig, default_detector_config, train_detector


def add_detect_command(subcommands) -> None:
    p = subcommands.add_parser(
        "detect", help="the probability that each image or video was generated (a small CNN; read its limits)",
        description="Score images and videos with the course's fake-frame detector: the probability that the "
                    "frames were generated, averaged over a video's first frames. " + LIMITS)
    p.add_argument("files", nargs="+", metavar="FILE", help="images (.png, .jpg, …) or videos (.mp4, .gif, …)")
    p.add_argument("--detector", default=None,
                   help="a detector file from `fewshot detector-train` (default: the shipped one)")
    p.add_argument("--max-frames", type=at_least_int(1), default=64, help="frames scored per video (default: 64)")
    p.set_defaults(run=_run_detect)


def _run_detect(args: argparse.Namespace) -> int:
    paths = [check_input(path) for path in args.files]          # every name checked before any work
    detector, _ = load_detector(args.detector)
    for path in paths:
        result = detect(detector, path, args.max_frames)
        frames = "1 frame" if result.frames == 1 else f"{result.frames} frames"
        print(f"{path}: p(fake) = {result.probability:.2f} ({frames})")
    print(LIMITS)
    return 0


def add_detector_train_command(subcommands) -> None:
    p = subcommands.add_parser(
        "detector-train", help="train the fake-frame detector and measure it on held-out people",
        description="Make real and generated frames of synthetic people (training people for training, held-out "
                    "people for testing), train the detector, print its AUC per generator on the held-out "
                    "frames, clean and after JPEG 50, resizing to 50%% and back, and H.264; save it as safetensors.")
    p.add_argument("--out", required=True, help="where to save the detector (.safetensors)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--generators", nargs="+", choices=GENERATORS, default=list(GENERATORS),
                   help="the generators whose fakes it trains on (default: all)")
    p.add_argument("--cross", action="store_true",
                   help="also train one detector per generator and print the cross-generator table")
    add_flags(p, FramesConfig, defaults=asdict(default_frames_config()))
    add_flags(p, DetectorConfig, defaults=asdict(default_detector_config()))
    p.set_defaults(run=_run_detector_train)


def _run_detector_train(args: argparse.Namespace) -> int:
    frames_cfg, cfg = from_flags(FramesConfig, args), from_flags(DetectorConfig, args)
    out = output_path(args.out, args.overwrite)                  # checked before any work
    start = time.perf_counter()
    train = build_frames("train", frames_cfg, GENERATORS, progress=True)
    test = build_frames("heldout", frames_cfg, GENERATORS, progress=True)
    made = time.perf_counter()
    detector = train_detector(*train.labelled(args.generators), cfg)
    trained = time.perf_counter()
    table = robustness(detector, test)
    print(f"frames made in {made - start:.0f} s, detector trained in {trained - made:.0f} s; AUC on held-out "
          f"people (trained on {', '.join(args.generators)}):")
    print(format_table(table, "AUC"))
    if args.cross:
        print("AUC, trained on (rows) / tested on (columns), clean frames:")
        print(format_table(cross_generator(train, test, cfg), "trained on"))
    detector.save(out, {"generators": list(args.generators), "frames": asdict(frames_cfg), "train": asdict(cfg),
                        "heldout_auc": table, "train_seconds": round(trained - made, 1)})
    print(f"saved {out}")
    return 0
