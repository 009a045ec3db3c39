"""Notebook 07 · fine-tuning."""
from __future__ import annotations

import numpy as np
import torch

from ..finetune import FinetuneConfig, FineTuner, Shots
from ..losses import ContentLoss
from ..models import Discriminator, Embedder, Generator, get_preset
from .check import Check, gradients, seeded_rng


def _tiny_person(T: int) -> tuple[Embedder, Generator, Discriminator, Shots]:
    """Tiny meta-learned networks (w₀ and b not zero, so that forgetting them shows) and T shots of a person."""
    torch.manual_seed(0)
    cfg = get_preset("tiny")
    E, G, D = Embedder(cfg).eval(), Generator(cfg).eval(), Discriminator(cfg, num_videos=4).eval()
    g = seeded_rng(0)
    with torch.no_grad():
        D.w0.normal_(generator=g)
        D.b.fill_(0.5)
    S = cfg.image_size
    image = lambda: torch.rand(T, 3, S, S, generator=g) * 2 - 1                   # (T, 3, S, S) in [-1, 1]
    return E, G, D, Shots(image(), image(), np.zeros((T, 68, 2), np.float32))


def _pixel_content() -> ContentLoss:
    """L_CNT as offline fine-tuning gets it (multi-scale pixel L1, weight 10): no VGG weights to download."""
    return ContentLoss({"pixel": 10.0}, {})


def check_fine_tuning_start(fine_tuning_start) -> None:
    """Exercise 7.1: ``fine_tuning_start(E, G, D, frames, sketches) → (ê_NEW (N,), ψ′ (n_psi,), w′ (N,))``."""
    with Check("check_fine_tuning_start", "ê_NEW = (1/T) Σ_t E(x_t, y_t), ψ′ = P · ê_NEW, w′ = w₀ + ê_NEW",
               hint="ê is the mean of E's embeddings of the T frames; ψ′ is what P makes of ê; w′ starts at w0 + ê "
                    "as a new "
                    "tensor: the meta-learned networks themselves must not change") as check:
        E, G, D, shots = _tiny_person(5)
        w0 = D.w0.detach().clone()
        e_hat, psi, w = fine_tuning_start(E, G, D, shots.frames, shots.sketches)
        check.holds("the meta-learned D is unchanged (w₀ not updated in place)", torch.equal(D.w0, w0))
        tuner = FineTuner(E, G, D, shots, FinetuneConfig(epochs=0), content=_pixel_content())
        check.close("ê_NEW: the mean of E over the T frames, as fewshot_lib.finetune.FineTuner", e_hat, tuner.e_hat)
        check.close("ψ′ = P · ê_NEW, as FineTuner (G's AdaIN parameters for this person)", psi, tuner.psi)
        check.close("w′ = w₀ + ê_NEW, as FineTuner (D's column for this person)", w, tuner.w)
        order = torch.tensor([3, 0, 4, 1, 2])
        shuffled, _, _ = fine_tuning_start(E, G, D, shots.frames[order], shots.sketches[order])
        check.close("ê_NEW does not depend on the order of the T frames", shuffled, e_hat)
        twice, _, _ = fine_tuning_start(E, G, D, shots.frames.repeat(2, 1, 1, 1), shots.sketches.repeat(2, 1, 1, 1))
        check.close("a mean, not a sum: every frame given twice leaves ê_NEW as it is", twice, e_hat)


def check_fine_tuning_losses(fine_tuning_losses) -> None:
    """Exercise 7.2: ``fine_tuning_losses(G, D, psi, w, x, y, content, fm_weight) → {"L_CNT": …, "L_ADV": …}``."""
    with Check("check_fine_tuning_losses",
               "x̂ = G(y; ψ′), L_CNT(x̂, x) and L_ADV = −D(x̂, y; w′) + fm_weight · L_FM: G's fine-tuning step",
               hint="G draws from ψ′ (no P any more); D scores x̂ with the person's own column w′; the real frames' "
                    "features are only a target, so no gradient flows through them") as check:
        E, G, D, shots = _tiny_person(4)
        tuner = FineTuner(E, G, D, shots, FinetuneConfig(epochs=0), content=_pixel_content())
        x, y = tuner.shots.frames, tuner.shots.sketches                        # (T, 3, S, S)
        losses = fine_tuning_losses(tuner.G, tuner.D, tuner.psi, tuner.w, x, y, tuner.content, 10.0)
        check.holds("a dict with the terms 'L_CNT' and 'L_ADV'",
                    isinstance(losses, dict) and {"L_CNT", "L_ADV"} <= set(losses),
                    f"got {sorted(losses) if isinstance(losses, dict) else type(losses).__name__}")
        to_psi, to_w, *to_G = gradients(losses["L_CNT"] + losses["L_ADV"], [tuner.psi, tuner.w, *tuner.G.parameters()])
        adversarial_to_psi, = gradients(losses["L_ADV"], [tuner.psi])
        library, _ = tuner.generator_step(x, y)                               # the same losses, then one Adam step
        check.close("L_CNT: equals FineTuner.generator_step's", losses["L_CNT"], library["L_CNT"])
        check.close("L_ADV: equals FineTuner.generator_step's", losses["L_ADV"], library["L_ADV"])
        check.holds("gradients reach ψ′ and every weight of G (both are fine-tuned)",
                    to_psi is not None and to_psi.any() and all(t is not None for t in to_G))
        check.holds("L_ADV's gradient reaches ψ′ (x̂ is not detached: D's opinion trains the person model)",
                    adversarial_to_psi is not None and adversarial_to_psi.any())
        check.holds("D scores x̂ with the person's column w′ (L_ADV depends on it)", to_w is not None and to_w.any())
