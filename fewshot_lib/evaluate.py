"""The paper's evaluation (Sec. 4.1): self-reenactment on held-out videos, and its metrics.

**Protocol.** For each held-out video (people the networks never saw): set ``test_frames``
frames aside as ground truth; the T few-shot frames are the first T of one random order of the
other frames (so the 1 shot is among the 8, and the 8 among the 32). Make the person model
from the T shots, feed-forward (FF, no fine-tuning) or fine-tuned (FT), draw the test frames
from their own landmarks, and compare them with the true frames. T ∈ {1, 8, 32}.

**Metrics** (``(B, 3, S, S)`` images in [-1, 1]; per frame, then averaged):

* SSIM (Wang et al. 2004), structure: a Gaussian window (11 × 11, σ = 1.5) gives local means μ,
  variances σ² and covariance σ_xy, and
  ``SSIM = mean[(2 μ_x μ_y + C₁)(2 σ_xy + C₂) / ((μ_x² + μ_y² + C₁)(σ_x² + σ_y² + C₂))]``
  on [0, 1] images, C₁ = 0.01², C₂ = 0.03², averaged over the channels (scikit-image's
  ``structural_similarity(..., gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``);
* PSNR = 10 · log₁₀(1 / MSE) on [0, 1] images, in dB;
* CSIM: cosine similarity of identity embeddings of the real and the generated face. The paper
  used ArcFace; offline we use dlib's face-recognition ResNet (128-D, shipped by the
  ``face-recognition-models`` package). It was trained on real faces only, so it is computed
  for real faces only (its values on synthetic heads would mean nothing);
* FID (realism) and LPIPS (perceptual distance) need pretrained Inception v3 / AlexNet weights
  that no package here ships: :func:`optional_metrics` uses them when it can and otherwise says
  why they were skipped.

The same module holds the quality-bar checks of the course's model card: two baselines
(nearest-pose frame, mean frame), random vs pose-distant reference frames, an identity-swap
test, and the identity-leak measurement of puppeteering. Introduced in notebook 08.
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
import torch.nn.functional as F

from .config import CONFIG
from .data import SyntheticConfig, SyntheticVideo, synthetic_split, to_tensor
from .finetune import FinetuneConfig, Shots, cli_overrides, embed_person, finetune
from .losses import LossWeights, build_content_loss
from .models import Discriminator, Embedder, Generator
from .puppeteer import as_complex, similarity
from .viz import to_image

VARIANTS = ("FF", "FT")
BASELINES = ("nearest pose", "mean frame")
METRICS = ("SSIM", "PSNR", "CSIM")


class EvaluationError(ValueError):
    """Videos or settings the protocol cannot use; the message says what to change."""


# ------------------------------------------------------------------------------------ metrics
def gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """The normalised 2D Gaussian ``(size, size)`` that SSIM's local statistics are weighted by."""
    k = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-k ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).float()


