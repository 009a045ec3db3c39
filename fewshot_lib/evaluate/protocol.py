"""The paper's self-reenactment protocol (Zakharov et al. 2019, Sec. 4.1), and ``fewshot evaluate``.

For each held-out video (people the networks never saw): set ``test_frames`` frames aside as
ground truth; the T few-shot frames are the first T of one random order of the other frames (so
the 1 shot is among the 8, and the 8 among the 32: :func:`split_frames`). Make the person model
from the T shots, feed-forward (FF, no fine-tuning) or fine-tuned (FT), draw the test frames from
their own landmarks, and compare them with the true frames (:mod:`~fewshot_lib.evaluate.metrics`).
T ∈ {1, 8, 32}. The baselines ``nearest pose`` and ``mean frame``
(:mod:`~fewshot_lib.evaluate.baselines`) use the same shots and test frames.

:func:`self_reenactment` gives one row per (video, variant, T); :func:`summarize` averages them
per (variant, T); :mod:`~fewshot_lib.evaluate.report` turns the summary into a table, a figure and
the course's quality bar. Introduced in notebook 08. Notebook 07's fine-tuning curve uses
:func:`pose_distant_split` (test frames in head poses far from every shot) and :func:`curve_trend`
(whether a held-out score rose, peaked or fell).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from ..errors import output_path
from ..flags import at_least_int
from ..data import SyntheticConfig, SyntheticVideo, synthetic_split
from ..finetune import FinetuneConfig, Shots, cli_overrides, finetune
from ..losses import LossWeights, build_content_loss
from ..provenance import save_figure
from ..models import Discriminator, Embedder, Generator
from ..viz import to_image
from .baselines import mean_frame, nearest_pose_frames
from .metrics import EvaluationError, IdentityNetwork, csim, fid_from_features, optional_metrics, psnr, ssim

VARIANTS = ("FF", "FT")
"""The person models compared: feed-forward (ê from E only) and fine-tuned (paper, Sec. 3.3)."""
BASELINES = ("nearest pose", "mean frame")
"""The baselines the protocol reports next to them (:mod:`~fewshot_lib.evaluate.baselines`)."""
METRICS = ("SSIM", "PSNR", "CSIM")


@dataclass(frozen=True)
class EvalConfig:
    """The self-reenactment protocol's settings (the paper: T ∈ {1, 8, 32})."""

    shots: tuple[int, ...] = (1, 8, 32)
    test_frames: int = 8                            # ground-truth frames per video, never among the shots
    variants: tuple[str, ...] = VARIANTS + BASELINES
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)   # the FT variant's fine-tuning
    csim: str = "auto"                              # "auto": real faces only; "always"; "never"
    seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "shots", tuple(sorted(int(t) for t in self.shots)))
        object.__setattr__(self, "variants", tuple(self.variants))
        unknown = [v for v in self.variants if v not in VARIANTS + BASELINES]
        if unknown or not self.variants:
            raise EvaluationError(f"variants {list(self.variants)}: choose from {', '.join(VARIANTS + BASELINES)}")
        if not self.shots or self.shots[0] < 1 or self.test_frames < 1:
            raise EvaluationError(f"shots={self.shots}, test_frames={self.test_frames}: need T >= 1 and a test frame")
        if self.csim not in ("auto", "always", "never"):
            raise EvaluationError(f"csim={self.csim!r}: choose 'auto' (real faces only), 'always' or 'never'")

    def frames_needed(self) -> int:
        return self.shots[-1] + self.test_frames


