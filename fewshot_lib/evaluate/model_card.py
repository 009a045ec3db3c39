"""The quality table of a meta-learned checkpoint (issue 6's bar), for the model card in data/README.md.

    fewshot model-card fewshot_lib/assets/meta_cpu64.pt --out runs/model_card.json

Held-out synthetic identities, K = 8, feed-forward (no fine-tuning). For each held-out video and
``targets`` target frames, two ways of choosing the K reference frames
(:func:`~fewshot_lib.evaluate.references.reference_frames`):

* ``random``: K random other frames of the target's video (the paper's protocol, Zakharov et al.
  2019, Sec. 4.1);
* ``pose-distant``: the K frames farthest in head pose from the target (what reenactment is for).

Compared on SSIM and PSNR with the baselines that need no model
(:mod:`~fewshot_lib.evaluate.baselines`): ``nearest pose`` (the reference frame whose landmarks
are closest to the target's, copied), ``tps`` (that frame moved onto the target's landmarks by a
thin-plate spline, no learning), ``mean frame`` (the pixel mean of the K frames), and as a
yardstick for the background, ``mean colour`` (one flat colour: the mean of the K frames). The
identity swap: G(y_t, ê of another person) against the true x_t. With ``finetune_epochs``, also
the **fine-tuned** person model (paper's FT, Sec. 3.3, fine-tuned on the same K references;
slow: one fine-tuning per target and setting, so use it with ``videos``). With ``warp``, also
the learned **warping generator** (notebook 10) on the same K references.

Each metric is also split by region, which the synthetic renderer knows exactly: the **person**
(every pixel where the frame differs from the empty room behind it: face, hair, neck, clothes)
and the **background** (the rest). A copy baseline gets the static room for free; the model must
redraw it from ê through AdaIN. SSIM of a region averages the SSIM map over the windows centred
in it (:func:`region_scores`). :func:`make_model_card` measures, :func:`format_model_card` prints; the
shipped checkpoint's card is in notebook 06 and data/README.md.
"""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ..flags import at_least_int
from ..data import default_config, synthetic_split
from ..data.synthetic.render import render_backdrop
from ..finetune import FinetuneConfig, Shots, embed_person, finetune, finetune_warp
from ..losses import LossWeights, build_content_loss
from .baselines import mean_colour, mean_frame, nearest_pose_frames, tps_nearest_frame
from .metrics import EvaluationError, ssim_map
from .references import reference_frames

METHODS = ("model", "nearest pose", "tps", "mean frame", "mean colour", "identity swap")
"""The rows of every card; ``"fine-tuned"`` and ``"warp"`` follow when asked for."""
SETTINGS = ("random", "pose-distant")
REGIONS = ("frame", "person", "background")
WINDOW = 11                                   # SSIM's window: its map is (S − 10) × (S − 10)


def person_mask(video, target: int) -> np.ndarray:
    """Pixels of frame ``target`` that show the person (they differ from the empty room): bool ``(S, S)``."""
    room = render_backdrop(video.identity, video.scene, video.size).astype(np.int16)
    return np.abs(video.frame(target).astype(np.int16) - room).max(axis=-1) > 8