def ssim_map(x: torch.Tensor, y: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Local SSIM of each pair of images ``(B, C, H, W)`` in [-1, 1] → ``(B, H − window + 1, W − window + 1)``,
    averaged over the channels; pixel (i, j) of the map is the window whose top-left corner is (i, j).

    Local statistics use the valid part of a Gaussian-weighted window (no padding), as scikit-image does.
    """
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"ssim needs two (B, C, H, W) batches of the same shape; "
                         f"got {tuple(x.shape)} and {tuple(y.shape)}")
    x, y = (x.double() + 1) / 2, (y.double() + 1) / 2                    # [0, 1]
    C = x.shape[1]
    w = gaussian_window(window, sigma).double().expand(C, 1, window, window)

    def local_mean(z):                                                    # (B, C, H - 10, W - 10)
        return F.conv2d(z, w, groups=C)

    mu_x, mu_y = local_mean(x), local_mean(y)
    var_x = local_mean(x * x) - mu_x ** 2                                 # σ_x²
    var_y = local_mean(y * y) - mu_y ** 2                                 # σ_y²
    cov = local_mean(x * y) - mu_x * mu_y                                 # σ_xy
    C1, C2 = 0.01 ** 2, 0.03 ** 2
    s = ((2 * mu_x * mu_y + C1) * (2 * cov + C2)) / ((mu_x ** 2 + mu_y ** 2 + C1) * (var_x + var_y + C2))
    return s.mean(dim=1)                                                  # (B, H - 10, W - 10)


def ssim(x: torch.Tensor, y: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """SSIM of each pair of images ``(B, C, H, W)`` in [-1, 1] → ``(B,)`` (1: identical): the mean of
    :func:`ssim_map`."""
    return ssim_map(x, y, window, sigma).mean(dim=(1, 2)).float()         # (B,)


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """PSNR = 10 · log₁₀(1 / MSE) in dB of each pair of images ``(B, C, H, W)`` in [-1, 1] (on [0, 1])."""
    mse = (((x.double() - y.double()) / 2) ** 2).mean(dim=(1, 2, 3))      # (B,) on the [0, 1] scale
    return (10 * torch.log10(1 / mse.clamp_min(1e-10))).float()


class IdentityNetwork:
    """dlib's face-recognition ResNet: a face (aligned by its 68 landmarks) → a 128-D identity vector.

    Ships inside the ``face-recognition-models`` package (the ``offline`` extra), so CSIM runs
    offline. It was trained on photos of real people.
    """

    def __init__(self):
        from .environment import DLIB_MODELS, dlib_models_dir

        models = dlib_models_dir()
        path = None if models is None else models / DLIB_MODELS["dlib face recognition ResNet"]
        if path is None or not path.is_file():
            raise EvaluationError('CSIM needs dlib\'s face recognition ResNet: pip install "fewshot_lib[offline]" '
                                  "(dlib-bin + face-recognition-models)")
        import dlib

        self._dlib, self._net = dlib, dlib.face_recognition_model_v1(str(path))

    def embed(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """The identity vector ``(128,)`` of the face in uint8 ``(H, W, 3)`` ``image`` with landmarks ``(68, 2)``."""
        dlib = self._dlib
        (x0, y0), (x1, y1) = np.floor(landmarks.min(0)), np.ceil(landmarks.max(0))
        points = [dlib.point(int(round(x)), int(round(y))) for x, y in landmarks]
        shape = dlib.full_object_detection(dlib.rectangle(int(x0), int(y0), int(x1), int(y1)), points)
        return np.asarray(self._net.compute_face_descriptor(np.ascontiguousarray(image), shape))


def csim(network: IdentityNetwork, real: np.ndarray, fake: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """CSIM = cos(id(real), id(fake)) per frame: uint8 ``(B, S, S, 3)`` images, landmarks ``(B, 68, 2)``."""
    values = []
    for x, x_hat, points in zip(real, fake, landmarks):
        a, b = network.embed(x, points), network.embed(x_hat, points)
        values.append(float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))))
    return np.asarray(values)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½): the Fréchet distance of two Gaussians.

    FID is this distance between Gaussians fitted to Inception features of real and generated frames.
    """
    from scipy import linalg

    root = linalg.sqrtm(sigma1 @ sigma2)
    return float(((mu1 - mu2) ** 2).sum() + np.trace(sigma1 + sigma2 - 2 * root.real))


def fid_from_features(real: np.ndarray, fake: np.ndarray) -> float:
    """FID between two sets of feature vectors ``(n, d)`` (Inception pool3 features for the real FID)."""
    return frechet_distance(real.mean(0), np.cov(real, rowvar=False), fake.mean(0), np.cov(fake, rowvar=False))


def optional_metrics() -> tuple[dict[str, Callable], dict[str, str]]:
    """The metrics whose pretrained networks this machine can load, and why the others are skipped.

    Returns ``(available, skipped)``: ``available["LPIPS"](x, y) → (B,)`` (images in [-1, 1]) and
    ``available["FID features"](x) → (B, 2048)``; ``skipped`` maps each missing metric to the reason.
    """
    available, skipped = {}, {}
    if CONFIG.offline:
        reason = "FEWSHOT_OFFLINE=1: its pretrained weights are never downloaded"
        return available, {"FID": reason, "LPIPS": reason}
    try:                                                            # LPIPS (Zhang et al. 2018), AlexNet backbone
        import lpips

        network = lpips.LPIPS(net="alex", verbose=False).eval()
        available["LPIPS"] = lambda x, y: network(x, y).flatten().detach()
    except Exception as error:                                      # missing package, torchvision or weights
        skipped["LPIPS"] = (f"needs the `lpips` package and its AlexNet weights (pip install lpips; "
                            f"they download on first use): {type(error).__name__}: {error}")
    try:                                                            # FID (Heusel et al. 2017), Inception v3
        from pytorch_fid.inception import InceptionV3

        inception = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
        available["FID features"] = lambda x: inception((x + 1) / 2)[0].flatten(1).detach()
    except Exception as error:
        skipped["FID"] = (f"needs the `pytorch-fid` package and its Inception v3 weights (pip install "
                          f"pytorch-fid; they download on first use): {type(error).__name__}: {error}")
    return available, skipped


# ------------------------------------------------------------------------------------ the protocol
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


def is_synthetic(video) -> bool:
    return getattr(video, "meta", {}).get("source") == "synthetic"


def heldout_videos(size: int, frames: int, identities: int, seed: int = 0) -> list[SyntheticVideo]:
    """The first video of each of ``identities`` held-out synthetic people, ``frames`` long, ``size`` pixels."""
    config = SyntheticConfig(size=size, frames=frames, heldout_identities=identities, videos=1, seed=seed)
    return synthetic_split("heldout", config)


def nearest_pose_frames(shots: Shots, landmarks: np.ndarray) -> torch.Tensor:
    """Baseline: for each target ``(B, 68, 2)``, the shot whose landmarks are nearest (a copied frame)."""
    distance = np.linalg.norm(landmarks[:, None] - shots.landmarks[None], axis=-1).mean(-1)    # (B, T)
    return shots.frames[torch.from_numpy(distance.argmin(axis=1))]


def mean_frame(shots: Shots, count: int) -> torch.Tensor:
    """Baseline: the mean of the T shots, ``count`` times (it knows the person, not the pose)."""
    return shots.frames.mean(dim=0, keepdim=True).expand(count, -1, -1, -1)


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


def _lookup(summary, variant: str, T: int) -> dict[str, Any] | None:
    return next((s for s in summary if s["variant"] == variant and s["T"] == T), None)


def format_table(summary: Sequence[dict[str, Any]], metrics: Sequence[str] = ("SSIM", "PSNR", "CSIM", "LPIPS")) -> str:
    """A Markdown table: one row per T, one column per (metric, variant); mean ± standard error."""
    variants = list(dict.fromkeys(s["variant"] for s in summary))
    metrics = [m for m in metrics if any(m in s for s in summary)]
    header = ["T"] + [f"{m} {v}" for m in metrics for v in variants]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for T in sorted({s["T"] for s in summary}):
        cells = [str(T)]
        for metric in metrics:
            for variant in variants:
                s = _lookup(summary, variant, T)
                digits = 2 if metric == "PSNR" else 3
                found = s is not None and metric in s
                cells.append(f"{s[metric]:.{digits}f} ± {s[metric + '_sem']:.{digits}f}" if found else "—")
        lines.append("| " + " | ".join(cells) + " |")
    videos = {s["videos"] for s in summary}
    lines.append(f"\n(mean ± standard error over {'/'.join(map(str, sorted(videos)))} videos; "
                 "SSIM, CSIM: higher is better; PSNR in dB: higher is better; LPIPS: lower is better)")
    return "\n".join(lines)


def plot_summary(summary: Sequence[dict[str, Any]], metrics: Sequence[str] = ("SSIM", "PSNR", "CSIM")):
    """One panel per metric: the metric against T (log scale) for each variant, with standard errors."""
    import matplotlib.pyplot as plt

    metrics = [m for m in metrics if any(m in s for s in summary)]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.2), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for variant in dict.fromkeys(s["variant"] for s in summary):
            points = sorted((s["T"], s[metric], s[f"{metric}_sem"]) for s in summary
                            if s["variant"] == variant and metric in s)
            T, mean, sem = zip(*points)
            style = "--" if variant in BASELINES else "-"
            ax.errorbar(T, mean, yerr=sem, marker="o", linestyle=style, capsize=3, label=variant)
        ax.set(xscale="log", xlabel="T (few-shot frames)", title=metric)
        ax.minorticks_off()
        ax.set_xticks(sorted({s["T"] for s in summary}), [str(t) for t in sorted({s["T"] for s in summary})])
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def quality_bar(summary: Sequence[dict[str, Any]], metric: str = "SSIM") -> dict[str, bool]:
    """The course's claims, checked on a summary: more shots help, and fine-tuning helps.

    Variant V's ``metric`` must rise from each T to the next ("T=8 beats T=1 (V)"); from T = 8
    upwards, not falling is enough ("T=32 at least as good as T=8 (V)"). At every T, fine-tuning
    must beat feed-forward ("FT beats FF at T=t").
    """
    shots = sorted({s["T"] for s in summary})
    checks = {}
    for variant in VARIANTS:
        values = {T: _lookup(summary, variant, T)[metric] for T in shots if _lookup(summary, variant, T)}
        for a, b in zip(shots, shots[1:]):
            if a in values and b in values:
                strict = a < 8
                name = f"T={b} {'beats' if strict else 'at least as good as'} T={a} ({variant})"
                checks[name] = values[b] > values[a] if strict else values[b] >= values[a]
    for T in shots:
        ff, ft = _lookup(summary, "FF", T), _lookup(summary, "FT", T)
        if ff and ft:
            checks[f"FT beats FF at T={T}"] = ft[metric] > ff[metric]
    return checks


