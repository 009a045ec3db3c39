"""The weights of the loss terms: the ICCV 2019 values, and the arXiv v1 alternative.

The generator's objective (embedder E, generator G and projection P take one step on it)::

    L = L_CNT + L_ADV + L_MCH
      = w_vgg19 · L_VGG19 + w_vggface · L_VGGFace       (content, losses/content.py)
        − D(x̂) + w_fm · L_FM                            (adversarial, losses/adversarial.py)
        + w_match · L_MCH                                (embedding match, losses/matching.py)

and the discriminator's is the hinge loss L_DSC (no weight). Introduced in notebook 05.
"""
from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class LossWeights:
    """Weights of the loss terms; the defaults are the ICCV 2019 paper's.

    ``match = 0`` turns L_MCH off: the paper's feed-forward (FF) variant.
    ``pixel`` is not from the paper: it weighs the multi-scale pixel L1 that replaces L_CNT
    when no VGG weights are available (see :func:`fewshot_lib.losses.build_content_loss`).
    """

    vgg19: float = 1.5e-1           # L_CNT, VGG19 (ImageNet) part
    vggface: float = 2.5e-2         # L_CNT, VGGFace part
    feature_matching: float = 10.0  # L_FM inside L_ADV
    match: float = 10.0             # L_MCH (0: FF variant)
    pixel: float = 10.0             # offline replacement of L_CNT (ours; tune it with the trainer)

    def __post_init__(self):
        negative = {name: value for name, value in vars(self).items() if value < 0}
        if negative:
            raise ValueError(f"loss weights must be >= 0, got {negative}")

    @classmethod
    def arxiv_v1(cls) -> "LossWeights":
        """The first arXiv version's weights: VGG19 1e-2, VGGFace 2e-3, L_MCH 80 (L_FM unchanged)."""
        return cls(vgg19=1e-2, vggface=2e-3, match=80.0)

    def feed_forward(self) -> "LossWeights":
        """The same weights with L_MCH off: the paper's FF variant."""
        return replace(self, match=0.0)
