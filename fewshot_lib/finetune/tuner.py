"""Fine-tuning (paper, "Two variants"): G and D trained on the T frames with the reference GAN step."""
from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..flags import at_least, check_ranges
from ..losses import ContentLoss, LossWeights, build_content_loss
from ..models import Discriminator, Embedder, Generator
from ..train.step import GAN, gan_step, generator_update
from .shots import Shots
from .person import PersonModel


@dataclass(frozen=True)
class FinetuneConfig:
    """How to fine-tune (paper: "a few dozen epochs", the meta-learning learning rates)."""

    epochs: int = field(default=40, metadata=at_least(0))   # passes over the T frames; 0 = feed-forward
                                      # (FF), nothing trained
    batch_size: int = field(default=8, metadata=at_least(1))   # frames per step (at most T are used)
    lr_g: float = 5e-5                # Adam for G's weights and ψ′ (paper: same as meta-learning)
    lr_d: float = 2e-4                # Adam for D's weights, w′ and b′
    betas: tuple[float, float] = (0.5, 0.999)   # Adam's β₁ β₂
    d_steps: int = field(default=2, metadata=at_least(0))   # D steps per G step, as in meta-learning
    content_fallback: str = "pixel"   # what replaces L_CNT without VGG weights (losses.build_content_loss)
    seed: int = 0                     # the order frames are visited in

    def __post_init__(self):
        object.__setattr__(self, "betas", tuple(self.betas))
        check_ranges(self)

    @classmethod
    def from_checkpoint(cls, checkpoint: str | Path, **overrides) -> "FinetuneConfig":
        """The meta-learning run's learning rates, betas, D steps and L_CNT fallback (the paper fine-tunes
        with the same learning rates), read from its checkpoint; ``overrides`` set any other field."""
        from ..train.checkpoint import load_checkpoint

        meta = load_checkpoint(checkpoint).get("train_config", {})
        same = {k: meta[k] for k in INHERITED if k in meta}
        return cls(**{**same, **overrides})


INHERITED = ("lr_g", "lr_d", "betas", "d_steps", "content_fallback")
"""The fine-tuning settings taken from the meta-learning run by default (the paper fine-tunes with its rates)."""


