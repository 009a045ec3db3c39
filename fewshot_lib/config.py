"""Everything `fewshot_lib` reads from the environment, read once, in one place.

Conventions used across the whole library (and the notebooks):

* images are float tensors in [-1, 1], NCHW, RGB (float32; bf16 under autocast);
* landmarks are float32 pixel coordinates ``(68, 2)`` as ``(x, y)`` in the image they
  belong to, in the iBUG-68 layout;
* numpy images are ``HxWx3`` uint8 RGB.

Environment variables (all optional):

=====================  =======================================================  ==========
variable               meaning                                                  default
=====================  =======================================================  ==========
``FEWSHOT_SMOKE``      ``1``: tiny data, tiny models, few steps (tests, CI)     ``0``
``FEWSHOT_OFFLINE``    ``1``: never try to download weights or data             ``0``
``FEWSHOT_HOME``       cache folder for downloaded weights and datasets         ``~/.cache/fewshot_lib``
``FEWSHOT_RUNS``       where notebooks and the CLI write their outputs          ``./runs``
``FEWSHOT_DEVICE``     ``auto`` (cuda → mps → cpu), ``cuda``, ``mps``, ``cpu``  ``auto``
``FEWSHOT_THREADS``    CPU threads for torch (``0`` = torch's default)           ``0``
=====================  =======================================================  ==========

Notebooks never ask "am I in CI?": they read :data:`CONFIG` (usually through
:func:`pick`), so a smoke run under pytest, papermill or Colab behaves the same way.
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Mapping, TypeVar

import numpy as np

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}
DEVICES = ("auto", "cuda", "mps", "cpu")
REPOSITORY = "fewshot-lib/fewshot_lib"
"""The course's GitHub repository (owner/name): Colab badges and install cells point here."""


def _flag(environ: Mapping[str, str], name: str) -> bool:
    value = environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name}={environ[name]!r}: use 1 or 0")


@dataclass(frozen=True)
class Config:
    """The library's settings; build it with :func:`load_config`, print it to see them."""

    smoke: bool = False
    offline: bool = False
    home: Path = Path("~/.cache/fewshot_lib").expanduser()
    runs: Path = Path("runs")
    device: str = "auto"
    threads: int = 0

    def __str__(self) -> str:
        return "\n".join(f"{f.name:>8} = {getattr(self, f.name)}" for f in fields(self))


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """Read the ``FEWSHOT_*`` variables of ``environ`` (default: ``os.environ``)."""
    environ = os.environ if environ is None else environ
    device = environ.get("FEWSHOT_DEVICE", "auto").strip().lower() or "auto"
    if device not in DEVICES:
        raise ValueError(f"FEWSHOT_DEVICE={device!r}: choose one of {', '.join(DEVICES)}")
    threads = environ.get("FEWSHOT_THREADS", "0").strip() or "0"
    if not threads.isdigit():
        raise ValueError(f"FEWSHOT_THREADS={threads!r}: use a whole number (0 = torch's default)")
    return Config(
        smoke=_flag(environ, "FEWSHOT_SMOKE"),
        offline=_flag(environ, "FEWSHOT_OFFLINE"),
        home=Path(environ.get("FEWSHOT_HOME", "~/.cache/fewshot_lib")).expanduser(),
        runs=Path(environ.get("FEWSHOT_RUNS", "runs")).expanduser(),
        device=device,
        threads=int(threads),
    )


CONFIG: Config = load_config()
"""The configuration of this process, read once at import."""


def pick(full: T, smoke: T) -> T:
    """``smoke`` in smoke mode, ``full`` otherwise: the one switch notebooks use."""
    return smoke if CONFIG.smoke else full


def run_dir(name: str) -> Path:
    """A folder under ``CONFIG.runs`` for one notebook's or command's outputs (created)."""
    path = CONFIG.runs / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def colab_url(notebook: str) -> str:
    """The Open-in-Colab address of a notebook, given its path in the repository."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/main/{notebook}"


def get_device(preference: str | None = None):
    """The torch device to use: ``preference`` or ``CONFIG.device``; ``auto`` = cuda → mps → cpu.

    Also applies ``CONFIG.threads`` to torch's CPU thread pool.
    """
    import torch

    if CONFIG.threads:
        torch.set_num_threads(CONFIG.threads)
    choice = (preference or CONFIG.device).lower()
    if choice == "auto":
        if torch.cuda.is_available():
            choice = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            choice = "mps"
        else:
            choice = "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("FEWSHOT_DEVICE=cuda but torch sees no CUDA GPU; use auto or cpu")
    if choice == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError("FEWSHOT_DEVICE=mps but this torch has no MPS support; use auto or cpu")
    return torch.device(choice)


def seed_everything(seed: int):
    """Seed Python, numpy and torch; return a ``torch.Generator`` seeded the same way.

    Prefer passing the returned generator (or a ``numpy.random.Generator``) explicitly:
    code that draws from the global RNGs is reproducible only when nothing else draws too.
    """
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
