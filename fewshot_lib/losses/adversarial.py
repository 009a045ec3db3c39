"""The adversarial losses: L_ADV for the generator (with feature matching), L_DSC for the discriminator.

The discriminator gives a realism score r = D(x, y, i) (a projection score, no sigmoid) and
its intermediate features D_j(x, y), one per residual block. The two players minimise::

    L_ADV = −D(x̂, y, i) + w_fm · L_FM,   L_FM = Σ_j ‖D_j(x) − D_j(x̂)‖₁ / |D_j|     (E, G, P)
    L_DSC = max(0, 1 + D(x̂, y, i)) + max(0, 1 − D(x, y, i))                      (D, W, w0, b)

each averaged over the batch. The hinge stops pushing a score once it is past its margin
(real > 1, fake < −1), which is why a sigmoid on r would break it: a probability can never
pass 1, so D's loss could never fall below 1. Introduced in notebook 05.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F


def feature_matching_loss(real_features: Sequence[torch.Tensor],
                          fake_features: Sequence[torch.Tensor]) -> torch.Tensor:
    """L_FM = Σ_j ‖D_j(x) − D_j(x̂)‖₁ / |D_j|: how far the fake's discriminator features are from the real's.

    Lists of D's features, one (B, C_j, H_j, W_j) tensor per block. The real features are
    targets (detached): the generator moves its image towards them, not them towards it.
    """
    if len(real_features) != len(fake_features) or not real_features:
        raise ValueError(f"feature matching needs the same, non-zero number of real and fake feature maps, "
                         f"got {len(real_features)} and {len(fake_features)}")
    return sum(F.l1_loss(fake, real.detach()) for real, fake in zip(real_features, fake_features))


def adversarial_loss(fake_score: torch.Tensor, real_features: Sequence[torch.Tensor],
                     fake_features: Sequence[torch.Tensor], fm_weight: float = 10.0) -> torch.Tensor:
    """L_ADV = −D(x̂, y, i) + w_fm · L_FM, the generator's side of the game (batch mean).

    ``fake_score``: (B,) D's scores of the generated frames (not detached: the gradient must
    reach G). This loss also gives D's parameters gradients: step only E, G, P's optimiser on it.
    """
    return -fake_score.mean() + fm_weight * feature_matching_loss(real_features, fake_features)


def discriminator_hinge_loss(real_score: torch.Tensor, fake_score: torch.Tensor) -> torch.Tensor:
    """L_DSC = max(0, 1 + D(x̂, y, i)) + max(0, 1 − D(x, y, i)), averaged over the batch.

    ``real_score``, ``fake_score``: (B,) scores; score ``x_hat.detach()`` so that D's steps
    never reach the generator.
    """
    return F.relu(1 + fake_score).mean() + F.relu(1 - real_score).mean()
