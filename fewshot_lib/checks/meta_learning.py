"""Notebook 06 · one meta-learning iteration (exercises 6.1, 6.2), and check_not_collapsed, which checks the
learner's own training run rather than an exercise."""
from __future__ import annotations

import torch

from ..losses import discriminator_hinge_loss, embedding_match_loss
from ..models import Discriminator, Embedder, Generator, get_preset
from .check import Check, backward, gradients, seeded_rng


def _tiny_episode(g: torch.Generator, B: int = 2, K: int = 3) -> dict[str, torch.Tensor]:
    S = get_preset("tiny").image_size
    image = lambda *shape: torch.rand(*shape, S, S, generator=g) * 2 - 1
    return {"frames": image(B, K, 3), "sketches": image(B, K, 3), "target": image(B, 3), "target_sketch": image(B, 3),
            "video": torch.tensor([1, 4][:B])}


def check_embed_and_generate(embed_and_generate) -> None:
    """Exercise 6.1: ``embed_and_generate(E, G, frames, sketches, y_t) → (x̂ (B, 3, S, S), e (B, K, N))``."""
    with Check("check_embed_and_generate", "e_k = E(x_k, y_k), ê = (1/K) Σ_k e_k, x̂ = G(y_t, ê)",
               hint="E takes a batch of single images: merge the B and K axes of the frames and of the sketches "
                    "before calling it, then split its output back into (B, K, N) for e; ê is the mean of e over "
                    "the K axis, and G gets the target sketches with ê. Keep the graph: no torch.no_grad, no "
                    ".detach()") as check:
        torch.manual_seed(0)
        cfg = get_preset("tiny")
        E, G = Embedder(cfg).eval(), Generator(cfg).eval()
        batch = _tiny_episode(seeded_rng(0))
        frames, sketches, y_t = batch["frames"], batch["sketches"], batch["target_sketch"]
        x_hat, e = embed_and_generate(E, G, frames, sketches, y_t)
        with torch.no_grad():
            e_hat_library, e_library = E.embed_frames(frames, sketches)
            x_hat_library = G(y_t, e_hat_library)
        check.close("e: one vector per frame, E(x_k, y_k)", e, e_library, atol=1e-5)
        check.close("x̂ = G(y_t, mean of the e_k)", x_hat, x_hat_library, atol=1e-5)
        order = torch.tensor([2, 0, 1])
        with torch.no_grad():
            shuffled, _ = embed_and_generate(E, G, frames[:, order], sketches[:, order], y_t)
        check.close("x̂ does not depend on the order of the K frames", shuffled, x_hat, atol=1e-5)
        check.holds("gradients reach E and G (no torch.no_grad, no detach)", backward(x_hat.square().mean())
                    and all(p.grad is not None for p in [*E.parameters(), *G.parameters()]))


def check_discriminator_losses(discriminator_losses) -> None:
    """Exercise 6.2: ``discriminator_losses(D, batch, x_hat, e, match) → {"L_DSC": …, "L_MCH": …}``."""
    with Check("check_discriminator_losses",
               "D's step: hinge on D(x_t) and D(x̂.detach()), match · L_MCH(e.detach(), W_i)",
               hint="stack the real targets and the detached x̂ along the batch axis (their sketches and video "
                    "indices repeated to match), score them in one pass of D and split the scores into a real half "
                    "and a fake half for the hinge; L_MCH compares the detached e with the columns W_i of the "
                    "batch's videos, weighted by match, and W_i keeps its gradient") as check:
        torch.manual_seed(0)
        cfg = get_preset("tiny")
        D = Discriminator(cfg, num_videos=6).eval()
        g = seeded_rng(0)
        batch = _tiny_episode(g)
        x_hat = (torch.rand(2, 3, 32, 32, generator=g) * 2 - 1).requires_grad_()
        e = torch.rand(2, 3, cfg.embed_dim, generator=g).requires_grad_()
        losses = discriminator_losses(D, batch, x_hat, e, 10.0)
        x_t, y_t, i = batch["target"], batch["target_sketch"], batch["video"]
        with torch.no_grad():
            hinge = discriminator_hinge_loss(D(x_t, y_t, i)[0], D(x_hat, y_t, i)[0])
            match = 10.0 * embedding_match_loss(e, D.W(i))
        check.holds("a dict with the terms 'L_DSC' and 'L_MCH'",
                    isinstance(losses, dict) and {"L_DSC", "L_MCH"} <= set(losses),
                    f"got {sorted(losses) if isinstance(losses, dict) else type(losses).__name__}")
        check.close("L_DSC: the hinge loss of D's scores of x_t (real) and x̂ (fake)", losses["L_DSC"], hinge)
        check.close("L_MCH: match · (1/K) Σ_k ‖W_i − e_k‖₁", losses["L_MCH"], match, rtol=1e-5)
        to_x_hat, to_e = gradients(losses["L_DSC"] + losses["L_MCH"], [x_hat, e])
        check.holds("x̂ is detached: D's step never reaches the generator", to_x_hat is None or not to_x_hat.any())
        check.holds("e is detached: D's step never reaches the embedder", to_e is None or not to_e.any())
        to_W, = gradients(losses["L_MCH"], [D.W.weight])
        rows = [] if to_W is None else to_W.abs().sum(dim=1).nonzero().flatten().tolist()
        check.holds("L_MCH moves the columns W_i of the batch's videos, and only those", rows == sorted(i.tolist()),
                    f"rows of W with a gradient: {rows}")


