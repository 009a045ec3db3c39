"""A person model: G without P, plus ψ′ and the person's landmarks; safetensors, no code runs on loading."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import FewshotError
from .. import __version__
from ..data import to_tensor
from ..landmarks import draw_sketches
from ..models import Generator, ModelConfig
from ..safetensors_file import check_finite, damaged, read_safetensors, write_safetensors


PERSON_FORMAT = "fewshot_lib person model"
PERSON_FORMAT_VERSION = "1"


class PersonModelError(FewshotError, ValueError):
    """A person-model file is missing, unreadable or not made by fewshot_lib."""


def _without_projection(generator: Generator) -> Generator:
    """A copy of G without P: a person model has ψ′ and never computes P · ê again."""
    generator = copy.deepcopy(generator)
    generator.projection = None
    return generator


class PersonModel(nn.Module):
    """A talking-head model of one person: x̂ = G(y; ψ, ψ′), drawn from landmarks alone.

    ``generator``: G's person-generic weights (no P); ``psi``: ψ′ ``(n_psi,)``; ``landmarks``:
    the person's own landmarks ``(T, 68, 2)`` (puppeteering adapts a driver's motion onto them);
    ``info``: JSON-able notes on how it was made (source, shots, epochs, ...).
    """

    def __init__(self, generator: Generator, psi: torch.Tensor, landmarks: np.ndarray, info: dict | None = None):
        super().__init__()
        if generator.projection is not None:
            generator = _without_projection(generator)
        self.generator = generator.eval()
        self.psi = nn.Parameter(psi.detach().clone().reshape(-1), requires_grad=False)   # ψ′ (n_psi,)
        self.landmarks = np.asarray(landmarks, dtype=np.float32).reshape(-1, 68, 2)
        self.info = dict(info or {})

    @property
    def cfg(self) -> ModelConfig:
        return self.generator.cfg

    @property
    def size(self) -> int:
        return self.cfg.image_size

    @torch.no_grad()
    def forward(self, sketches: torch.Tensor) -> torch.Tensor:
        """Frames ``(B, 3, S, S)`` in [-1, 1] from sketches ``(B, 3, S, S)``."""
        return self.generator.forward_from_psi(sketches.to(self.psi.device), self.psi)

    def draw(self, sketches: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        """Frames for sketches (B, 3, S, S) and their landmarks (B, 68, 2): the call every person model
        answers (the paper's G reads only the sketches; a warping person model also the landmarks)."""
        return self(sketches)

    @torch.no_grad()
    def render(self, landmarks: np.ndarray) -> torch.Tensor:
        """Frames ``(B, 3, S, S)`` for landmarks ``(B, 68, 2)`` (or one ``(68, 2)``) in pixels of S × S."""
        points = np.asarray(landmarks, dtype=np.float32).reshape(-1, 68, 2)
        return self(to_tensor(draw_sketches(points, self.size)))

    # ------------------------------------------------------------------ safetensors file
    def save(self, path: str | Path) -> Path:
        """Write the model as one safetensors file, atomically; returns ``path``."""
        tensors = {f"generator.{k}": v for k, v in self.generator.state_dict().items()}
        tensors["psi"], tensors["landmarks"] = self.psi, torch.from_numpy(self.landmarks.copy())
        metadata = {"format": PERSON_FORMAT, "format_version": PERSON_FORMAT_VERSION, "fewshot_lib": __version__,
                    "model_config": json.dumps(self.cfg.to_dict()), "info": json.dumps(self.info)}
        return write_safetensors(path, tensors, metadata)

    @classmethod
    def load(cls, path: str | Path, device: torch.device | str = "cpu") -> "PersonModel":
        """Read a file written by :meth:`save` (safetensors: loading runs no code from the file)."""
        remedy = "make it again with `fewshot finetune`"
        metadata, tensors = read_safetensors(path, PersonModelError, remedy)
        if metadata.get("format") != PERSON_FORMAT or not {"psi", "landmarks"} <= set(tensors):
            raise PersonModelError(f"{path}: a safetensors file, but not a fewshot_lib person model "
                                   f"(format={metadata.get('format')!r})")
        try:
            generator = _without_projection(Generator(ModelConfig(**json.loads(metadata["model_config"]))))
            prefix = "generator."
            generator.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
            model = cls(generator, tensors["psi"], tensors["landmarks"].numpy(), json.loads(metadata["info"]))
        except (KeyError, TypeError, ValueError, RuntimeError) as problem:      # damaged metadata or tensors
            raise damaged(path, PersonModelError, problem, remedy) from problem
        check_finite(model, path, PersonModelError, remedy)
        return model.to(device)

    def __repr__(self) -> str:
        return (f"PersonModel({self.cfg.name}, {self.size}×{self.size}, ψ′ of {self.psi.numel()} numbers, "
                f"{len(self.landmarks)} landmark set(s), info={self.info})")
