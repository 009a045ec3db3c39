"""The paper's image metrics (Zakharov et al. 2019, Sec. 4.1): SSIM, PSNR, CSIM, and FID/LPIPS when they load.

All take ``(B, 3, S, S)`` images in [-1, 1] and give one value per image (FID: one per set):

* SSIM (Wang et al. 2004), structure: a Gaussian window (11 × 11, σ = 1.5) gives local means μ,
  variances σ² and covariance σ_xy, and
  ``SSIM = mean[(2 μ_x μ_y + C₁)(2 σ_xy + C₂) / ((μ_x² + μ_y² + C₁)(σ_x² + σ_y² + C₂))]``
  on [0, 1] images, C₁ = 0.01², C₂ = 0.03², averaged over the channels (scikit-image's
  ``structural_similarity(..., gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``);
  :func:`ssim_map` keeps the local values (the model card splits them by region);
* PSNR = 10 · log₁₀(1 / MSE) on [0, 1] images, in dB;
* CSIM: cosine similarity of identity embeddings of the real and the generated face. The paper
  used ArcFace; offline we use dlib's face-recognition ResNet (128-D, shipped by the
  ``face-recognition-models`` package, :class:`IdentityNetwork`). It was trained on real faces
  only, so the protocol computes it for real faces only;
* FID (realism, :func:`fid_from_features`) and LPIPS (perceptual distance) need pretrained
  Inception v3 / AlexNet weights that no package here ships: :func:`optional_metrics` uses them
  when it can and otherwise says why they were skipped.

:class:`EvaluationError`, raised by every module of :mod:`fewshot_lib.evaluate`, lives here, in
the package's lowest layer. Introduced in notebook 08 (CSIM first appears in notebook 07).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import FewshotError
from ..config import CONFIG


class EvaluationError(FewshotError, ValueError):
    """Videos or settings the evaluation cannot use; the message says what to change."""


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
        from ..environment import DLIB_MODELS, dlib_models_dir

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