def split_frames(num_frames: int, max_shots: int, test_frames: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(shot_order, test)``: the first T of ``shot_order`` are the T shots; ``test`` are never shots."""
    if num_frames < max_shots + test_frames:
        raise EvaluationError(f"a video of {num_frames} frames cannot give {max_shots} shots and {test_frames} "
                              f"test frames; use longer videos or fewer shots")
    order = np.random.default_rng(seed).permutation(num_frames)
    return order[test_frames:test_frames + max_shots], np.sort(order[:test_frames])


def pose_distant_split(video, max_shots: int, test_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """``(shot_order, test)`` as :func:`split_frames` gives them, but with the test frames in **new poses**.

    Frames next to each other in a video have nearly the same pose, so with a random split most test frames have
    a shot a frame or two away, and a model that fits the shots scores well on them without drawing anything new.
    Here the test frames are the ``test_frames`` frames nearest in head pose
    (:func:`~fewshot_lib.evaluate.references.pose_distance`) to the video's most unusual pose (the frame farthest,
    on average, from all the others); the shots are the ``max_shots`` frames farthest from that pose, farthest
    first (so the first T of ``shot_order`` are the T shots, and the 1 shot is among the 8). Deterministic.
    Introduced in notebook 07.
    """
    if len(video) < max_shots + test_frames:
        raise EvaluationError(f"a video of {len(video)} frames cannot give {max_shots} shots and {test_frames} "
                              f"test frames; use longer videos or fewer shots")
    from .references import pose_distance

    distances = np.stack([pose_distance(video, t) for t in range(len(video))])       # (F, F)
    target = int(np.argmax(distances.mean(axis=1)))                                 # the most unusual pose
    by_distance = np.argsort(distances[target], kind="stable")                      # nearest first
    test = np.sort(by_distance[:test_frames])
    return by_distance[::-1][:max_shots].copy(), test


def curve_trend(values: Sequence[float], tolerance: float = 0.005) -> str:
    """How a score moved over fine-tuning, from its first value (the feed-forward model) to its last:

    ``"rose"`` (ends above its start and within ``tolerance`` of its best), ``"peaked"`` (rose by more than
    ``tolerance``, then fell back by more than ``tolerance`` from its best: over-fitting, on held-out frames),
    ``"fell"`` (never above its start by more than ``tolerance``, ends below it by more) or ``"flat"`` (none of these
    moves exceeds ``tolerance``). Introduced in notebook 07.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or len(values) < 2 or not np.isfinite(values).all():
        raise EvaluationError(f"curve_trend needs two or more finite values; got {values.tolist()}")
    start, best, end = values[0], values.max(), values[-1]
    if best > start + tolerance:
        return "peaked" if end < best - tolerance else "rose"
    return "fell" if end < start - tolerance else "flat"


def is_synthetic(video) -> bool:
    return getattr(video, "meta", {}).get("source") == "synthetic"


def heldout_videos(size: int, frames: int, identities: int, seed: int = 0) -> list[SyntheticVideo]:
    """The first video of each of ``identities`` held-out synthetic people, ``frames`` long, ``size`` pixels."""
    config = SyntheticConfig(size=size, frames=frames, heldout_identities=identities, videos=1, seed=seed)
    return synthetic_split("heldout", config)


@dataclass
class Measurement:
    """The test frames of one video as seen by one method, for the metrics."""

    real: torch.Tensor          # (B, 3, S, S) in [-1, 1]
    fake: torch.Tensor          # (B, 3, S, S)
    landmarks: np.ndarray       # (B, 68, 2)


def measure(m: Measurement, identity: IdentityNetwork | None, extra: dict[str, Callable]) -> dict[str, float]:
    """Mean SSIM, PSNR (and CSIM, LPIPS when given) of one measurement."""
    values = {"SSIM": float(ssim(m.fake, m.real).mean()), "PSNR": float(psnr(m.fake, m.real).mean())}
    if identity is not None:
        real = np.stack([to_image(x) for x in m.real])
        fake = np.stack([to_image(x) for x in m.fake])
        values["CSIM"] = float(csim(identity, real, fake, m.landmarks).mean())
    if "LPIPS" in extra:
        values["LPIPS"] = float(extra["LPIPS"](m.fake, m.real).mean())
    return values


