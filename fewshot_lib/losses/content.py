"""L_CNT, the content loss, as a training run actually gets it: with or without VGG weights.

With both weight files (see :mod:`fewshot_lib.losses.perceptual`)::

    L_CNT = w_vgg19 · L_VGG19(x, x̂) + w_vggface · L_VGGFace(x, x̂)

Offline (CI, a machine without internet and no cached files) there are no weights, and
training must still run. ``fallback`` chooses what replaces L_CNT then:

* ``"pixel"`` (default): multi-scale L1 on pixels, ``w_pixel · L_PIX``. Nearly free on a CPU;
  a direct reconstruction signal. Its trade-off: it measures colour differences, not
  perceived structure, so on its own it favours blur (the adversarial term and feature
  matching push back on that).
* ``"random"``: the same VGG stacks with fixed random parameters, weighted like the paper's
  terms. Random conv features still respond to edges and textures at five receptive-field
  sizes, but their scale is arbitrary and they cost as much as the real networks (≈ 2 VGG
  passes per image), which dominates a CPU training step.
* ``"none"``: drop L_CNT; the generator learns from L_ADV (and L_FM) alone.

``"pixel"`` is the default because on a CPU the VGG stacks cost about a thousand times more
per step (1.3 s against 1.1 ms at 128×128, batch 2: ``data/README.md``) for features that
were never trained.

The choice is one argument, so "does the replacement help compared with dropping it?" is a
one-line experiment. :func:`build_content_loss` also returns a plain-language description of
every active loss term, for the training log and the notebooks. Introduced in notebook 05.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import LossWeights
from .perceptual import SPECS, PerceptualNetwork, WeightsNotFound, load_perceptual_network, perceptual_loss

FALLBACKS = ("pixel", "random", "none")


def multiscale_l1(x_hat: torch.Tensor, x: torch.Tensor, scales: int = 4) -> torch.Tensor:
    """L_PIX = (1/S) Σ_s mean |A_s(x̂) − A_s(x)|, A_s = average pooling by 2^s, s = 0 … S−1.

    The coarse scales compare local mean colours, so they keep rewarding the right layout and
    colours even where fine detail is misaligned. ``x_hat``, ``x``: (B, 3, H, W) in [-1, 1].
    """
    loss = 0
    for s in range(scales):
        if s:
            x_hat, x = F.avg_pool2d(x_hat, 2), F.avg_pool2d(x, 2)   # (B, 3, H / 2^s, W / 2^s)
        loss = loss + F.l1_loss(x_hat, x)
    return loss / scales


class ContentLoss(nn.Module):
    """L_CNT as a weighted sum of named terms: ``"vgg19"``, ``"vggface"`` (through ``networks``), ``"pixel"``.

    Call it as ``loss = content(x_hat, x)``; :meth:`terms` gives the weighted terms one by
    one for logging. With no terms it returns 0 (the ``"none"`` fallback).
    """

    def __init__(self, weights: dict[str, float], networks: dict[str, PerceptualNetwork]):
        super().__init__()
        self.weights = dict(weights)               # term name → weight
        self.networks = nn.ModuleDict(networks)    # frozen; moved by .to(device) with the module

    def terms(self, x_hat: torch.Tensor, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {name: weight * (multiscale_l1(x_hat, x) if name == "pixel"
                                else perceptual_loss(self.networks[name], x_hat, x))
                for name, weight in self.weights.items()}

    def forward(self, x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return sum(self.terms(x_hat, x).values(), x_hat.new_zeros(()))


def build_content_loss(weights: LossWeights = LossWeights(), fallback: str = "pixel", *,
                       vgg19: str | None = None, vggface: str | None = None,
                       download: bool = True) -> tuple[ContentLoss, str]:
    """The content loss this machine can compute, and a description of every loss term.

    ``vgg19`` / ``vggface``: local weight files (default: the cache, then a download unless
    ``download`` is False or the library is offline). A network whose weight is 0 is not
    loaded. If *neither* network has weights, ``fallback`` (one of :data:`FALLBACKS`) replaces
    L_CNT; if only one has, L_CNT uses that one and the description says which was dropped.
    A file that exists but is corrupt or fails its checksum raises instead of falling back.

    Returns ``(content_loss, description)``; the description has one line per loss term,
    e.g. ``"L_CNT: VGG19 weights not found at …; … using multi-scale pixel L1 (weight 10) instead."``
    """
    if fallback not in FALLBACKS:
        raise ValueError(f"fallback={fallback!r}: choose one of {', '.join(FALLBACKS)}")
    paths = {"vgg19": vgg19, "vggface": vggface}
    wanted = {name: getattr(weights, name) for name in SPECS if getattr(weights, name) > 0}
    networks, missing = {}, {}
    for name in wanted:
        try:
            networks[name] = load_perceptual_network(SPECS[name], paths[name], download)
        except WeightsNotFound as error:
            missing[name] = str(error)

    if networks:
        used = " + ".join(f"{wanted[n]:g}·L_{SPECS[n].name}" for n in networks)
        content = f"L_CNT = {used} (pretrained {', '.join(SPECS[n].name for n in networks)})"
        content += "".join(f"; {SPECS[n].name} term dropped: {why}" for n, why in missing.items())
        loss = ContentLoss({n: wanted[n] for n in networks}, networks)
    else:
        reasons = "; ".join(missing.values()) or "both VGG weights are 0"
        if fallback == "pixel":
            loss = ContentLoss({"pixel": weights.pixel}, {})
            replacement = f"using multi-scale pixel L1 (weight {weights.pixel:g}) instead"
        elif fallback == "random":
            loss = ContentLoss(wanted, {n: PerceptualNetwork(SPECS[n], seed=0) for n in wanted})
            replacement = "using randomly initialised VGG stacks (seed 0, the paper's weights) instead"
        else:
            loss = ContentLoss({}, {})
            replacement = "L_CNT is off (fallback='none')"
        content = f"L_CNT: {reasons}; {replacement}."

    description = "\n".join([
        content,
        f"L_ADV = −D(x̂) + {weights.feature_matching:g}·L_FM (feature matching on D's features).",
        f"L_MCH: weight {weights.match:g} (FT variant)." if weights.match > 0 else "L_MCH: off (FF variant).",
        "L_DSC: hinge, max(0, 1 + D(x̂)) + max(0, 1 − D(x)), for the discriminator's steps.",
    ])
    return loss, description
