"""Does the offline replacement of L_CNT help? Train the same model with each fallback, compare.

    python tools/ablate_content_loss.py --preset cpu64 --steps 400 --data runs/synth64/train

Trains one meta-learning run per ``--fallbacks`` entry (same seed, data and settings; only
what replaces L_CNT differs), then measures self-reenactment of held-out synthetic people:
mean |x̂ − x| and SSIM of the generated target frames. Prints a table and writes JSON.
"""
from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path

import torch

from fewshot_lib.data import VideoDataset, default_config, synthetic_split
from fewshot_lib.evaluate import ssim
from fewshot_lib.models import get_preset
from fewshot_lib.train.meta import MetaTrainer, TrainConfig


def heldout_error(trainer: MetaTrainer, heldout: VideoDataset, episodes: int) -> dict[str, float]:
    # Item i is video i % len(heldout) in "epoch" i // len(heldout): a fixed set of episodes.
    batch = torch.utils.data.default_collate([heldout[i] for i in range(episodes)])
    with torch.no_grad():
        e_hat, _ = trainer.E.eval().embed_frames(batch["frames"], batch["sketches"])
        x_hat = trainer.G.eval()(batch["target_sketch"], e_hat)
    return {"L1": (x_hat - batch["target"]).abs().mean().item(),
            "SSIM": ssim(x_hat, batch["target"]).mean().item()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--fallbacks", nargs="+", default=["pixel", "none"])
    parser.add_argument("--data", default="synthetic", help="'synthetic' or a folder of records (train split)")
    parser.add_argument("--match-weight", type=float, default=0.1, help="λ_MCH (0.1: as the shipped checkpoint)")
    parser.add_argument("--episodes", type=int, default=48, help="held-out episodes to measure")
    parser.add_argument("--out", default=None, help="JSON results file")
    args = parser.parse_args()

    model_cfg = get_preset(args.preset)
    data_cfg = replace(default_config(), size=model_cfg.image_size)
    train = (VideoDataset(synthetic_split("train", data_cfg, cache=True), k=8) if args.data == "synthetic"
             else VideoDataset(args.data, k=8, size=model_cfg.image_size))
    heldout = VideoDataset(synthetic_split("heldout", data_cfg), k=8)
    results = {}
    for fallback in args.fallbacks:
        cfg = TrainConfig(steps=args.steps, content_fallback=fallback, lr_g=2e-4, lr_d=4e-4, match_weight=args.match_weight,
                          sample_every=10**9, checkpoint_every=10**9, log_every=max(1, args.steps // 10))
        trainer = MetaTrainer(model_cfg, cfg, train, Path(tempfile.mkdtemp()), log=lambda *_: None)
        trainer.train(progress=False)
        results[fallback] = heldout_error(trainer, heldout, args.episodes)
        print(f"{fallback:>8}: held-out L1 {results[fallback]['L1']:.4f}  SSIM {results[fallback]['SSIM']:.4f}", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps({"args": vars(args), "results": results}, indent=2))


if __name__ == "__main__":
    main()
