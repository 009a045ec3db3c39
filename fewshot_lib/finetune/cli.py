"""``fewshot finetune``: a person model from a photo or a folder of frames, from the command line."""
from __future__ import annotations

import time
from dataclasses import fields
from typing import Any

import numpy as np

from ..errors import output_path
from ..flags import add_flags, at_least_int
from ..landmarks import NoFaceError, crop_face, detect, load_image
from .shots import Shots
from .tuner import INHERITED, FinetuneConfig, finetune


def add_finetune_command(subcommands) -> None:
    from ..config import pick

    p = subcommands.add_parser("finetune", help="make a person model from a few frames or one photo",
                               description="Fine-tune the meta-learned G and D on T frames of a new person "
                                           "(paper, FT variant; --epochs 0 gives the feed-forward model) and "
                                           "save the person model (safetensors).")
    p.add_argument("--checkpoint", default=None, help="meta-learning checkpoint (default: the shipped meta_cpu64)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--frames", nargs="+", help="face images of one person (PNG/JPEG; landmarks are detected)")
    source.add_argument("--photo", help="one photo of a person (landmarks detected, face cropped)")
    source.add_argument("--synthetic", type=at_least_int(0), metavar="N", help="held-out synthetic person N (built in)")
    p.add_argument("--shots", type=at_least_int(1), default=8,
                   help="with --synthetic: T frames of its first video (default 8)")
    p.add_argument("--out", required=True, help="the person model file to write (e.g. person.safetensors)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument("--backend", default="dlib", help="landmark detector for --frames/--photo (default: dlib)")
    add_flags(p, FinetuneConfig, defaults={"epochs": pick(full=40, smoke=2)}, inherited=INHERITED,
              inherited_from="the meta-learning run's, as in the paper")
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: FEWSHOT_DEVICE or auto)")
    p.set_defaults(run=_run_finetune)


def _cli_shots(args, size: int) -> tuple[Shots, dict[str, Any]]:
    """The shots the command line asked for, and a note of where they came from."""
    if args.photo:
        return Shots.from_photo(args.photo, size, args.backend), {"source": "photo", "path": str(args.photo)}
    if args.frames:
        crops = []
        for path in args.frames:
            image = load_image(path)
            try:
                crops.append(crop_face(image, detect(image, args.backend), size=size))
            except NoFaceError as error:
                raise NoFaceError(f"{path}: {error}") from error      # name the user's file, not an array
        shots = Shots.from_images([c for c, _ in crops], np.stack([p for _, p in crops]), size)
        return shots, {"source": "frames", "paths": [str(p) for p in args.frames]}
    from ..data import SyntheticConfig, synthetic_split

    config = SyntheticConfig(size=size, frames=max(32, args.shots), heldout_identities=args.synthetic + 1, videos=1)
    video = synthetic_split("heldout", config)[args.synthetic]
    return Shots.from_video(video, range(args.shots)), {"source": "synthetic", "identity": video.identity.index}


def cli_overrides(args) -> dict[str, Any]:
    """The fine-tuning settings given on the command line (``None``: the meta-learning run's)."""
    return {f.name: getattr(args, f.name) for f in fields(FinetuneConfig) if getattr(args, f.name, None) is not None}


def _run_finetune(args) -> int:
    from ..config import get_device
    from ..pretrained import pretrained_checkpoint
    from ..train.networks import load_networks

    out = output_path(args.out, args.overwrite)             # before minutes of fine-tuning, not after
    checkpoint = args.checkpoint or pretrained_checkpoint()
    model_cfg, E, G, D = load_networks(checkpoint, get_device(args.device))
    shots, source = _cli_shots(args, model_cfg.image_size)
    cfg = FinetuneConfig.from_checkpoint(checkpoint, **cli_overrides(args))
    start = time.perf_counter()
    person = finetune(E, G, D, shots, cfg, info={**source, "checkpoint": str(checkpoint)})
    path = person.save(out)
    print(f"fine-tuned {len(shots)} shot(s) for {cfg.epochs} epochs in {time.perf_counter() - start:.1f} s\n"
          f"person model: {path}")
    return 0