# ------------------------------------------------------------------------------------ quality-bar probes
def pose_distance(video, target: int) -> np.ndarray:
    """How far each frame's head pose is from frame ``target``'s: degrees (yaw, pitch, roll) for
    synthetic videos, else the mean landmark distance after removing position and scale."""
    if hasattr(video, "poses"):
        return np.linalg.norm(video.poses - video.poses[target], axis=1)
    z = as_complex(video.landmarks)                                              # (T, 68)
    z = (z - z.mean(1, keepdims=True)) / np.abs(z - z.mean(1, keepdims=True)).mean(1, keepdims=True)
    return np.abs(z - z[target]).mean(1)


def reference_frames(video, target: int, k: int, setting: str, seed: int = 0) -> np.ndarray:
    """K reference frames for a target: ``"random"`` (any other frames) or ``"pose-distant"`` (the
    K frames whose head pose is farthest from the target's: the embedding must carry identity, not pose)."""
    others = np.array([t for t in range(len(video)) if t != target])
    if setting == "random":
        return np.sort(np.random.default_rng(seed).choice(others, size=k, replace=False))
    if setting == "pose-distant":
        return np.sort(others[np.argsort(-pose_distance(video, target)[others], kind="stable")[:k]])
    raise EvaluationError(f"setting={setting!r}: choose 'random' or 'pose-distant'")


