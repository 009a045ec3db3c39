"""Notebook 05 · losses."""
from __future__ import annotations

import torch

from ..losses import adversarial_loss, discriminator_hinge_loss, embedding_match_loss
from .check import Check, backward, seeded_rng


def check_hinge_loss(hinge_loss_by_hand) -> None:
    """Exercise 5.1: ``hinge_loss_by_hand(real_score (B,), fake_score (B,)) → L_DSC``."""
    with Check("check_hinge_loss", "L_DSC = mean max(0, 1 + D(x̂)) + mean max(0, 1 − D(x)), on raw scores",
               hint="two hinge terms, each averaged over the batch: real scores are penalised below +1, fake scores "
                    "above −1, and a score beyond its margin costs nothing") as check:
        g = seeded_rng(0)
        real, fake = torch.randn(8, generator=g) + 0.5, torch.randn(8, generator=g) - 0.5
        check.close("equals fewshot_lib.losses.discriminator_hinge_loss", hinge_loss_by_hand(real, fake),
                    discriminator_hinge_loss(real, fake))
        check.close("0 once real scores ≥ 1 and fake scores ≤ −1",
                    hinge_loss_by_hand(torch.tensor([1.0, 3.0]), torch.tensor([-1.0, -5.0])), 0.0)
        check.close("a batch mean: repeating the batch changes nothing",
                    hinge_loss_by_hand(real.repeat(3), fake.repeat(3)), hinge_loss_by_hand(real, fake))
        scores = torch.tensor([2.0, 0.0, -2.0, 0.0], requires_grad=True)      # real: past margin, inside; fake: same
        backward(hinge_loss_by_hand(scores[:2], scores[2:]))
        check.close("∂L/∂score: 0 past the margin, ∓1/B inside it", scores.grad, [0.0, -0.5, 0.0, 0.5])


def _features(g: torch.Generator, requires_grad: bool) -> list[torch.Tensor]:
    shapes = [(4, 8, 16, 16), (4, 16, 8, 8), (4, 32, 4, 4)]                   # D's blocks: sizes differ
    return [torch.randn(shape, generator=g).requires_grad_(requires_grad) for shape in shapes]


def check_adversarial_loss(adversarial_loss_by_hand) -> None:
    """Exercise 5.2: ``adversarial_loss_by_hand(fake_score, real_features, fake_features, fm_weight) → L_ADV``."""
    with Check("check_adversarial_loss",
               "L_ADV = −mean D(x̂) + w · Σ_j mean |D_j(x) − D_j(x̂)|, real features detached",
               hint="the generator wants D's score of the fake high (so its loss falls as the score rises), plus "
                    "fm_weight "
                    "times one L1 distance per layer between real and fake features, with the real side held "
                    "fixed") as check:
        g = seeded_rng(0)
        score = torch.randn(4, generator=g).requires_grad_()
        real, fake = _features(g, requires_grad=True), _features(g, requires_grad=True)
        loss = adversarial_loss_by_hand(score, real, fake, 10.0)
        check.close("equals fewshot_lib.losses.adversarial_loss", loss, adversarial_loss(score, real, fake, 10.0))
        differentiable = backward(loss)
        check.holds("no gradient reaches the real features (they are targets)",
                    all(r.grad is None or not r.grad.any() for r in real))
        check.holds("the fake features get a gradient",
                    differentiable and all(f.grad is not None and f.grad.any() for f in fake))
        check.close("∂L/∂D(x̂) = −1/B for every fake", score.grad, torch.full((4,), -0.25))
        same = [f.detach() for f in fake]
        check.close("identical features: L_FM = 0, L_ADV = −mean score",
                    adversarial_loss_by_hand(score.detach(), same, same, 10.0), -score.detach().mean())


def check_embedding_match(embedding_match_by_hand) -> None:
    """Exercise 5.3: ``embedding_match_by_hand(e (B, K, N), W_i (B, N)) → L_MCH``."""
    with Check("check_embedding_match", "L_MCH = (1/K) Σ_k ‖W_i − e_k‖₁, averaged over the batch",
               hint="‖W_i − e_k‖₁ sums the absolute differences over the N coordinates; then average over the B "
                    "episodes "
                    "and their K frames (each episode compares its own W_i with its own K embeddings)") as check:
        g = seeded_rng(0)
        e, W_i = torch.randn(2, 8, 16, generator=g).requires_grad_(), torch.randn(2, 16, generator=g).requires_grad_()
        loss = embedding_match_by_hand(e, W_i)
        check.close("equals fewshot_lib.losses.embedding_match_loss", loss, embedding_match_loss(e, W_i))
        check.holds("gradients reach both e (the embedder) and W_i (the discriminator's column)",
                    backward(loss) and e.grad is not None and W_i.grad is not None and e.grad.any() and W_i.grad.any())
        e, W_i = e.detach(), W_i.detach()
        check.close("an L1 norm sums over the N coordinates: repeating each coordinate doubles it",
                    embedding_match_by_hand(e.repeat(1, 1, 2), W_i.repeat(1, 2)), 2 * embedding_match_by_hand(e, W_i))
        check.close("a mean over the K frames: repeating every frame changes nothing",
                    embedding_match_by_hand(e.repeat(1, 3, 1), W_i), embedding_match_by_hand(e, W_i))
        median = e.median(dim=1).values                                       # K = 8: a point between the middle two
        nudged = [embedding_match_by_hand(e, median + 0.05 * torch.randn(median.shape, generator=g)) for _ in range(5)]
        check.holds("W_i at the coordinate-wise median of the e_k minimises it",
                    all(embedding_match_by_hand(e, median) <= n + 1e-6 for n in nudged))
