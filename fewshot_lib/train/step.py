"""One GAN step (paper, Sec. 3.2), written once and used by every trainer.

Meta-learning (E and G make x̂ from K frames), fine-tuning (G makes x̂ from ψ′) and the warping
generator (x̂ from warped references and a painter) differ only in how they make x̂ and in the
column D scores with. The step itself is the same::

    x̂, e = generate()                                   the trainer's forward pass
    1. E/G update on  L_CNT(x̂, x) + L_ADV(x̂) (+ L_MCH)   D frozen: gradients reach x̂, not D
    2. d_steps D updates on L_DSC(x, x̂.detach())         (+ L_MCH pulling W_i towards the detached e)

with L_ADV = −D(x̂) + λ_FM · L_FM (the real frame's D features are the targets of L_FM),
L_DSC = max(0, 1 − D(x)) + max(0, 1 + D(x̂)) and L_MCH = (1/K) Σ_k ‖W_i − e_k‖₁.

``column`` says which projection column D scores with (``Discriminator.forward``'s keywords):
``{"video_idx": i}`` in meta-learning (W_i + w₀, and W_i is L_MCH's other side) or ``{"w": w′}``
in fine-tuning (w′ = w₀ + ê_NEW).

Read :func:`gan_step` top to bottom: it is the whole iteration. :class:`FastPath` is what a GPU
run wraps around it (autocast, fp16 loss scaling, D wrapped in DDP or compiled, the rows of W
all-reduced); its defaults change nothing, and ``tests/test_train_step.py`` shows that the fast
path and the plain step give the same losses and updates. Introduced in notebook 06.
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from ..losses import LossWeights, adversarial_loss, discriminator_hinge_loss, embedding_match_loss

Generate = Callable[[], "tuple[torch.Tensor, torch.Tensor | None]"]
"""The trainer's forward pass: ``() → (x̂ (B, 3, S, S), e (B, K, N) or None)``."""


@contextmanager
def frozen(module: nn.Module):
    """No weight gradients for ``module`` inside the block; gradients still flow through it to its inputs."""
    module.requires_grad_(False)
    try:
        yield
    finally:
        module.requires_grad_(True)


def _disabled_scaler() -> torch.amp.GradScaler:
    return torch.amp.GradScaler("cpu", enabled=False)


@dataclass
class FastPath:
    """What a fast run changes around the step; the defaults are the plain step.

    ``dtype``: the autocast dtype (float32: no autocast). ``scaler_G``/``scaler_D``: fp16 loss
    scaling (disabled: ``scale(loss)`` is ``loss`` and ``step(opt)`` is ``opt.step()``).
    ``score``: D as its own updates call it (e.g. wrapped in DDP, compiled); ``score_frozen``: D as
    the E/G update calls it (frozen, so nothing to average: compiled at most). ``after_backward_D``:
    run on the column between D's backward and its step (several processes: all-reduce the rows of W
    this step used).
    """

    dtype: torch.dtype = torch.float32
    scaler_G: torch.amp.GradScaler = field(default_factory=_disabled_scaler)
    scaler_D: torch.amp.GradScaler = field(default_factory=_disabled_scaler)
    score: Callable | None = None
    score_frozen: Callable | None = None
    after_backward_D: Callable[[dict], None] | None = None
    device_type: str = "cpu"

    def autocast(self):
        if self.dtype == torch.float32:
            return nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)


@dataclass
class GAN:
    """The parts every trainer hands to :func:`gan_step`: D, the losses, the two optimisers."""

    D: nn.Module                          # the projection discriminator (W, w₀, b inside)
    content: nn.Module                    # L_CNT (VGG19 + VGGFace, or the offline stand-in)
    weights: LossWeights                  # λ_FM, λ_MCH (0: no L_MCH)
    opt_G: torch.optim.Optimizer          # E, G, P, ψ′ — whatever makes x̂
    opt_D: torch.optim.Optimizer          # D's weights and its column(s)
    fast: FastPath = field(default_factory=FastPath)


