"""Training checkpoints: full state, safe to load, written atomically.

A checkpoint is a dict of tensors, numbers, strings, lists and dicts (model and optimiser
state dicts, the step, RNG states, the configs, the library version), saved with
``torch.save`` and loaded with ``torch.load(weights_only=True)``: loading never executes
code from the file. It is written to a temporary file in the same folder, flushed to disk,
then renamed over the old one, so a crash mid-write leaves the previous checkpoint intact.
Introduced in notebook 06.
"""
from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from ..errors import FewshotError
from ..atomic import atomic_write


NETWORKS = ("E", "G", "D")
"""The networks' state dicts in a checkpoint; a NaN in any of them makes the checkpoint unusable."""


class CheckpointError(FewshotError, RuntimeError):
    """A checkpoint is missing, unreadable, or was made for a different configuration."""


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically (temp file + fsync + rename); returns ``path``."""
    with atomic_write(path) as f:
        torch.save(state, f)
    return path


def _differences(expected: dict, found: dict, prefix: str = "") -> list[str]:
    lines = []
    for key in sorted(set(expected) | set(found)):
        a, b = expected.get(key, "<missing>"), found.get(key, "<missing>")
        if isinstance(a, dict) and isinstance(b, dict):
            lines += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            lines.append(f"{prefix}{key}: checkpoint has {b!r}, you asked for {a!r}")
    return lines


def load_checkpoint(path: str | Path, expect: dict[str, Any] | None = None,
                    map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint safely; with ``expect``, check that its entries match (e.g. the model config).

    ``expect`` maps top-level keys (``"model_config"``) to the values the caller needs;
    any difference raises :class:`CheckpointError` listing every mismatched field.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: an empty file, not a checkpoint (a copy or download that did not finish?)")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, IndexError, zipfile.BadZipFile,
            pickle.UnpicklingError) as error:
        raise CheckpointError(f"{path}: not a readable checkpoint (truncated, corrupt, or not made by "
                              f"fewshot_lib): {str(error).splitlines()[0]}") from error
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a fewshot_lib checkpoint (holds a {type(state).__name__})")
    for name in NETWORKS:
        weights = state.get(name)
        if isinstance(weights, dict) and not all(torch.isfinite(v).all() for v in weights.values()
                                                 if isinstance(v, torch.Tensor) and v.is_floating_point()):
            raise CheckpointError(f"{path}: {name} holds NaN or infinite weights; use an earlier checkpoint")
    for key, value in (expect or {}).items():
        if key not in state:
            raise CheckpointError(f"{path}: has no {key!r}; was it written by fewshot_lib's trainer?")
        if state[key] != value:
            diffs = _differences(value, state[key]) if isinstance(value, dict) else [f"{state[key]!r} != {value!r}"]
            raise CheckpointError(f"{path}: {key} does not match:\n  " + "\n  ".join(diffs)
                                  + "\nUse the checkpoint's own settings, or start a new run folder.")
    return state