def self_reenactment(E: Embedder, G: Generator, D: Discriminator, videos: Sequence, cfg: EvalConfig = EvalConfig(),
                     progress: bool = True, log=print) -> list[dict[str, Any]]:
    """The protocol on ``videos``: one row per (video, variant, T) with its metrics and seconds.

    Baseline rows ("nearest pose", "mean frame") use the same shots and test frames.
    ``log`` receives one line per skipped metric (and why).
    """
    from tqdm.auto import tqdm

    videos = list(videos)
    short = [len(v) for v in videos if len(v) < cfg.frames_needed()]
    if not videos or short:
        raise EvaluationError(f"every video needs {cfg.frames_needed()} frames (T = {cfg.shots[-1]} shots + "
                              f"{cfg.test_frames} test frames); got {len(videos)} videos, "
                              f"lengths {short[:5]} too short")
    synthetic = all(is_synthetic(v) for v in videos)
    use_csim = cfg.csim == "always" or (cfg.csim == "auto" and not synthetic)
    identity = IdentityNetwork() if use_csim else None
    if not use_csim:
        log("CSIM skipped: " + ("the videos are synthetic, and dlib's identity network was trained on real "
                                "faces only" if cfg.csim == "auto" else "csim='never'"))
    extra, skipped = optional_metrics()
    for name, reason in skipped.items():
        log(f"{name} skipped: {reason}")
    content, _ = build_content_loss(LossWeights().feed_forward(), cfg.finetune.content_fallback)
    size = G.cfg.image_size
    rows, fid_sets = [], {}
    jobs = [(v, T) for v in range(len(videos)) for T in cfg.shots]
    for v, T in tqdm(jobs, disable=not progress, desc="self-reenactment"):
        video = videos[v]
        order, test = split_frames(len(video), cfg.shots[-1], cfg.test_frames, cfg.seed + v)
        shots = Shots.from_video(video, order[:T], size)
        target = Shots.from_video(video, test, size)
        for variant in cfg.variants:
            start = time.perf_counter()
            if variant in VARIANTS:
                epochs = cfg.finetune.epochs if variant == "FT" else 0
                person = finetune(E, G, D, shots, replace(cfg.finetune, epochs=epochs), progress=False,
                                  content=content)
                fake = person.render(target.landmarks)
            elif variant == "nearest pose":
                fake = nearest_pose_frames(shots, target.landmarks)
            else:
                fake = mean_frame(shots, len(target))
            seconds = time.perf_counter() - start
            m = Measurement(target.frames, fake.cpu(), target.landmarks)
            rows.append({"video": v, "identity": _identity(video), "variant": variant, "T": T,
                         **measure(m, identity, extra), "seconds": round(seconds, 2)})
            if "FID features" in extra:                     # FID compares sets: collect features per (variant, T)
                real_features, fake_features = fid_sets.setdefault((variant, T), ([], []))
                real_features.append(extra["FID features"](m.real).numpy())
                fake_features.append(extra["FID features"](m.fake).numpy())
    for (variant, T), (real, fake) in fid_sets.items():
        fid = fid_from_features(np.concatenate(real), np.concatenate(fake))
        for row in rows:
            if (row["variant"], row["T"]) == (variant, T):
                row["FID"] = fid                            # a set metric: the same value on each row
    return rows


def _identity(video) -> Any:
    return getattr(getattr(video, "identity", None), "index", getattr(video, "meta", {}).get("identity"))


def summarize(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (variant, T): the number of videos and each metric's mean and standard error (``*_sem``)."""
    groups: dict[tuple[str, int], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["variant"], row["T"]), []).append(row)
    summary = []
    for (variant, T), group in groups.items():
        entry = {"variant": variant, "T": T, "videos": len(group)}
        for metric in ("SSIM", "PSNR", "CSIM", "LPIPS", "FID", "seconds"):
            values = np.array([r[metric] for r in group if metric in r], dtype=np.float64)
            if len(values):
                entry[metric] = float(values.mean())
                entry[f"{metric}_sem"] = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else 0.0
        summary.append(entry)
    return summary


# ------------------------------------------------------------------------------------ command line
RESULT_FILES = ("results.json", "table.md", "results.png")
"""What ``fewshot evaluate`` writes into its ``--out`` folder."""


