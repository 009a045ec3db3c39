"""What a trained E and G know: probes of the embeddings e, ê and of ψ̂ = P ê.

Nothing here trains; each function takes networks (trained or not) and measures what they do:

* :func:`variance_shares`: how much of the spread of the embeddings each factor (who, which room,
  which pose, ...) explains on its own, for embeddings laid out on a full grid of the factors;
* :func:`reidentification_rate`: how often the nearest embedding seen in *another* room belongs to
  the same person (nearest-neighbour recognition);
* :func:`adain_groups`: G's AdaIN layers grouped by where they sit (the bottleneck, each up block, the
  last AdaIN before RGB);
* :func:`swap_psi`: one person's ψ̂ with the slices of some layers taken from another person's;
* :func:`swap_groups`: the AdaIN-layer ablation, G's output with one group of layers swapped at a time;
* :func:`region_change`: the mean change of an image inside and outside a mask (person and background).

Introduced in notebooks 03 (embedder: what E encodes) and 04 (generator: which AdaIN layers carry what).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import torch

from .adain import AdaIN
from .blocks import ResBlockUp
from .generator import Generator, PsiSlice, ToRGB

INTERACTIONS = "interactions"
"""The key of :func:`variance_shares` for what no factor explains on its own."""


def variance_shares(e: torch.Tensor, factors: Sequence[str]) -> dict[str, float]:
    """The share of the spread of ``e`` that each factor explains on its own.

    ``e``: embeddings on a full grid of the factors, ``(n_1, ..., n_F, N)``, e.g. ``(people, rooms, poses,
    N)`` with ``factors=("person", "room", "pose")``. The spread is the mean squared distance of an
    embedding to the mean of all; a factor's share is the spread of its marginal means (the mean embedding
    of each person, over all rooms and poses) divided by it. On a full grid the shares and the rest,
    returned under ``"interactions"``, add up to 1 (an analysis of variance, summed over the N numbers).
    """
    e = torch.as_tensor(e, dtype=torch.float64)
    if e.dim() != len(factors) + 1:
        raise ValueError(f"e has shape {tuple(e.shape)}: need one axis per factor {tuple(factors)} and one of "
                         "size N for the embedding")
    centred = e - e.reshape(-1, e.shape[-1]).mean(dim=0)
    total = centred.pow(2).sum(dim=-1).mean()
    if total == 0:
        raise ValueError("every embedding is the same: there is no spread to share out")
    shares = {}
    for axis, name in enumerate(factors):
        others = tuple(a for a in range(len(factors)) if a != axis)
        marginal = centred.mean(dim=others) if others else centred          # (n_axis, N)
        shares[name] = float(marginal.pow(2).sum(dim=-1).mean() / total)
    shares[INTERACTIONS] = max(0.0, 1.0 - sum(shares.values()))
    return shares


def reidentification_rate(e: torch.Tensor) -> float:
    """How often the nearest embedding from another room shows the same person.

    ``e``: ``(people, rooms, N)``, one embedding per person and room. For each (person, room) the nearest
    embedding (Euclidean) among all those of the *other* rooms is found; the rate is the share of those
    that belong to the same person. Chance is about 1 / people.
    """
    e = torch.as_tensor(e, dtype=torch.float64)
    if e.dim() != 3 or e.shape[1] < 2:
        raise ValueError(f"e has shape {tuple(e.shape)}: need (people, rooms, N) with at least 2 rooms")
    P, R, _ = e.shape
    distance = torch.cdist(e.reshape(P * R, -1), e.reshape(P * R, -1))   # (P·R, P·R)
    room = torch.arange(P * R) % R
    distance[room[:, None] == room[None, :]] = float("inf")              # only other rooms compete
    nearest = distance.argmin(dim=1)                                      # (P·R,)
    return float((nearest // R == torch.arange(P * R) // R).double().mean())


def adain_groups(G: Generator) -> dict[str, list[str]]:
    """G's AdaIN layers grouped by where they sit, in the order G runs them.

    ``"bottleneck"``: the residual blocks that keep the bottleneck's size; ``"up block to S×S"``: one group
    per up block; ``"last AdaIN (to RGB)"``: the AdaIN before the last convolution. Every AdaIN layer is in
    exactly one group, by the names of ``G.psi_layout``.
    """
    groups: dict[str, list[str]] = {}
    side = G.cfg.bottleneck_size
    for index, layer in enumerate(G.decoder):
        if isinstance(layer, ResBlockUp):
            if layer.upsample:
                side *= 2
            name = f"up block to {side}×{side}" if layer.upsample else f"bottleneck ({side}×{side})"
        elif isinstance(layer, ToRGB):
            name = "last AdaIN (to RGB)"
        else:
            continue                                                      # self-attention reads no ψ̂
        groups.setdefault(name, []).extend(f"decoder.{index}.{sub}" for sub, module in layer.named_modules()
                                           if isinstance(module, AdaIN))
    return groups


def swap_psi(psi_a: torch.Tensor, psi_b: torch.Tensor, layout: Iterable[PsiSlice],
             layers: Iterable[str]) -> torch.Tensor:
    """ψ̂ of person A with the scales and biases of ``layers`` (AdaIN names, e.g. ``"decoder.5.norm1"``)
    taken from person B. ``psi_a``, ``psi_b``: ``(B, n_psi)`` or ``(n_psi,)``; returns a new tensor."""
    layout, layers = list(layout), set(layers)
    unknown = layers - {piece.layer for piece in layout}
    if unknown:
        raise ValueError(f"no AdaIN layer(s) {sorted(unknown)} in the layout; see G.psi_layout for the names")
    if psi_a.shape != psi_b.shape:
        raise ValueError(f"psi_a {tuple(psi_a.shape)} and psi_b {tuple(psi_b.shape)} must have the same shape")
    mixed = psi_a.clone()
    for piece in layout:
        if piece.layer in layers:
            mixed[..., piece.slice] = psi_b[..., piece.slice]
    return mixed


@torch.no_grad()
def swap_groups(G: Generator, y: torch.Tensor, psi_a: torch.Tensor, psi_b: torch.Tensor,
                groups: dict[str, list[str]]) -> dict[str, torch.Tensor]:
    """The AdaIN-layer ablation: for each group, x̂ = G(y, ψ̂_A with that group's layers from ψ̂_B).

    ``y``: sketches ``(B, 3, S, S)``; ``psi_a``, ``psi_b``: ``(B, n_psi)``; ``groups``: names → AdaIN layer
    names (e.g. :func:`adain_groups`). Returns ``{group: x̂ (B, 3, S, S)}``, run without gradients.
    """
    return {name: G.forward_from_psi(y, swap_psi(psi_a, psi_b, G.psi_layout, layers))
            for name, layers in groups.items()}


def region_change(x: torch.Tensor, reference: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean |x − reference| (over the colour channels and the pixels) inside and outside ``mask``.

    ``x``, ``reference``: ``(B, 3, S, S)``; ``mask``: bool ``(B, S, S)`` or ``(S, S)``, True on the region
    (e.g. the person). Returns ``(inside, outside)``, each ``(B,)``, in the images' units ([-1, 1] images:
    2 is the whole range).
    """
    difference = (x - reference).abs().mean(dim=1)                       # (B, S, S)
    mask = torch.as_tensor(mask, dtype=torch.bool).expand_as(difference)
    inside, outside = mask.sum(dim=(1, 2)), (~mask).sum(dim=(1, 2))
    if (inside == 0).any() or (outside == 0).any():
        raise ValueError("the mask must leave some pixels on each side (inside and outside) in every image")
    return ((difference * mask).sum(dim=(1, 2)) / inside, (difference * ~mask).sum(dim=(1, 2)) / outside)