def _twice(column: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The column for real and fake frames stacked in one batch of 2B."""
    return {key: value if value.dim() == 1 and key == "w" else torch.cat([value, value])
            for key, value in column.items()}



def given_or(score: Callable | None, D: nn.Module) -> Callable:
    """``score`` if set, else D itself (tested with ``is None``: a compiled module cannot be truth-tested)."""
    return D if score is None else score


def generator_update(gan: GAN, generate: Generate, x: torch.Tensor, y: torch.Tensor,
                     column: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor | None]:
    """Step 1: one Adam step of whatever made x̂ on L_CNT + L_ADV (+ L_MCH).

    Returns the losses, x̂ and e, all detached.
    """
    fast, score = gan.fast, given_or(gan.fast.score_frozen, gan.D)
    with fast.autocast():
        x_hat, e = generate()                                                # (B, 3, S, S), (B, K, N) or None
        with frozen(gan.D):                                                  # gradients reach x̂, not D
            r_fake, fake_features = score(x_hat, y, **column)                # D(x̂) (B,)
            with torch.no_grad():
                _, real_features = score(x, y, **column)                     # targets of L_FM
        losses = {"L_CNT": gan.content(x_hat.float(), x),
                  "L_ADV": adversarial_loss(r_fake.float(), real_features, fake_features,
                                            gan.weights.feature_matching)}   # −D(x̂) + λ_FM · L_FM
        if gan.weights.match:
            W_i = gan.D.W(column["video_idx"]).detach()                      # (B, N): E moves, W stays
            losses["L_MCH"] = gan.weights.match * embedding_match_loss(e.float(), W_i)
        loss = sum(losses.values())
    gan.opt_G.zero_grad(set_to_none=True)
    fast.scaler_G.scale(loss).backward()
    fast.scaler_G.step(gan.opt_G)
    fast.scaler_G.update()
    losses["loss_G"] = loss
    return ({k: v.detach() for k, v in losses.items()}, x_hat.detach(),
            None if e is None else e.detach())


def discriminator_update(gan: GAN, x: torch.Tensor, y: torch.Tensor, x_hat: torch.Tensor,
                         e: torch.Tensor | None, column: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Step 2: one Adam step of D (and its column) on L_DSC (+ L_MCH towards the detached e)."""
    fast, score = gan.fast, given_or(gan.fast.score, gan.D)
    with fast.autocast():
        # Real and fake frames in one pass of 2B (D mixes nothing between images); x̂ detached: G untouched.
        r, _ = score(torch.cat([x, x_hat]), torch.cat([y, y]), **_twice(column))
        r_real, r_fake = r.float().chunk(2)                                  # (B,) each
        loss = discriminator_hinge_loss(r_real, r_fake)                      # max(0, 1 − D(x)) + max(0, 1 + D(x̂))
        losses = {"L_DSC": loss.detach(), "D_real": r_real.detach().mean(), "D_fake": r_fake.detach().mean()}
        if gan.weights.match:
            loss = loss + gan.weights.match * embedding_match_loss(e, gan.D.W(column["video_idx"]))  # W moves
    gan.opt_D.zero_grad(set_to_none=True)
    fast.scaler_D.scale(loss).backward()
    if fast.after_backward_D is not None:
        fast.after_backward_D(column)
    fast.scaler_D.step(gan.opt_D)
    fast.scaler_D.update()
    return losses


def gan_step(gan: GAN, generate: Generate, x: torch.Tensor, y: torch.Tensor,
             column: dict[str, torch.Tensor], d_steps: int) -> dict[str, torch.Tensor]:
    """One training iteration: the E/G update, then ``d_steps`` D updates on the detached x̂.

    ``x``: the real frames (B, 3, S, S); ``y``: their sketches (the pose x̂ is drawn in);
    ``generate``: makes x̂ (with gradients) for that pose. Returns the losses (on the device:
    nothing here waits for it); L_DSC, D_real and D_fake are those of the last D update.
    """
    losses, x_hat, e = generator_update(gan, generate, x, y, column)
    for _ in range(d_steps):
        losses.update(discriminator_update(gan, x, y, x_hat, e, column))
    return losses