class FineTuner:
    """Stage 2 of the paper for one person: G and D initialised from meta-learning, trained on T frames.

    >>> tuner = FineTuner(E, G, D, Shots.from_photo("me.jpg", 64))   # doctest: +SKIP
    >>> tuner.train(epochs=40); person = tuner.person_model()         # doctest: +SKIP

    The meta-learned networks passed in are not modified. ``train`` may be called several
    times (e.g. to look at the person model every few epochs); epochs keep counting.
    ``content``: an L_CNT built once by :func:`~fewshot_lib.losses.build_content_loss` and shared
    by many fine-tunings (default: build one, and keep its ``loss_description``).
    """

    def __init__(self, E: Embedder, G: Generator, D: Discriminator, shots: Shots,
                 cfg: FinetuneConfig = FinetuneConfig(), content: ContentLoss | None = None):
        self.cfg = cfg
        self.device = next(G.parameters()).device
        self.shots = shots.to(self.device)
        self.e_hat = embed_person(E, self.shots)                             # ê_NEW (N,)
        self.G, self.D = copy.deepcopy(G).eval(), copy.deepcopy(D).eval()
        with torch.no_grad():
            psi = self.G.psi_hat(self.e_hat[None])[0]                        # ψ′ = P · ê_NEW (n_psi,)
            w = self.D.w0 + self.e_hat                                       # w′ = w₀ + ê_NEW (N,); b′ = b
        self.G.projection = None                                             # P is not needed any more
        self.psi, self.w = nn.Parameter(psi.clone()), nn.Parameter(w.clone())
        d_params = [p for name, p in self.D.named_parameters() if not name.startswith(("W.", "w0"))]
        self.opt_G = torch.optim.Adam([*self.G.parameters(), self.psi], lr=cfg.lr_g, betas=cfg.betas)
        self.opt_D = torch.optim.Adam([*d_params, self.w], lr=cfg.lr_d, betas=cfg.betas)
        self.weights = LossWeights().feed_forward()                          # no L_MCH in fine-tuning
        self.loss_description = "L_CNT: the content loss the caller passed in."
        if content is None:
            content, self.loss_description = build_content_loss(self.weights, cfg.content_fallback)
        self.content = content.to(self.device)
        self.gan = GAN(self.D, self.content, self.weights, self.opt_G, self.opt_D)   # D scores with w′
        self.epoch = 0

    def make_fakes(self, indices: torch.Tensor):
        """The forward pass of the G update for shots ``indices``: ``() → (x̂ = G(y; ψ, ψ′), no e)``."""
        y = self.shots.sketches[indices]
        return lambda: (self.G.forward_from_psi(y, self.psi), None)

    def generator_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """The G update alone (:func:`~fewshot_lib.train.step.generator_update`): the losses and x̂ (detached)."""
        losses, x_hat, _ = generator_update(self.gan, lambda: (self.G.forward_from_psi(y, self.psi), None), x, y,
                                            {"w": self.w})
        return losses, x_hat

    def batches(self, epoch: int) -> list[torch.Tensor]:
        """The frame indices of each step of ``epoch``: a permutation of 0..T-1 from (seed, epoch)."""
        rng = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + epoch)
        order = torch.randperm(len(self.shots), generator=rng)
        return list(order.split(self.cfg.batch_size))

    @torch.enable_grad()
    def train(self, epochs: int | None = None, progress: bool = True) -> list[dict[str, float]]:
        """Fine-tune for ``epochs`` more epochs (default: the config's); one row of mean losses per epoch
        (gradients on, also when called inside ``torch.no_grad()``, e.g. from an evaluation)."""
        from tqdm.auto import tqdm

        epochs = self.cfg.epochs if epochs is None else epochs
        steps_per_epoch = math.ceil(len(self.shots) / self.cfg.batch_size)
        bar = tqdm(total=epochs * steps_per_epoch, disable=not progress or epochs == 0, desc="fine-tuning")
        rows, start = [], time.perf_counter()
        self.G.train(), self.D.train()
        for _ in range(epochs):
            totals: dict[str, float] = {}
            for indices in self.batches(self.epoch):
                x, y = self.shots.frames[indices], self.shots.sketches[indices]    # (B, 3, S, S)
                losses = gan_step(self.gan, self.make_fakes(indices), x, y, {"w": self.w}, self.cfg.d_steps)
                for key, value in losses.items():
                    totals[key] = totals.get(key, 0.0) + float(value) / steps_per_epoch
                bar.update()
            self.epoch += 1
            if not all(math.isfinite(v) for v in totals.values()):
                raise FloatingPointError(f"fine-tuning diverged at epoch {self.epoch} ({totals}); "
                                         "lower lr_g and lr_d")
            rows.append({"epoch": self.epoch, **{k: round(v, 5) for k, v in totals.items()},
                         "seconds": round(time.perf_counter() - start, 2)})
            bar.set_postfix({k: f"{totals[k]:.3f}" for k in ("L_CNT", "L_DSC") if k in totals})
        bar.close()
        self.G.eval(), self.D.eval()
        return rows

    def person_model(self, info: dict[str, Any] | None = None) -> PersonModel:
        """A copy of the current G and ψ′ as a :class:`PersonModel` (eval mode)."""
        notes = {"shots": len(self.shots), "epochs": self.epoch, "finetune_config": asdict(self.cfg), **(info or {})}
        return PersonModel(copy.deepcopy(self.G), self.psi, self.shots.landmarks, notes)


