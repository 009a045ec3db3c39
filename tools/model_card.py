"""The quality table of a meta-learned checkpoint (issue 6's bar), for the model card in data/README.md.

    python tools/model_card.py fewshot_lib/assets/meta_cpu64.pt --out runs/model_card.json

Held-out synthetic identities, K = 8, feed-forward (no fine-tuning). For each held-out video and
``--targets`` target frames, two ways of choosing the K reference frames:

* ``random``: K random other frames of the target's video (the paper's protocol);
* ``pose-distant``: the K frames farthest in head pose from the target (what reenactment is for).

Compared on SSIM and PSNR with two baselines that need no model: ``nearest pose`` (the reference
frame whose landmarks are closest to the target's, copied) and ``mean frame`` (the pixel mean of
the K frames), and as a yardstick for the background, ``mean colour`` (one flat colour: the mean
of the K frames). The identity swap: G(y_t, ê of another person) against the true x_t. With
``--finetune-epochs``, also the **fine-tuned** person model (paper's FT, fine-tuned on the same K
references; slow: one fine-tuning per target and setting, so use it with ``--videos``).
``tps``: the nearest-pose reference moved onto the target's landmarks by a thin-plate spline (no
learning). With ``--warp CHECKPOINT``, also the learned **warping generator** on the same K references.

Each metric is also split by region, which the synthetic renderer knows exactly: the **person**
(every pixel where the frame differs from the empty room behind it: face, hair, neck, clothes)
and the **background** (the rest). A copy baseline gets the static room for free; the model must
redraw it from ê through AdaIN. SSIM of a region averages the SSIM map over the windows centred in it.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from fewshot_lib.data import default_config, synthetic_split
from fewshot_lib.data.synthetic.render import render_backdrop
from fewshot_lib.evaluate import mean_frame, nearest_pose_frames, reference_frames, ssim_map
from fewshot_lib.finetune import FinetuneConfig, Shots, embed_person, finetune
from fewshot_lib.losses import LossWeights, build_content_loss
from fewshot_lib.train.meta import load_networks, load_warping_generator
from fewshot_lib.warping import tps_warp

METHODS = ("model", "nearest pose", "tps", "mean frame", "mean colour", "identity swap")
REGIONS = ("frame", "person", "background")
WINDOW = 11                                   # SSIM's window: its map is (S − 10) × (S − 10)


def person_mask(video, target: int) -> np.ndarray:
    """Pixels of frame ``target`` that show the person (they differ from the empty room): bool ``(S, S)``."""
    room = render_backdrop(video.identity, video.scene, video.size).astype(np.int16)
    return np.abs(video.frame(target).astype(np.int16) - room).max(axis=-1) > 8


def region_scores(x: torch.Tensor, truth: torch.Tensor, person: np.ndarray) -> dict[str, float]:
    """SSIM and PSNR of one image ``x`` (1, 3, S, S) against ``truth`` over the whole frame, the person, the background."""
    ssim_local = ssim_map(x, truth)[0].numpy()                                 # (S − 10, S − 10)
    centre = person[WINDOW // 2:-(WINDOW // 2), WINDOW // 2:-(WINDOW // 2)]   # the pixel each window is centred on
    squared_error = (((x - truth).double() / 2) ** 2).mean(dim=1)[0].numpy()   # (S, S) on the [0, 1] scale
    scores = {}
    for region, inside, inside_centre in (("frame", np.ones_like(person), np.ones_like(centre)),
                                          ("person", person, centre), ("background", ~person, ~centre)):
        scores[f"SSIM {region}"] = float(ssim_local[inside_centre].mean())
        scores[f"PSNR {region}"] = float(10 * np.log10(1 / max(squared_error[inside].mean(), 1e-10)))
    return scores


def tps_nearest(shots: Shots, landmarks: np.ndarray) -> torch.Tensor:
    """The nearest-pose shot warped by a TPS from its landmarks onto the target's ``(1, 68, 2)``."""
    nearest = np.linalg.norm(landmarks[:, None] - shots.landmarks[None], axis=-1).mean(-1).argmin(axis=1)[0]
    return tps_warp(shots.frames[nearest:nearest + 1], shots.landmarks[nearest], landmarks[0])


