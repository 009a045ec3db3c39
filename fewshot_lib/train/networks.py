"""The networks a meta-learning run leaves behind, read back from its checkpoint, and the copy that is shipped.

* :func:`load_networks` (:func:`networks_from_state` for a checkpoint already read): E, G (with P) and
  D (with W) in eval mode, without the optimisers; fine-tuning (notebook 07), evaluation (notebook 08),
  puppeteering (notebook 09) and ``fewshot animate`` start here;
* :func:`load_warping_generator`: the warping generator (notebook 10) and D from a ``model="warp"`` run;
  :func:`warping_state` says which of its weights are its own (F, β) and which its painter's (E, G);
* :func:`export_weights`: a compact copy of a checkpoint (no optimiser state), what gets committed and shipped.

Introduced in notebook 06 (the shipped model, loaded with :func:`load_networks`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..models import Discriminator, Embedder, Generator, ModelConfig
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint


def warping_state(model: nn.Module, painter: bool = False) -> dict[str, torch.Tensor]:
    """The warping generator's own weights (F, β), or with ``painter`` those of its E and G."""
    return {k: v for k, v in model.state_dict().items() if k.startswith(("E.", "G.")) == painter}


def load_networks(path: str | Path, device: torch.device | str = "cpu"):
    """E, G (with P) and D (with W) from a training checkpoint, in eval mode, without the optimisers.

    Returns ``(model_cfg, E, G, D)``; fine-tuning, evaluation and puppeteering start here.
    """
    return networks_from_state(load_checkpoint(path, map_location=device), path, device)


def networks_from_state(state: dict[str, Any], path: str | Path, device: torch.device | str = "cpu"):
    """:func:`load_networks` of a checkpoint already read (``path``: for the error messages)."""
    for key in ("model_config", "num_videos", "E", "G", "D"):
        if key not in state:
            raise CheckpointError(f"{path}: has no {key!r}; is it a meta-learning checkpoint of fewshot_lib?")
    model_cfg = ModelConfig(**state["model_config"])
    E, G, D = Embedder(model_cfg), Generator(model_cfg), Discriminator(model_cfg, state["num_videos"])
    for name, network in (("E", E), ("G", G), ("D", D)):
        network.load_state_dict(state[name])
        network.to(device).eval()
    return model_cfg, E, G, D


def load_warping_generator(path: str | Path, device: torch.device | str = "cpu"):
    """The warping generator (F, with E and G as its painter) and D from a ``model="warp"`` checkpoint, in
    eval mode. Returns ``(model_cfg, warper, D)``; notebook 10 and ``fewshot animate`` start here."""
    from ..warping.generator import WarpConfig, WarpingGenerator

    state = load_checkpoint(path, map_location=device)
    if "warping" not in state:
        raise CheckpointError(f"{path}: not a warping-generator checkpoint (train one with `fewshot train --model "
                              "warp`); for the paper's model use load_networks")
    model_cfg, E, G, D = networks_from_state(state, path, device)
    warper = WarpingGenerator(E, G, WarpConfig(**state.get("warp_config", {})))   # older files: the defaults
    warper.load_state_dict({**state["warping"], **warping_state(warper, painter=True)})
    return model_cfg, warper.to(device).eval(), D


def export_weights(checkpoint: str | Path, out: str | Path, max_flow: float | None = None) -> Path:
    """A compact copy of a training checkpoint: configs, step and E, G, D weights, no optimiser state.

    This is what gets committed and shipped (``load_networks`` reads both kinds). ``max_flow``: a warping
    generator's new bound on its residual flow (``WarpConfig.max_flow``; 0: its flow switched off, the TPS
    warps kept, as in the shipped ``warp_cpu64``).
    """
    from ..warping.generator import WarpConfig

    state = load_checkpoint(checkpoint)
    keep = ("model_config", "train_config", "num_videos", "step", "version", "E", "G", "D", "warping",
            "warp_config")
    state = {key: state[key] for key in keep if key in state}            # "warp…": warp runs only
    if max_flow is not None:
        if "warping" not in state:
            raise CheckpointError(f"{checkpoint}: max_flow is a warping generator's; this is the paper's model")
        state["warp_config"] = WarpConfig(**{**state.get("warp_config", {}), "max_flow": max_flow}).to_dict()
    return save_checkpoint(out, state)
