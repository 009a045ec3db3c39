"""How big the networks are: the parameter table (against the paper) and a layer-by-layer summary.

The faithfulness check of the ``paper`` preset: E ≈ 15M, G ≈ 38M (≈ 31M convs + ≈ 7M in P),
D ≈ 20M (conv part). A 4×4-bottleneck generator would come out at ≈ 60M.
``fewshot models --preset NAME [--json]`` prints both.

The networks are built on the CPU (the paper preset in about a second; PyTorch's ``meta``
device measured slower here, as spectral norm's power iterations run op by op in Python).

Introduced in notebook 03 (embedder) and notebook 04 (generator).
"""
from __future__ import annotations

import json
from dataclasses import replace

import torch
from torch import nn

from .discriminator import Discriminator
from .embedder import Embedder
from .generator import Generator
from .presets import PRESETS, ModelConfig, get_preset

PAPER_COUNTS = {"embedder": 15e6, "generator": 31e6, "projection": 7e6, "discriminator": 20e6}
"""The paper's parameter counts at 256×256 (G = 31M of convs + 7M of P = 38M; D: conv part)."""
TOLERANCE = 0.10
"""How close the ``paper`` preset must come to ``PAPER_COUNTS`` (relative)."""


def _build(cfg: ModelConfig) -> tuple[Embedder, Generator, Discriminator]:
    with torch.device("cpu"):
        return Embedder(cfg), Generator(cfg), Discriminator(cfg, num_videos=1)


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def parameter_counts(cfg: ModelConfig | str) -> dict[str, int]:
    """Parameters per network: ``embedder``, ``generator`` (without P), ``projection`` (P),
    ``discriminator`` (without the per-video table W, which grows by N per training video),
    and their ``total``."""
    cfg = get_preset(cfg) if isinstance(cfg, str) else cfg
    E, G, D = _build(cfg)
    counts = {"embedder": _count(E), "generator": _count(G) - _count(G.projection),
              "projection": _count(G.projection), "discriminator": _count(D) - _count(D.W)}
    counts["total"] = sum(counts.values())
    return counts


def parameter_table(cfg: ModelConfig | str) -> str:
    """The parameter counts as a table; for the paper's architecture, next to the paper's numbers
    (✓: within ``TOLERANCE``)."""
    cfg = get_preset(cfg) if isinstance(cfg, str) else cfg
    counts = parameter_counts(cfg)
    counts["generator with P"] = counts["generator"] + counts["projection"]
    paper = {**PAPER_COUNTS, "total": sum(PAPER_COUNTS.values()),
             "generator with P": PAPER_COUNTS["generator"] + PAPER_COUNTS["projection"]}
    n_psi = counts["projection"] // cfg.embed_dim
    labels = {"embedder": "E  embedder", "generator": "G  generator (convs)",
              "projection": f"P  projection ({n_psi:,} × {cfg.embed_dim})",
              "discriminator": "D  discriminator (conv part)", "total": "total", "generator with P": "G with P"}
    is_paper = replace(cfg, name="paper") == PRESETS["paper"]          # the paper's architecture
    lines = [f"model preset {cfg.name!r}: {cfg.image_size}×{cfg.image_size}, N = {cfg.embed_dim}",
             f"{'network':<32}{'parameters':>14}" + (f"{'paper':>10}{'ratio':>8}" if is_paper else "")]
    for key, label in labels.items():
        line = f"{label:<32}{counts[key]:>14,}"
        if is_paper:
            ratio = counts[key] / paper[key]
            line += f"{paper[key] / 1e6:>9.0f}M{ratio:>8.2f} {'✓' if abs(ratio - 1) <= TOLERANCE else '✗'}"
        lines.append(line)
    lines.append(f"{'W (per training video)':<32}{cfg.embed_dim:>14,}")
    return "\n".join(lines)


def _describe_layers(layers: list[tuple[str, nn.Module]], run) -> list[str]:
    """One line per layer: name, kind, output shape and parameters, recorded while ``run()`` runs."""
    shapes = {}
    hooks = [layer.register_forward_hook(lambda m, i, out, name=name: shapes.__setitem__(name, tuple(out.shape[1:])))
             for name, layer in layers]
    try:
        with torch.no_grad():
            run()
    finally:
        for hook in hooks:
            hook.remove()
    return [f"  {name:<14}{type(layer).__name__:<15}→ {' × '.join(map(str, shapes[name])):<16}{_count(layer):>12,}"
            for name, layer in layers]


NETWORKS = ("embedder", "generator", "discriminator")


def architecture_summary(cfg: ModelConfig | str, networks: tuple[str, ...] = NETWORKS) -> str:
    """E, G and D (or those in ``networks``) layer by layer: output shape (C × H × W) and parameters."""
    cfg = get_preset(cfg) if isinstance(cfg, str) else cfg
    unknown = set(networks) - set(NETWORKS)
    if unknown:
        raise ValueError(f"unknown networks {sorted(unknown)}: choose from {', '.join(NETWORKS)}")
    E, G, D = _build(cfg)
    S, N = cfg.image_size, cfg.embed_dim
    x, e_hat = torch.zeros(1, 3, S, S), torch.zeros(1, N)
    lines = []
    if "embedder" in networks:
        lines += [f"Embedder E(x, y): x ‖ y = 6 × {S} × {S}"]
        lines += _describe_layers([(f"down.{i}", m) for i, m in enumerate(E.down)], lambda: E(x, x))
        lines += [f"  sum-pool + ReLU → e ∈ R^{N}"]
    if "generator" in networks:
        lines += [f"Generator G(y, ê): y = 3 × {S} × {S}"]
        layers = [(f"encoder.{i}", m) for i, m in enumerate(G.encoder)] + \
                 [(f"decoder.{i}", m) for i, m in enumerate(G.decoder)]
        lines += _describe_layers(layers, lambda: G(x, e_hat))
        lines += [f"  {'projection':<14}{'P':<15}→ {f'ψ̂ ∈ R^{G.n_psi}':<16}{_count(G.projection):>12,}"]
    if "discriminator" in networks:
        lines += [f"Discriminator D(x, y, i): x ‖ y = 6 × {S} × {S}"]
        layers = [(f"down.{i}", m) for i, m in enumerate(D.down)] + [("block", D.block)]
        lines += _describe_layers(layers, lambda: D(x, x, w=e_hat))
        lines += [f"  sum-pool + ReLU → v ∈ R^{N};  r = vᵀ(W_i + w₀) + b,  W: num_videos × {N}"]
    return "\n".join(lines)


def add_models_command(subcommands) -> None:
    p = subcommands.add_parser("models", help="architecture summary and parameter counts of a model preset")
    p.add_argument("--preset", default="paper", choices=sorted(PRESETS), help="model preset (default: paper)")
    p.add_argument("--json", action="store_true", help="print only the parameter counts, as one JSON object")

    def run(args) -> None:
        if args.json:
            print(json.dumps(parameter_counts(args.preset)))
        else:
            print(f"{get_preset(args.preset)}\n\n{architecture_summary(args.preset)}\n\n{parameter_table(args.preset)}")

    p.set_defaults(run=run)