def warped(warper, shots: Shots, truth: Shots) -> torch.Tensor:
    """The warping generator's x̂ for the target pose of ``truth`` from the K ``shots``."""
    x_hat, _ = warper(shots.frames[None], shots.sketches[None], truth.sketches,
                      torch.from_numpy(shots.landmarks)[None], torch.from_numpy(truth.landmarks))
    return x_hat


@torch.no_grad()
def evaluate(checkpoint: str, targets: int, k: int, seed: int, videos: int | None = None,
             finetune_epochs: int = 0, warp: str | None = None) -> dict:
    model_cfg, E, G, D = load_networks(checkpoint)
    warper = load_warping_generator(warp)[1] if warp else None
    size = model_cfg.image_size
    videos = synthetic_split("heldout", replace(default_config(), size=size))[:videos]
    finetune_cfg = FinetuneConfig.from_checkpoint(checkpoint, epochs=finetune_epochs)
    content, _ = build_content_loss(LossWeights().feed_forward(), finetune_cfg.content_fallback)
    methods = METHODS + (("fine-tuned",) if finetune_epochs else ()) + (("warp",) if warp else ())
    people = [embed_person(E, Shots.from_video(v, np.random.default_rng(seed + i).choice(len(v), k, replace=False)))
              for i, v in enumerate(videos)]
    scores = {(s, m): [] for s in ("random", "pose-distant") for m in methods}
    for i, video in enumerate(videos):
        for target in np.random.default_rng(seed + i).choice(len(video), size=targets, replace=False):
            truth = Shots.from_video(video, [int(target)])
            person = person_mask(video, int(target))
            for setting in ("random", "pose-distant"):
                shots = Shots.from_video(video, reference_frames(video, int(target), k, setting, seed + i))
                other = people[(i + len(videos) // 2) % len(videos)]          # someone else (another identity)
                outputs = {"model": G(truth.sketches, embed_person(E, shots)[None]),
                           "nearest pose": nearest_pose_frames(shots, truth.landmarks),
                           "tps": tps_nearest(shots, truth.landmarks),
                           "mean frame": mean_frame(shots, 1),
                           "mean colour": shots.frames.mean(dim=(0, 2, 3))[None, :, None, None].expand_as(truth.frames),
                           "identity swap": G(truth.sketches, other[None])}
                if finetune_epochs:
                    tuned = finetune(E, G, D, shots, finetune_cfg, progress=False, content=content)   # the paper's FT
                    outputs["fine-tuned"] = tuned(truth.sketches)
                if warper is not None:
                    outputs["warp"] = warped(warper, shots, truth)
                for method, x in outputs.items():
                    scores[setting, method].append(region_scores(x, truth.frames, person))
    return {"checkpoint": str(checkpoint), "warp": warp, "videos": len(videos), "targets_per_video": targets, "k": k,
            "finetune_epochs": finetune_epochs,
            "table": {f"{s} / {m}": {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}
                      for (s, m), rows in scores.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--targets", type=int, default=4, help="target frames per held-out video")
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--videos", type=int, default=None, help="only the first N held-out videos (default: all 80)")
    parser.add_argument("--finetune-epochs", type=int, default=0, help="also fine-tune on the K references (0: no)")
    parser.add_argument("--warp", default=None, help="also the warping generator of this checkpoint")
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args()
    result = evaluate(args.checkpoint, args.targets, args.k, args.seed, args.videos, args.finetune_epochs, args.warp)
    print(f"{result['videos']} held-out videos × {args.targets} targets, K = {args.k}")
    print("| references | method | " + " | ".join(f"SSIM {r} | PSNR {r} (dB)" for r in REGIONS) + " |")
    print("|---|---|" + "---|---|" * len(REGIONS))
    for name, row in result["table"].items():
        setting, method = name.split(" / ")
        print(f"| {setting} | {method} | " + " | ".join(f"{row[f'SSIM {r}']:.3f} | {row[f'PSNR {r}']:.2f}"
                                                        for r in REGIONS) + " |")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
