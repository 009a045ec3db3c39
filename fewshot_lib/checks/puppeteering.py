"""Notebook 09 · puppeteering: landmark adaptation, by hand."""
from __future__ import annotations

import numpy as np

from ..data.synthetic.geometry import Camera, Expression, FaceShape, Pose, landmarks_3d
from ..puppeteer import STABLE, adapt_landmarks, as_complex, as_points, similarity
from .check import Check


def _face(shape: FaceShape, pose: Pose = Pose(), expression: Expression = Expression(),
          center: tuple[float, float] = (0.5, 0.46), scale: float = 0.24) -> np.ndarray:
    """One synthetic face's 68 landmarks as complex pixels x + iy ``(68,)``, 64 × 64 frame."""
    return as_complex(Camera(pose, center=center, scale=scale, size=64).project(landmarks_3d(shape, expression)))


def _driver_and_source() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(D_t, D0, S0)``: a driver's frame (head turned, mouth open, smiling, moved in the frame), the driver's
    neutral frame, and another person's neutral frame (another face, placed and sized differently)."""
    rng = np.random.default_rng(9)
    driver, source = FaceShape.random(rng, spread=2.0), FaceShape.random(rng, spread=2.0)
    D0 = _face(driver)
    D_t = _face(driver, Pose(yaw=18, pitch=-6, roll=9), Expression(mouth_open=0.8, smile=0.5, blink=0.3),
                center=(0.46, 0.5), scale=0.26)
    S0 = _face(source, Pose(roll=-4), center=(0.55, 0.43), scale=0.21)
    return D_t, D0, S0


def _complex(value, n: int) -> np.ndarray | None:
    """``value`` as complex ``(n,)`` if it is one (a numpy array or anything numpy reads as one), else None."""
    try:
        array = np.asarray(value)
    except Exception:
        return None
    if array.shape != (n,) or not np.issubdtype(array.dtype, np.number) or not np.isfinite(array).all():
        return None
    return array.astype(np.complex128)


def _close(check: Check, prop: str, got, want, atol: float) -> bool:
    """``check.close`` on complex points: compares their (x, y) pixels."""
    got, want = _complex(got, len(want)), np.asarray(want)
    if got is None:
        return check.holds(prop, False, f"not a complex array of shape {want.shape}")
    return check.close(prop, np.stack([got.real, got.imag], -1), np.stack([want.real, want.imag], -1), atol=atol)


def check_similarity(similarity_by_hand) -> None:
    """Exercise 9.1: ``similarity_by_hand(a (n,) complex, b (n,) complex) → (z, c_a, c_b)``, b ≈ z (a − c_a) + c_b."""
    with Check("check_similarity",
               "the least-squares similarity b ≈ z (a − c_a) + c_b: c_a, c_b the centres, z the complex number "
               "minimising Σ |b − c_b − z (a − c_a)|² (|z| the scale, arg z the rotation)",
               hint="centre both point sets on their means first; z is the ratio of two sums over the points, "
                    "Σ conj(a_centred) · b_centred over Σ |a_centred|²: the conjugate on a, not on b; "
                    "return three complex numbers (z, c_a, c_b)") as check:
        rng = np.random.default_rng(0)
        a = rng.normal(30, 8, 13) + 1j * rng.normal(30, 8, 13)                   # 13 points, like STABLE
        z0, shift = 1.3 * np.exp(0.4j), 5.0 - 3.0j                             # scale 1.3, 23° anticlockwise
        b = z0 * (a - a.mean()) + a.mean() + shift                              # an exact similarity of a
        found = similarity_by_hand(a.copy(), b.copy())
        parts = [complex(np.asarray(v).item()) if np.size(v) == 1 and np.isfinite(v).all() else None
                 for v in found] if isinstance(found, (tuple, list)) and len(found) == 3 else None
        if not check.holds("returns three numbers (z, c_a, c_b)", parts is not None and None not in parts,
                           f"got {type(found).__name__}" + (f" of {len(found)}" if isinstance(found, (tuple, list))
                                                          else "")):
            return
        z, c_a, c_b = parts
        check.close("c_a and c_b are the centres (means) of a and b", [[c_a.real, c_a.imag], [c_b.real, c_b.imag]],
                    [[a.mean().real, a.mean().imag], [b.mean().real, b.mean().imag]], atol=1e-9)
        check.close("an exact similarity is found exactly: z = 1.3 · e^{0.4i} (scale 1.3, rotation 23°)",
                    [z.real, z.imag], [z0.real, z0.imag], atol=1e-9)
        D_t, D0, S0 = _driver_and_source()
        stable = list(STABLE)
        library = similarity(D0[stable], S0[stable])                           # two different faces: no exact fit
        z, c_a, c_b = (complex(np.asarray(v).item()) for v in similarity_by_hand(D0[stable], S0[stable]))
        check.close("equals fewshot_lib.puppeteer.similarity between two different faces (a least-squares fit)",
                    np.array([[v.real, v.imag] for v in (z, c_a, c_b)]),
                    np.array([[v.real, v.imag] for v in library]), atol=1e-9)
        residual = S0[stable] - (z * (D0[stable] - c_a) + c_b)
        check.holds("no other z fits better: the residual is orthogonal to the points, Σ conj(a − c_a) · r = 0",
                    abs((np.conj(D0[stable] - c_a) * residual).sum()) < 1e-6 * (abs(D0[stable] - c_a) ** 2).sum(),
                    f"|Σ| = {abs((np.conj(D0[stable] - c_a) * residual).sum()):.2g}")
        z_moved = complex(np.asarray(similarity_by_hand(D0[stable], 2j * S0[stable] + 7)[0]).item())
        check.close("b scaled by 2 and turned by 90° (× 2i), then shifted: z is multiplied by 2i, the shift is "
                    "left to the centres", [z_moved.real, z_moved.imag], [(2j * z).real, (2j * z).imag], atol=1e-9)


