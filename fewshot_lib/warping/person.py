"""A warping person model: one person's T frames, warped and blended; the painter fixed to that person.

What :class:`~fewshot_lib.finetune.PersonModel` is to the paper's model, this is to the warping
generator: E is gone (ê_NEW was used once, for ψ′ = P · ê_NEW), the painter is G with ψ′, and the
references are the person's own T frames, kept inside the model::

    x̂ = m · Σ_k c_k warp(x_k, g_k + Δ_k) + (1 − m) · G(y_t; ψ, ψ′)

It draws a frame from a target sketch and its landmarks. It is saved as one safetensors file (no
code runs on loading). Made by :class:`~fewshot_lib.finetune.WarpFineTuner` (``epochs=0``: the
feed-forward model). Introduced in notebook 10.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import FewshotError
from .. import __version__
from ..models import Generator, ModelConfig
from ..safetensors_file import check_finite, damaged, read_safetensors, write_safetensors
from .generator import FlowNetwork, WarpConfig, compose_high_res, pose_distance, warp_and_blend

WARP_PERSON_FORMAT = "fewshot_lib warping person model"
WARP_PERSON_FORMAT_VERSION = "1"


class WarpPersonError(FewshotError, ValueError):
    """A warping person-model file is missing, unreadable or not made by fewshot_lib."""


def pick(references: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """``references`` (T, …) at the indices ``chosen`` (B, n) → (B, n, …); all T of them: a view, no copy."""
    B, n = chosen.shape
    return references[None].expand(B, *references.shape) if n == len(references) else references[chosen]


class WarpPerson(nn.Module):
    """x̂ from a target sketch and landmarks, warping this person's own ``frames``.

    ``flow``, ``log_beta``: the warping generator's F and log β; ``generator``: G without P;
    ``psi``: ψ′ (n_psi,); ``frames``, ``sketches`` (T, 3, S, S) and ``landmarks`` (T, 68, 2): the
    references; ``info``: JSON-able notes on how it was made.

    ``nearest`` (a drawing choice, not saved): draw each frame from the ``nearest`` references closest in
    pose to its target (0: all T). F runs once per reference drawn, so a live widget of many shots
    draws ``T / nearest`` times faster; the pose prior already gives the far ones little weight.
    """

    def __init__(self, flow: FlowNetwork, log_beta: torch.Tensor, generator: Generator, psi: torch.Tensor,
                 frames: torch.Tensor, sketches: torch.Tensor, landmarks: np.ndarray | torch.Tensor,
                 warp_cfg: WarpConfig, info: dict | None = None):
        super().__init__()
        generator = copy.deepcopy(generator)
        generator.projection = None                                          # ψ′ is given: no P · ê
        self.flow, self.generator, self.warp_cfg = copy.deepcopy(flow).eval(), generator.eval(), warp_cfg
        self.log_beta = nn.Parameter(log_beta.detach().clone().reshape(()), requires_grad=False)
        self.psi = nn.Parameter(psi.detach().clone().reshape(-1), requires_grad=False)   # ψ′ (n_psi,)
        self.register_buffer("frames", frames.detach().clone())              # (T, 3, S, S)
        self.register_buffer("sketches", sketches.detach().clone())          # (T, 3, S, S)
        self.register_buffer("reference_landmarks",                            # (T, 68, 2) pixels of S
                             torch.as_tensor(np.asarray(landmarks), dtype=torch.float32).clone())
        self.info = dict(info or {})
        self.nearest = 0

    @property
    def cfg(self) -> ModelConfig:
        return self.generator.cfg

    @property
    def size(self) -> int:
        return self.cfg.image_size

    @property
    def landmarks(self) -> np.ndarray:
        """The references' landmarks ``(T, 68, 2)`` as numpy, as :class:`~fewshot_lib.finetune.PersonModel` has them."""
        return self.reference_landmarks.cpu().numpy()

    def references(self, landmarks: torch.Tensor) -> torch.Tensor:
        """Which references draw each target (landmarks (B, 68, 2)): indices (B, n), all T or the nearest."""
        B, T = landmarks.shape[0], len(self.frames)
        if not 0 < self.nearest < T:
            return torch.arange(T, device=landmarks.device).expand(B, T)
        d = pose_distance(self.reference_landmarks[None].expand(B, T, 68, 2), landmarks, self.size)   # d_k (B, T)
        return d.topk(self.nearest, dim=1, largest=False).indices                                   # (B, n)

    @torch.no_grad()
    def parts(self, sketches: torch.Tensor, landmarks: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every intermediate for target sketches (B, 3, S, S) and their landmarks (B, 68, 2) (pixels of S);
        ``"references"``: the indices (B, n) of the references drawn."""
        chosen = self.references(landmarks)                                               # (B, n)
        painted = self.generator.forward_from_psi(sketches, self.psi)                     # (B, 3, S, S)
        parts = warp_and_blend(self.flow, self.log_beta, pick(self.frames, chosen), pick(self.sketches, chosen),
                               pick(self.reference_landmarks, chosen), sketches, landmarks, painted)
        return {**parts, "references": chosen}

    def forward(self, sketches: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        """Frames (B, 3, S, S) in [-1, 1]."""
        return self.parts(sketches, landmarks)["x_hat"]

    def draw(self, sketches: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        """The call every person model answers (:meth:`fewshot_lib.finetune.PersonModel.draw`)."""
        return self(sketches, landmarks)

    @torch.no_grad()
    def forward_high_res(self, sketches: torch.Tensor, landmarks: torch.Tensor,
                         frames_high_res: torch.Tensor) -> torch.Tensor:
        """Frames at the side R of ``frames_high_res`` (T, 3, R, R): the same T references, sharper."""
        parts = self.parts(sketches, landmarks)
        return compose_high_res(parts, pick(frames_high_res, parts["references"]))   # (B, n, 3, R, R)

    # ------------------------------------------------------------------ safetensors file
    def save(self, path: str | Path) -> Path:
        """Write the model as one safetensors file, atomically; returns ``path``."""
        metadata = {"format": WARP_PERSON_FORMAT, "format_version": WARP_PERSON_FORMAT_VERSION,
                    "fewshot_lib": __version__, "model_config": json.dumps(self.cfg.to_dict()),
                    "warp_config": json.dumps(self.warp_cfg.to_dict()), "info": json.dumps(self.info)}
        return write_safetensors(path, self.state_dict(), metadata)

    @classmethod
    def load(cls, path: str | Path, device: torch.device | str = "cpu") -> "WarpPerson":
        """Read a file written by :meth:`save` (safetensors: loading runs no code from the file)."""
        remedy = "make it again with `fewshot finetune --model warp`"
        metadata, tensors = read_safetensors(path, WarpPersonError, remedy)
        if metadata.get("format") != WARP_PERSON_FORMAT:
            raise WarpPersonError(f"{path}: a safetensors file, but not a fewshot_lib warping person model "
                                  f"(format={metadata.get('format')!r})")
        try:
            warp_cfg = WarpConfig(**json.loads(metadata["warp_config"]))
            generator = Generator(ModelConfig(**json.loads(metadata["model_config"])))
            model = cls(FlowNetwork(warp_cfg), tensors["log_beta"], generator, tensors["psi"], tensors["frames"],
                        tensors["sketches"], tensors["reference_landmarks"], warp_cfg, json.loads(metadata["info"]))
            model.load_state_dict(tensors)
        except (KeyError, TypeError, ValueError, RuntimeError) as problem:      # damaged metadata or tensors
            raise damaged(path, WarpPersonError, problem, remedy) from problem
        check_finite(model, path, WarpPersonError, remedy)
        return model.to(device)

    def __repr__(self) -> str:
        return (f"WarpPerson({self.cfg.name}, {self.size}×{self.size}, {len(self.frames)} reference(s), "
                f"info={self.info})")