def check_not_collapsed(generated, real, swapped=None, min_ratio: float = 0.2) -> dict[str, float]:
    """Fail on generated frames that are flat, the same for every person, or blind to ê (a collapsed run).

    ``generated``: G(y_t, ê) for P ≥ 2 people (P, 3, S, S) in [-1, 1]; ``real``: their targets x_t, same shape;
    ``swapped`` (optional): G(y_t, ê of the previous person), i.e. with ``e_hat.roll(1, dims=0)``. Each spread
    of the generated frames is divided by the same spread of the real ones, and must reach ``min_ratio``:

    * **within a frame**: the std of a frame's pixels (per image and channel, averaged): 0 for a flat colour;
    * **across people**: the std over the P people of each pixel (averaged): 0 when everyone gets the same frame;
    * **ê matters** (with ``swapped``): mean |G(y_t, ê) − G(y_t, ê of another)| over mean |x_t − x_t of another|:
      0 when G ignores the person's embedding (the sketch alone decides the frame).

    Returns the ratios; raises :class:`CheckFailed` when one falls short. Introduced in notebook 06.
    """
    generated, real = torch.as_tensor(generated).detach().cpu().float(), torch.as_tensor(real).detach().cpu().float()
    if generated.dim() != 4 or generated.shape != real.shape or generated.shape[0] < 2:
        raise ValueError(f"check_not_collapsed needs generated and real frames of one shape (P, 3, S, S) with P ≥ 2 "
                         f"people; got {tuple(generated.shape)} and {tuple(real.shape)}")
    within = lambda x: x.flatten(2).std(dim=2).mean().item()           # per image and channel, over H·W
    across = lambda x: x.std(dim=0).mean().item()                      # per pixel, over the P people
    ratios = {"within a frame": within(generated) / max(within(real), 1e-8),
              "across people": across(generated) / max(across(real), 1e-8)}
    if swapped is not None:
        swapped = torch.as_tensor(swapped).detach().cpu().float()
        if swapped.shape != generated.shape:
            raise ValueError(f"swapped must have the shape of generated {tuple(generated.shape)}; "
                             f"got {tuple(swapped.shape)}")
        ratios["ê matters"] = ((generated - swapped).abs().mean().item()
                               / max((real - real.roll(1, dims=0)).abs().mean().item(), 1e-8))
    with Check("check_not_collapsed",
               f"the generated frames vary as real ones do: each spread at least {min_ratio:g} × the real frames'",
               hint="a collapsed run: look at its log (L_DSC stuck at 0, D_real and D_fake drifting apart) and at "
                    "‖ê‖; lower λ_MCH (match_weight) or the learning rates, and train again") as check:
        check.holds("not flat: the pixels of a frame vary", ratios["within a frame"] >= min_ratio,
                    f"std within a frame {within(generated):.3f}, real {within(real):.3f}: "
                    f"ratio {ratios['within a frame']:.2f}")
        check.holds("not the same frame for everyone: pixels vary across people", ratios["across people"] >= min_ratio,
                    f"std across people {across(generated):.3f}, real {across(real):.3f}: "
                    f"ratio {ratios['across people']:.2f}")
        if swapped is not None:
            check.holds("not blind to the person: another person's ê changes the frame",
                        ratios["ê matters"] >= min_ratio,
                        f"mean |x̂ − x̂ with another ê| {(generated - swapped).abs().mean().item():.3f}, real "
                        f"|x_t − another's x_t| {(real - real.roll(1, dims=0)).abs().mean().item():.3f}: "
                        f"ratio {ratios['ê matters']:.2f}")
    return ratios