def check_adapt_frame(adapt_frame_by_hand) -> None:
    """Exercise 9.2: ``adapt_frame_by_hand(D_t, D0, S0)``, complex ``(68,)`` each → ``A_t`` complex ``(68,)``."""
    with Check("check_adapt_frame",
               "A_t = z_t (S₀ + k δ_t − c_S) + c_S + k τ_t: the driver's head motion z_t, τ_t and the rest of its "
               "motion δ_t = (D_t − c_D − τ_t) / z_t + c_D − D₀, carried onto the source's face by k (D₀ → S₀)",
               hint="three similarities, all fitted on the STABLE points: k, c_D, c_S = similarity(D0, S0); "
                    "z_t, _, c_t = similarity(D0, D_t) and τ_t = c_t − c_D; undo the head motion to get δ_t; "
                    "apply the formula to all 68 points; keep everything complex") as check:
        D_t, D0, S0 = _driver_and_source()
        library = as_complex(adapt_landmarks(as_points(D_t)[None], as_points(D0), as_points(S0)))[0]
        found = adapt_frame_by_hand(D_t.copy(), D0.copy(), S0.copy())
        if not check.holds("returns 68 complex points (68,)", _complex(found, 68) is not None,
                           f"got {type(found).__name__} of shape {np.shape(found)}"):
            return
        _close(check, "equals fewshot_lib.puppeteer.adapt_landmarks (another face, head turned, mouth open)",
               found, library, atol=1e-3)                        # the library works in float32 pixels
        _close(check, "a source that is the driver's own neutral face gets the driver's frame: A_t = D_t",
               adapt_frame_by_hand(D_t.copy(), D0.copy(), D0.copy()), D_t, atol=1e-6)
        _close(check, "a driver at rest (D_t = D₀) gives the source's own neutral face: A_t = S₀",
               adapt_frame_by_hand(D0.copy(), D0.copy(), S0.copy()), S0, atol=1e-6)
        stable = list(STABLE)
        head, c_D = 0.9 * np.exp(-0.3j), D0[stable].mean()
        nodding = head * (D0 - c_D) + c_D + (4 - 2j)                           # the head moves, the face does not
        moved = _complex(adapt_frame_by_hand(nodding, D0.copy(), S0.copy()), 68)
        if moved is not None:
            z, c_a, c_b = similarity(S0, moved)
            kept = np.abs(z * (S0 - c_a) + c_b - moved).max()
            check.holds("a driver that only moves its head moves the source's own face: A_t is a similarity of S₀, "
                        "its shape kept", kept < 1e-6, f"max shape residual {kept:.2g} px")
        camera = 0.7 * np.exp(0.5j)                                              # the driver filmed smaller, turned
        _close(check, "the driver's camera does not matter: D_t and D₀ scaled, turned and shifted alike give "
                      "the same A_t", adapt_frame_by_hand(camera * D_t + (9 + 4j), camera * D0 + (9 + 4j), S0.copy()),
               found, atol=1e-6)