class WarpFineTuner(FineTuner):
    """Fine-tuning the warping generator (notebook 10) for one person, as :class:`FineTuner` does the paper's:
    its painter G with ψ′ = P · ê_NEW and D with w′ = w₀ + ê_NEW, plus the flow network F and β, all trained
    on the T shots, which are also the references every frame is warped from.

    >>> person = WarpFineTuner(warper, D, Shots.from_photo("me.jpg", 64)).person_model()   # doctest: +SKIP
    """

    def __init__(self, warper, D: Discriminator, shots: Shots, cfg: FinetuneConfig = FinetuneConfig(),
                 content: ContentLoss | None = None):
        super().__init__(warper.E, warper.G, D, shots, cfg, content)
        self.warp_cfg = warper.cfg
        self.flow = copy.deepcopy(warper.F).to(self.device)
        self.log_beta = nn.Parameter(warper.log_beta.detach().clone())
        self.opt_G.add_param_group({"params": [*self.flow.parameters(), self.log_beta]})   # same lr as G
        self.landmarks = torch.from_numpy(self.shots.landmarks).to(self.device)             # (T, 68, 2)

    def make_fakes(self, indices: torch.Tensor):
        """x̂ for shots ``indices`` warped from all T shots (with T = 1, the photo is its own reference)."""
        from ..warping.generator import warp_and_blend

        y, B, T = self.shots.sketches[indices], len(indices), len(self.shots)

        def generate():
            painted = self.G.forward_from_psi(y, self.psi)                    # (B, 3, S, S)
            references = (self.shots.frames[None].expand(B, T, -1, -1, -1), self.shots.sketches[None].expand(
                B, T, -1, -1, -1), self.landmarks[None].expand(B, T, 68, 2))
            return warp_and_blend(self.flow, self.log_beta, *references, y, self.landmarks[indices],
                                  painted)["x_hat"], None
        return generate

    def train(self, epochs: int | None = None, progress: bool = True) -> list[dict[str, float]]:
        self.flow.train()
        rows = super().train(epochs, progress)
        self.flow.eval()
        return rows

    def person_model(self, info: dict[str, Any] | None = None):
        """A :class:`~fewshot_lib.warping.person.WarpPerson` of the current weights and the T shots."""
        from ..warping.person import WarpPerson

        notes = {"shots": len(self.shots), "epochs": self.epoch, "finetune_config": asdict(self.cfg), **(info or {})}
        return WarpPerson(self.flow, self.log_beta, self.G, self.psi, self.shots.frames, self.shots.sketches,
                          self.shots.landmarks, self.warp_cfg, notes)


@torch.no_grad()
def embed_person(E: Embedder, shots: Shots) -> torch.Tensor:
    """ê_NEW = (1/T) Σ_t E(x_t, y_t): the person's embedding ``(N,)`` (E in eval mode)."""
    was_training = E.training
    E.eval()
    e_hat, _ = E.embed_frames(shots.frames[None], shots.sketches[None])      # (1, N), (1, T, N)
    E.train(was_training)
    return e_hat[0]


def finetune(E: Embedder, G: Generator, D: Discriminator, shots: Shots, cfg: FinetuneConfig = FinetuneConfig(),
             progress: bool = True, info: dict[str, Any] | None = None,
             content: ContentLoss | None = None) -> PersonModel:
    """A person model from T shots: fine-tune ``cfg.epochs`` epochs (0: the feed-forward model).
    ``content``: an L_CNT shared by many fine-tunings (see :class:`FineTuner`)."""
    tuner = FineTuner(E, G, D, shots, cfg, content=loss_for(cfg, content))
    tuner.train(progress=progress)
    return tuner.person_model(info)


def finetune_warp(warper, D: Discriminator, shots: Shots, cfg: FinetuneConfig = FinetuneConfig(),
                  progress: bool = True, info: dict[str, Any] | None = None, content: ContentLoss | None = None):
    """:func:`finetune` for the warping generator (notebook 10): a
    :class:`~fewshot_lib.warping.person.WarpPerson` of the T shots (0 epochs: the feed-forward one)."""
    tuner = WarpFineTuner(warper, D, shots, cfg, content=loss_for(cfg, content))
    tuner.train(progress=progress)
    return tuner.person_model(info)


def loss_for(cfg: FinetuneConfig, content: ContentLoss | None) -> ContentLoss | None:
    """The L_CNT to fine-tune with: ``content`` if given; none to load (no VGG) when 0 epochs train nothing."""
    return ContentLoss({}, {}) if content is None and cfg.epochs == 0 else content
