"""Model files in safetensors: tensors plus JSON metadata, written atomically, read without running code.

The two person models (:class:`~fewshot_lib.finetune.PersonModel` and
:class:`~fewshot_lib.warping.person.WarpPerson`) are stored this way. Each reading error is raised as the
caller's own error type, naming the file and saying how to make it again.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .atomic import atomic_write


def write_safetensors(path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> Path:
    """Write ``tensors`` (made contiguous, on the CPU) and ``metadata`` to ``path`` atomically; returns ``path``."""
    from safetensors.torch import save

    tensors = {key: value.detach().cpu().contiguous() for key, value in tensors.items()}
    with atomic_write(path) as f:
        f.write(save(tensors, metadata=metadata))
    return Path(path)


def read_safetensors(path: str | Path, error: type[Exception], remedy: str) -> tuple[dict[str, str], dict]:
    """``(metadata, tensors)`` of a safetensors file; ``error(message)`` if it is missing or unreadable.

    ``remedy`` ends each message: how to make the file again (e.g. "make one with `fewshot finetune`").
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: no such file; {remedy}")
    try:
        with safe_open(str(path), framework="pt") as f:
            return f.metadata() or {}, {key: f.get_tensor(key) for key in f.keys()}
    except (SafetensorError, ValueError, OSError) as problem:
        raise error(f"{path}: not a readable safetensors file ({problem}); {remedy}") from problem


def damaged(path: str | Path, error: type[Exception], problem: Exception, remedy: str) -> Exception:
    """The ``error`` to raise for a file whose metadata or tensors do not build the model (``problem``)."""
    first_line = str(problem).splitlines()[0][:200] if str(problem) else ""
    return error(f"{path}: a damaged model file ({type(problem).__name__}: {first_line}); {remedy}")


def check_finite(module: nn.Module, path: str | Path, error: type[Exception], remedy: str) -> None:
    """``error`` if a floating-point weight or buffer of ``module`` (read from ``path``) is NaN or infinite."""
    if not all(torch.isfinite(value).all() for value in module.state_dict().values() if value.is_floating_point()):
        raise error(f"{path}: holds NaN or infinite weights; {remedy}")