def region_scores(x: torch.Tensor, truth: torch.Tensor, person: np.ndarray) -> dict[str, float]:
    """SSIM and PSNR of one image ``x`` (1, 3, S, S) against ``truth`` over the whole frame, the person, the
    background."""
    ssim_local = ssim_map(x, truth)[0].numpy()                                 # (S − 10, S − 10)
    centre = person[WINDOW // 2:-(WINDOW // 2), WINDOW // 2:-(WINDOW // 2)]   # the pixel each window is centred on
    squared_error = (((x - truth).double() / 2) ** 2).mean(dim=1)[0].numpy()   # (S, S) on the [0, 1] scale
    scores = {}
    for region, inside, inside_centre in (("frame", np.ones_like(person), np.ones_like(centre)),
                                          ("person", person, centre), ("background", ~person, ~centre)):
        scores[f"SSIM {region}"] = float(ssim_local[inside_centre].mean())
        scores[f"PSNR {region}"] = float(10 * np.log10(1 / max(squared_error[inside].mean(), 1e-10)))
    return scores


def warped(warper, shots: Shots, truth: Shots) -> torch.Tensor:
    """The warping generator's x̂ for the target pose of ``truth`` from the K ``shots``."""
    x_hat, _ = warper(shots.frames[None], shots.sketches[None], truth.sketches,
                      torch.from_numpy(shots.landmarks)[None], torch.from_numpy(truth.landmarks))
    return x_hat


def warped_from_nearest(warper, D, shots: Shots, truth: Shots, nearest: int) -> torch.Tensor:
    """What a live widget of the K ``shots`` draws: their feed-forward warping person model, drawing the target
    pose of ``truth`` from the ``nearest`` shots closest to it (ψ′ still from all K)."""
    person = finetune_warp(warper, D, shots, FinetuneConfig(epochs=0), progress=False)
    person.nearest = nearest
    return person(truth.sketches, torch.from_numpy(truth.landmarks))


def _check_settings(targets: int, k: int, videos: int | None, finetune_epochs: int, frames: int) -> None:
    if not 1 <= targets <= frames:
        raise EvaluationError(f"targets={targets}: choose 1 to {frames} target frames per video ({frames} frames)")
    if not 1 <= k < frames:
        raise EvaluationError(f"k={k}: choose 1 to {frames - 1} reference frames (videos of {frames} frames)")
    if videos is not None and videos < 1:
        raise EvaluationError(f"videos={videos}: choose at least one held-out video (or all of them: None)")
    if finetune_epochs < 0:
        raise EvaluationError(f"finetune_epochs={finetune_epochs}: choose 0 (no fine-tuning) or more")


@torch.no_grad()
def make_model_card(checkpoint: str | Path, targets: int = 4, k: int = 8, seed: int = 0, videos: int | None = None,
               finetune_epochs: int = 0, warp: str | Path | None = None, validation: bool = False,
               nearest: int = 0) -> dict:
    """The card of a meta-learning ``checkpoint``: for each reference setting and method, the mean SSIM and PSNR
    per region over ``targets`` targets of each of the first ``videos`` held-out videos (all when None).
    The videos are the dataset's 32 frames long, or 2K for K > 16 (the same 32 frames, then more of the
    same motion), so that the K pose-distant frames are not simply all the others.
    ``validation``: the next held-out people instead (as many, never trained on, not the card's): the
    people to choose between checkpoints on, so that the card's own people stay a test. ``nearest`` (with
    ``warp``): also the warping person model drawing each target from its ``nearest`` closest references.

    Returns the settings and ``table``: ``{"random / model": {"SSIM frame": ..., "PSNR person": ...}, ...}``.
    Raises :class:`~fewshot_lib.train.checkpoint.CheckpointError` for a missing or unreadable checkpoint and
    :class:`EvaluationError` for settings the held-out videos cannot give.
    """
    from ..train.networks import load_networks, load_warping_generator

    frames = max(default_config().frames, 2 * k)      # K ≤ half the video: pose-distant K ≠ random K
    _check_settings(targets, k, videos, finetune_epochs, frames)
    if nearest and not warp:
        raise EvaluationError(f"nearest={nearest}: a setting of the warping generator: give its checkpoint (--warp)")
    model_cfg, E, G, D = load_networks(checkpoint)
    _, warper, D_warp = load_warping_generator(warp) if warp else (None, None, None)
    size = model_cfg.image_size
    config = replace(default_config(), size=size, frames=frames)
    if validation:                                  # people H … 2H − 1 of the held-out range: after the card's 0 … H − 1
        config = replace(config, heldout_identities=2 * config.heldout_identities)
    heldout = synthetic_split("heldout", config)
    videos = (heldout[len(heldout) // 2:] if validation else heldout)[:videos]
    finetune_cfg = FinetuneConfig.from_checkpoint(checkpoint, epochs=finetune_epochs)
    content, _ = build_content_loss(LossWeights().feed_forward(), finetune_cfg.content_fallback)
    nearest_name = f"warp, {nearest} nearest"
    methods = (METHODS + (("fine-tuned",) if finetune_epochs else ()) + (("warp",) if warp else ())
               + ((nearest_name,) if nearest else ()))
    people = [embed_person(E, Shots.from_video(v, np.random.default_rng(seed + i).choice(len(v), k, replace=False)))
              for i, v in enumerate(videos)]
    scores = {(s, m): [] for s in SETTINGS for m in methods}
    for i, video in enumerate(videos):
        for target in np.random.default_rng(seed + i).choice(len(video), size=targets, replace=False):
            truth = Shots.from_video(video, [int(target)])
            person = person_mask(video, int(target))
            for setting in SETTINGS:
                shots = Shots.from_video(video, reference_frames(video, int(target), k, setting, seed + i))
                other = people[(i + len(videos) // 2) % len(videos)]          # someone else (another identity)
                outputs = {"model": G(truth.sketches, embed_person(E, shots)[None]),
                           "nearest pose": nearest_pose_frames(shots, truth.landmarks),
                           "tps": tps_nearest_frame(shots, truth.landmarks),
                           "mean frame": mean_frame(shots, 1),
                           "mean colour": mean_colour(shots, 1),
                           "identity swap": G(truth.sketches, other[None])}
                if finetune_epochs:
                    tuned = finetune(E, G, D, shots, finetune_cfg, progress=False, content=content)   # the paper's FT
                    outputs["fine-tuned"] = tuned(truth.sketches)
                if warper is not None:
                    outputs["warp"] = warped(warper, shots, truth)
                if nearest:
                    outputs[nearest_name] = warped_from_nearest(warper, D_warp, shots, truth, nearest)
                for method, x in outputs.items():
                    scores[setting, method].append(region_scores(x, truth.frames, person))
    return {"checkpoint": str(checkpoint), "warp": None if warp is None else str(warp), "videos": len(videos),
            "people": "validation" if validation else "test", "frames_per_video": frames,
            "targets_per_video": targets, "k": k, "finetune_epochs": finetune_epochs, "nearest": nearest,
            "table": {f"{s} / {m}": {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}
                      for (s, m), rows in scores.items()}}


def format_model_card(card: dict) -> str:
    """The card as ``fewshot model-card`` prints it: a Markdown table, one row per (references, method)."""
    people = " (validation people)" if card.get("people") == "validation" else ""
    lines = [f"{card['videos']} held-out videos{people} × {card['targets_per_video']} targets, K = {card['k']}",
             "| references | method | " + " | ".join(f"SSIM {r} | PSNR {r} (dB)" for r in REGIONS) + " |",
             "|---|---|" + "---|---|" * len(REGIONS)]
    for name, row in card["table"].items():
        setting, method = name.split(" / ")
        lines.append(f"| {setting} | {method} | " + " | ".join(f"{row[f'SSIM {r}']:.3f} | {row[f'PSNR {r}']:.2f}"
                                                               for r in REGIONS) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ command line
def add_model_card_command(subcommands) -> None:
    p = subcommands.add_parser(
        "model-card", help="the quality table of a meta-learning checkpoint (the model card in data/README.md)",
        description="Score a meta-learning checkpoint on held-out synthetic people, feed-forward, with random and "
                    "pose-distant reference frames, against baselines that need no model (nearest pose, TPS, mean "
                    "frame, mean colour) and an identity swap; SSIM and PSNR over the frame, the person and the "
                    "background.")
    p.add_argument("checkpoint", help="meta-learning checkpoint (e.g. fewshot_lib/assets/meta_cpu64.pt)")
    p.add_argument("--targets", type=at_least_int(1), default=4, help="target frames per held-out video (default: 4)")
    p.add_argument("--k", type=at_least_int(1), default=8, help="reference frames per target (default: 8)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--videos", type=at_least_int(1), default=None,
                   help="only the first N held-out videos (default: all 80)")
    p.add_argument("--finetune-epochs", type=at_least_int(0), default=0,
                   help="also fine-tune on the K references (0: no)")
    p.add_argument("--warp", default=None, help="also the warping generator of this checkpoint")
    p.add_argument("--validation", action="store_true",
                   help="other held-out people than the card's: for choosing between checkpoints")
    p.add_argument("--nearest", type=at_least_int(1), default=0,
                   help="with --warp: also the warping person model drawing each target from its N references "
                        "nearest in pose (what notebook 09's widget does with many shots)")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    p.add_argument("--overwrite", action="store_true", help="replace the --out file if it exists")
    p.set_defaults(run=_run_model_card)


def _run_model_card(args: argparse.Namespace) -> int:
    from ..errors import output_path
    from .report import write_json

    out = output_path(args.out, args.overwrite) if args.out else None    # before minutes of measuring
    card = make_model_card(args.checkpoint, args.targets, args.k, args.seed, args.videos, args.finetune_epochs,
                           args.warp, args.validation, args.nearest)
    print(format_model_card(card))
    if out is not None:
        write_json(out, card)
    return 0
