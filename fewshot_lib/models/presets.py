"""One configuration dataclass for the three networks, and named presets.

``paper`` is the architecture of the paper at 256×256 (docs/paper.md, "Architecture"); the other
presets keep every block of it and shrink widths and image size so that the course runs
on a CPU. Every size and width is a field: nothing is hard-coded to 256.

Introduced in notebook 03 (embedder).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from ..errors import FewshotError


class ModelConfigError(FewshotError, ValueError):
    """A model configuration that cannot build (the message says which field to change)."""


@dataclass(frozen=True)
class ModelConfig:
    """Sizes and widths of E, G and D (the defaults are the paper's).

    Down paths halve the side once per block; ``down_channels`` has one entry per block of
    E (and D, which is E's stack plus one more block), ``generator_down`` per block of G's
    encoder and ``generator_up`` per up block of G's decoder. Self-attention sits after the
    block whose output is ``attention_down`` wide (E, D, G's encoder) or ``attention_up``
    wide (G's decoder).
    """

    name: str = "custom"                                    # shown in summaries and error messages
    image_size: int = 256                                   # frames and sketches are S × S
    embed_dim: int = 512                                    # N: e, ê, v, W_i, w₀ ∈ R^N
    down_channels: tuple[int, ...] = (64, 128, 256, 512, 512, 512)   # E and D: 256 → 4
    generator_down: tuple[int, ...] = (64, 128, 256, 512)            # G's encoder: 256 → 16
    bottleneck_blocks: int = 5                              # AdaIN residual blocks at 16×16
    generator_up: tuple[int, ...] = (256, 128, 64, 32)               # G's decoder: 16 → 256
    attention_down: int = 32
    attention_up: int = 64

    def __post_init__(self):
        for f in ("down_channels", "generator_down", "generator_up"):   # lists from JSON → tuples
            object.__setattr__(self, f, tuple(int(c) for c in getattr(self, f)))
        self._validate()

    def _validate(self) -> None:
        S = self.image_size
        if S < 4 or S & (S - 1):
            raise ModelConfigError(f"image_size={S}: use a power of two (e.g. 64, 128, 256)")
        if not self.down_channels or self.down_channels[-1] != self.embed_dim:
            raise ModelConfigError(f"down_channels={self.down_channels} must end with embed_dim={self.embed_dim}: "
                                   "the last width of E (and of D) is the size N of e and v")
        if len(self.generator_up) != len(self.generator_down) or not self.generator_down:
            raise ModelConfigError(f"generator_up={self.generator_up} needs one up block per down block of "
                                   f"generator_down={self.generator_down}, so that G returns to {S}×{S}")
        if self.bottleneck_blocks < 0:
            raise ModelConfigError(f"bottleneck_blocks={self.bottleneck_blocks}: use 0 or more")
        for f in ("down_channels", "generator_down"):
            if 2 ** len(getattr(self, f)) > S:
                raise ModelConfigError(f"{f}={getattr(self, f)}: {len(getattr(self, f))} halvings of "
                                       f"{S}×{S} leave less than one pixel; remove blocks")
        down_sides = {S >> i for i in range(1, len(self.down_channels) + 1)}
        encoder_sides = {S >> i for i in range(1, len(self.generator_down) + 1)}
        if self.attention_down not in down_sides & encoder_sides:
            raise ModelConfigError(f"attention_down={self.attention_down}: no block of E/D and of G's encoder "
                                   f"outputs that side; choose one of {sorted(down_sides & encoder_sides)}")
        decoder_sides = {S >> i for i in range(len(self.generator_up))}
        if self.attention_up not in decoder_sides:
            raise ModelConfigError(f"attention_up={self.attention_up}: no up block of G outputs that side; "
                                   f"choose one of {sorted(decoder_sides)}")

    @property
    def bottleneck_size(self) -> int:
        """Side of G's bottleneck feature maps (16 in the paper)."""
        return self.image_size >> len(self.generator_down)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (for JSON, run folders and checkpoints); ``ModelConfig(**d)`` rebuilds it."""
        return asdict(self)

    def __str__(self) -> str:
        return "\n".join(f"{f.name:>17} = {getattr(self, f.name)}" for f in fields(self))

    def check_images(self, name: str, images: torch.Tensor) -> None:
        """Raise a clear error unless ``images`` is a (B, 3, S, S) batch for this preset."""
        expected = (3, self.image_size, self.image_size)
        if images.dim() != 4 or tuple(images.shape[1:]) != expected:
            raise ValueError(f"{name} must be a batch (B, {', '.join(map(str, expected))}) of RGB images in "
                             f"[-1, 1] for model preset {self.name!r}; got shape {tuple(images.shape)}")


PRESETS: dict[str, ModelConfig] = {
    # The paper: 256×256, widths 64 → 512, N = 512, bottleneck 5 × 512 × 16 × 16.
    "paper": ModelConfig(name="paper"),
    # CPU course presets: the same blocks with fewer channels; the bottleneck stays 16×16.
    # Self-attention sits one level higher than in the paper (at S/4 rather than S/8 on the way
    # down, S/4 or S/2 rather than S/4 on the way up), where its (side²)² map stays cheap.
    "cpu128": ModelConfig(name="cpu128", image_size=128, embed_dim=256,
                          down_channels=(16, 32, 64, 128, 256), generator_down=(32, 64, 128),
                          bottleneck_blocks=5, generator_up=(64, 32, 16), attention_down=32, attention_up=32),
    "cpu64": ModelConfig(name="cpu64", image_size=64, embed_dim=128,
                         down_channels=(16, 32, 64, 128), generator_down=(32, 64),
                         bottleneck_blocks=5, generator_up=(32, 16), attention_down=16, attention_up=32),
    # Unit tests and smoke runs: every block once, at 32×32.
    "tiny": ModelConfig(name="tiny", image_size=32, embed_dim=32,
                        down_channels=(8, 16, 32), generator_down=(16,),
                        bottleneck_blocks=1, generator_up=(8,), attention_down=16, attention_up=32),
}


def get_preset(name: str) -> ModelConfig:
    """The preset called ``name`` (``paper``, ``cpu128``, ``cpu64``, ``tiny``)."""
    if name not in PRESETS:
        raise KeyError(f"no model preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]
