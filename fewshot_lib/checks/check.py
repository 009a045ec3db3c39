"""The :class:`Check` every exercise's check is built on, and the helpers the checks share."""
from __future__ import annotations

import numpy as np
import torch

from ..data.synthetic.geometry import Camera, Expression, FaceShape, Pose, landmarks_3d


class CheckFailed(AssertionError):
    """A function handed to a ``check_*`` breaks at least one property of its exercise."""


class Check:
    """Records, prints and judges the properties of one exercise's function.

    >>> with Check("check_double", "x ↦ 2x", hint="return 2 * x") as check:   # doctest: +SKIP
    ...     check.close("doubles 3", your_double(3.0), 6.0)

    Leaving the block raises :class:`CheckFailed` if a property failed, or if the function
    raised anything but ``NotImplementedError`` (which passes through: the exercise is not done).
    """

    def __init__(self, name: str, claim: str, hint: str):
        self.name, self.hint = name, hint
        self.failed: list[str] = []
        self.count = 0
        print(f"{name}: {claim}")

    def holds(self, prop: str, ok, detail: str = "") -> bool:
        """Record property ``prop``: ✓ if ``ok``, ✗ otherwise; ``detail`` is printed beside it."""
        ok = bool(ok)
        line = f"{prop}   ({detail})" if detail else prop
        print(f"  {'✓' if ok else '✗'} {line}")
        self.count += 1
        if not ok:
            self.failed.append(line)
        return ok

    def close(self, prop: str, got, want, atol: float = 1e-5, rtol: float = 1e-4) -> bool:
        """``got`` equals ``want`` elementwise within ``atol + rtol·|want|``; prints the max difference."""
        got, want = as_float64(got), as_float64(want)
        if got is None:
            return self.holds(prop, False, "not a number, array or tensor")
        if got.shape != want.shape:
            return self.holds(prop, False, f"shape {tuple(got.shape)}, expected {tuple(want.shape)}")
        diff = (got - want).abs()
        ok = bool(torch.isfinite(got).all() and (diff <= atol + rtol * want.abs()).all())
        return self.holds(prop, ok, f"max |diff| {diff.max().item():.2g}" if diff.numel() else "empty")

    def __enter__(self) -> "Check":
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if kind is not None:
            if issubclass(kind, (NotImplementedError, CheckFailed)) or not issubclass(kind, Exception):
                return False                       # an exercise not done yet (or Ctrl-C): as it is
            print(f"  ✗ raised {kind.__name__}: {error}")
            raise CheckFailed(f"{self.name}: calling your function raised {kind.__name__}: {error} "
                              f"(see the traceback above)\nHint: {self.hint}") from error
        if self.failed:
            lines = "\n".join(f"  ✗ {line}" for line in self.failed)
            raise CheckFailed(f"{self.name}: {len(self.failed)} of {self.count} properties failed:\n{lines}\n"
                              f"Hint: {self.hint}")
        print(f"  all {self.count} properties hold")
        return False


def as_float64(value) -> torch.Tensor | None:
    """A float64 CPU tensor of a number, numpy array or tensor (None for anything else)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return torch.from_numpy(array)


def seeded_rng(seed: int) -> torch.Generator:
    """A CPU random-number generator seeded with ``seed``: every check draws its inputs from one."""
    return torch.Generator().manual_seed(seed)


def gradients(loss, tensors: list[torch.Tensor]) -> list[torch.Tensor | None]:
    """∂loss/∂t for each of ``tensors`` (None where ``loss`` does not depend on it)."""
    if not (isinstance(loss, torch.Tensor) and loss.requires_grad):
        return [None] * len(tensors)
    return list(torch.autograd.grad(loss, tensors, allow_unused=True, retain_graph=True))


def backward(loss) -> bool:
    """Backpropagate ``loss`` if it can be (False when the function cut the graph, e.g. under no_grad)."""
    if not (isinstance(loss, torch.Tensor) and loss.requires_grad):
        return False
    loss.backward()
    return True


def mean_face(size: int = 128) -> np.ndarray:
    """The mean face, mouth open, head turned a little: exact (68, 2) float64 pixel landmarks."""
    points = landmarks_3d(FaceShape(), Expression(mouth_open=0.6, smile=0.3))
    return Camera(Pose(yaw=15, pitch=-5), size=size).project(points)