def add_evaluate_command(subcommands) -> None:
    from ..config import CONFIG, pick

    p = subcommands.add_parser("evaluate", help="the paper's self-reenactment evaluation (FF vs FT × T)",
                               description="Evaluate a meta-learning checkpoint on held-out videos: T few-shot frames, "
                                           "feed-forward and fine-tuned, SSIM/PSNR (CSIM on real faces; FID/LPIPS "
                                           "when their weights load). Writes results.json, table.md and results.png.")
    p.add_argument("--checkpoint", default=None, help="meta-learning checkpoint (default: the shipped meta_cpu64)")
    p.add_argument("--data", default="synthetic", help="'synthetic' (held-out people, built in) or a records folder")
    p.add_argument("--videos", type=at_least_int(1), default=pick(full=8, smoke=2), help="how many held-out videos")
    p.add_argument("--shots", type=at_least_int(1), nargs="+", default=pick(full=[1, 8, 32], smoke=[1, 2]),
                   help="values of T")
    p.add_argument("--test-frames", type=at_least_int(1), default=pick(full=8, smoke=2),
                   help="ground-truth frames per video")
    p.add_argument("--epochs", type=at_least_int(0), default=pick(full=40, smoke=1), help="fine-tuning epochs (FT)")
    p.add_argument("--batch-size", type=at_least_int(1), default=FinetuneConfig.batch_size,
                   help="fine-tuning batch size")
    p.add_argument("--lr-g", type=float, default=None, help="fine-tuning lr of G and ψ′ (default: meta-learning's)")
    p.add_argument("--lr-d", type=float, default=None, help="fine-tuning lr of D (default: meta-learning's)")
    p.add_argument("--csim", default="auto", choices=("auto", "always", "never"), help="CSIM: real faces only (auto)")
    p.add_argument("--out", default=str(CONFIG.runs / "evaluate"),
                   help=f"output folder (default: {CONFIG.runs / 'evaluate'}, under FEWSHOT_RUNS)")
    p.add_argument("--overwrite", action="store_true", help="replace the results of an earlier evaluation in --out")
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: FEWSHOT_DEVICE or auto)")
    p.set_defaults(run=_run_evaluate)


def _run_evaluate(args) -> int:
    from ..config import get_device
    from ..data import Record, find_records
    from ..pretrained import pretrained_checkpoint
    from ..train.networks import load_networks
    from .report import format_table, plot_summary, quality_bar

    out = Path(args.out)
    for name in RESULT_FILES:                         # before minutes of evaluation, not after
        output_path(out / name, args.overwrite)
    checkpoint = args.checkpoint or pretrained_checkpoint()
    model_cfg, E, G, D = load_networks(checkpoint, get_device(args.device))
    finetune_cfg = FinetuneConfig.from_checkpoint(checkpoint, **cli_overrides(args))
    cfg = EvalConfig(shots=tuple(args.shots), test_frames=args.test_frames, finetune=finetune_cfg, csim=args.csim)
    if args.data == "synthetic":
        videos = heldout_videos(model_cfg.image_size, cfg.frames_needed(), args.videos)
    else:
        paths = find_records(args.data)
        if not paths:
            raise EvaluationError(f"{args.data}: no records; make them with `fewshot prepare` or `fewshot synth`")
        videos = [Record(p) for p in paths[:args.videos]]
    rows = self_reenactment(E, G, D, videos, cfg)
    summary = summarize(rows)
    out.mkdir(parents=True, exist_ok=True)
    settings = {"checkpoint": str(checkpoint), "data": args.data, "config": asdict(cfg)}
    (out / "results.json").write_text(json.dumps({"settings": settings, "rows": rows, "summary": summary}, indent=2))
    table = format_table(summary)
    (out / "table.md").write_text(table + "\n")
    save_figure(plot_summary(summary), out / "results.png", dpi=100)     # marked and signed, like every image
    checks = quality_bar(rows)
    print(table + "\n\n" + "\n".join(f"{verdict} {name}" for name, verdict in checks.items())
          + f"\n\nresults.json, table.md, results.png: {out}")
    return 0