@torch.no_grad()
def reference_settings(E: Embedder, G: Generator, videos: Sequence, k: int = 8, targets: int = 4,
                       seed: int = 0) -> list[dict[str, Any]]:
    """Feed-forward SSIM/PSNR of ``targets`` frames per video with random vs pose-distant K references."""
    rows, size, device = [], G.cfg.image_size, next(G.parameters()).device
    for v, video in enumerate(videos):
        for target in np.random.default_rng(seed + v).choice(len(video), size=targets, replace=False):
            truth = Shots.from_video(video, [int(target)], size)
            for setting in ("random", "pose-distant"):
                shots = Shots.from_video(video, reference_frames(video, int(target), k, setting, seed + v), size)
                x_hat = G(truth.sketches.to(device), embed_person(E, shots.to(device))[None]).cpu()
                rows.append({"video": v, "target": int(target), "setting": setting,
                             "SSIM": float(ssim(x_hat, truth.frames)), "PSNR": float(psnr(x_hat, truth.frames))})
    return rows


def cross_reenactment(source: SyntheticVideo, driver: SyntheticVideo,
                      frames: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The exact answer to puppeteering, for synthetic people: ``source``'s person, in ``source``'s
    scene, making ``driver``'s head motion and expressions at ``frames``.

    Returns uint8 images ``(n, S, S, 3)`` and landmarks ``(n, 68, 2)`` at the source's size.
    """
    from .data.synthetic.render import render_backdrop, render_frame

    backdrop = render_backdrop(source.identity, source.scene, source.size)
    images, points = [], []
    for t in frames:
        pose, expression, shift = driver.state(int(t))
        image, landmarks = render_frame(source.identity, pose, expression, source.scene, source.size, backdrop, shift)
        images.append(image), points.append(landmarks)
    return np.stack(images), np.stack(points)


@torch.no_grad()
def identity_swap(E: Embedder, G: Generator, videos: Sequence[SyntheticVideo], k: int = 8, targets: int = 4,
                  seed: int = 0) -> list[dict[str, Any]]:
    """Does G draw the person of ê, or the person of the sketch? For video i and its target frame t,
    x̂_self = G(y_t, ê_i) and x̂_swap = G(y_t, ê_j), j the next video (another person).

    Rows hold SSIM(x̂_self, x_t), SSIM(x̂_swap, x_t) and SSIM(x̂_swap, x*_j,t), x*_j,t the true frame of
    person j making i's motion (:func:`cross_reenactment`). A model that uses ê has
    x̂_swap closer to x*_j,t than to x_t, and x̂_self closer to x_t than x̂_swap is.
    """
    rows, size, device = [], G.cfg.image_size, next(G.parameters()).device
    embeddings = [embed_person(E, Shots.from_video(v, np.random.default_rng(seed + i).choice(len(v), k, replace=False),
                                                   size).to(device)) for i, v in enumerate(videos)]
    for i, video in enumerate(videos):
        j = (i + 1) % len(videos)
        for t in np.random.default_rng(seed + 100 + i).choice(len(video), size=targets, replace=False):
            truth = Shots.from_video(video, [int(t)], size)
            x_self = G(truth.sketches.to(device), embeddings[i][None]).cpu()
            x_swap = G(truth.sketches.to(device), embeddings[j][None]).cpu()
            other, _ = cross_reenactment(videos[j], video, [int(t)])
            x_other = to_tensor(np.stack([_resize_image(other[0], size)]))
            rows.append({"video": i, "other": j, "target": int(t),
                         "SSIM self vs x_t": float(ssim(x_self, truth.frames)),
                         "SSIM swap vs x_t": float(ssim(x_swap, truth.frames)),
                         "SSIM swap vs other person's truth": float(ssim(x_swap, x_other))})
    return rows


def _resize_image(image: np.ndarray, size: int) -> np.ndarray:
    import cv2

    return image if image.shape[0] == size else cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)


# ------------------------------------------------------------------------------------ identity leak
def face_proportions(landmarks: np.ndarray) -> np.ndarray:
    """Shape ratios of faces ``(..., 68, 2)`` → ``(..., 4)``, each divided by the eye distance:
    jaw width (0–16), face length (eyes' midpoint to chin 8), mouth width (48–54), nose length (27–33)."""
    p = np.asarray(landmarks, dtype=np.float64)
    eyes_r, eyes_l = p[..., 36:42, :].mean(-2), p[..., 42:48, :].mean(-2)
    eye_span = np.linalg.norm(eyes_l - eyes_r, axis=-1)
    lengths = [np.linalg.norm(p[..., 16, :] - p[..., 0, :], axis=-1),
               np.linalg.norm(p[..., 8, :] - (eyes_l + eyes_r) / 2, axis=-1),
               np.linalg.norm(p[..., 54, :] - p[..., 48, :], axis=-1),
               np.linalg.norm(p[..., 33, :] - p[..., 27, :], axis=-1)]
    return np.stack(lengths, axis=-1) / eye_span[..., None]


PROPORTIONS = ("jaw width", "face length", "mouth width", "nose length")
"""The columns of :func:`face_proportions` (all relative to the eye distance)."""


def shape_error(landmarks: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Landmark error left after the best similarity (position, scale, rotation) is removed, per frame,
    relative to the true face's size: ``(T, 68, 2)`` pairs → ``(T,)``. Only the face's shape remains."""
    errors = []
    for a, b in zip(as_complex(landmarks).reshape(-1, 68), as_complex(truth).reshape(-1, 68)):
        z, c_a, c_b = similarity(a, b)
        errors.append(np.abs(z * (a - c_a) + c_b - b).mean() / np.abs(b - c_b).mean())
    return np.asarray(errors)


def identity_leak(driving: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """How much of the driving landmarks' face is not the source's: ``driving`` vs ``truth`` ``(T, 68, 2)``
    (the source making the driver's motion). ``shape error``: :func:`shape_error`; ``proportion error``:
    mean |difference| of :func:`face_proportions`; ``placement error``: mean point distance in pixels."""
    return {"shape error": float(shape_error(driving, truth).mean()),
            "proportion error": float(np.abs(face_proportions(driving) - face_proportions(truth)).mean()),
            "placement error": float(np.linalg.norm(driving - truth, axis=-1).mean())}


# ------------------------------------------------------------------------------------ command line
def add_evaluate_command(subcommands) -> None:
    from .config import pick

    p = subcommands.add_parser("evaluate", help="the paper's self-reenactment evaluation (FF vs FT × T)",
                               description="Evaluate a meta-learning checkpoint on held-out videos: T few-shot frames, "
                                           "feed-forward and fine-tuned, SSIM/PSNR (CSIM on real faces; FID/LPIPS "
                                           "when their weights load). Writes results.json, table.md and results.png.")
    p.add_argument("--checkpoint", default=None, help="meta-learning checkpoint (default: the shipped meta_cpu64)")
    p.add_argument("--data", default="synthetic", help="'synthetic' (held-out people, built in) or a records folder")
    p.add_argument("--videos", type=int, default=pick(full=8, smoke=2), help="how many held-out videos")
    p.add_argument("--shots", type=int, nargs="+", default=pick(full=[1, 8, 32], smoke=[1, 2]), help="values of T")
    p.add_argument("--test-frames", type=int, default=pick(full=8, smoke=2), help="ground-truth frames per video")
    p.add_argument("--epochs", type=int, default=pick(full=40, smoke=1), help="fine-tuning epochs (FT)")
    p.add_argument("--batch-size", type=int, default=FinetuneConfig.batch_size, help="fine-tuning batch size")
    p.add_argument("--lr-g", type=float, default=None, help="fine-tuning lr of G and ψ′ (default: meta-learning's)")
    p.add_argument("--lr-d", type=float, default=None, help="fine-tuning lr of D (default: meta-learning's)")
    p.add_argument("--csim", default="auto", choices=("auto", "always", "never"), help="CSIM: real faces only (auto)")
    p.add_argument("--out", default="runs/evaluate", help="output folder (default: runs/evaluate)")
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: FEWSHOT_DEVICE or auto)")
    p.set_defaults(run=_run_evaluate)


def _run_evaluate(args) -> int:
    from .config import get_device
    from .data import Record, find_records
    from .pretrained import pretrained_checkpoint
    from .train.meta import load_networks

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
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = {"checkpoint": str(checkpoint), "data": args.data, "config": asdict(cfg)}
    (out / "results.json").write_text(json.dumps({"settings": settings, "rows": rows, "summary": summary}, indent=2))
    table = format_table(summary)
    (out / "table.md").write_text(table + "\n")
    plot_summary(summary).savefig(out / "results.png", dpi=100)
    checks = quality_bar(summary)
    print(table + "\n\n" + "\n".join(f"{'✓' if ok else '✗'} {name}" for name, ok in checks.items())
          + f"\n\nresults.json, table.md, results.png: {out}")
    return 0
