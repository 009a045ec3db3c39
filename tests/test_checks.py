"""fewshot_lib.checks: each check rejects plausible wrong answers, and a student copy filled in with the
solutions passes all its checks."""
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fewshot_lib import checks
from fewshot_lib.assignments import STUDENT, find_exercises, notebook_number, solution_region, stub
from fewshot_lib.checks import Check, CheckFailed
from fewshot_lib.evaluate import gaussian_window
from fewshot_lib.landmarks import PARTS
from fewshot_lib.losses import adversarial_loss, discriminator_hinge_loss, embedding_match_loss
from fewshot_lib.models import instance_norm
from fewshot_lib.puppeteer import STABLE, similarity
from fewshot_lib.warping import border_anchors

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
STUDENT_COPIES = sorted((NOTEBOOKS / STUDENT).glob("*.ipynb"))


# ------------------------------------------------------------------------------------- the Check helper
def test_check_prints_each_property_and_raises_with_the_failures(capsys):
    with pytest.raises(CheckFailed, match=r"1 of 2 properties failed:\n  ✗ off by one .*\nHint: add one") as failure:
        with Check("check_demo", "x + 1", hint="add one") as check:
            check.close("exact", torch.tensor([2.0, 3.0]), [2.0, 3.0])
            check.close("off by one", torch.tensor([2.0, 3.0]), [3.0, 4.0])
    printed = capsys.readouterr().out
    assert "check_demo: x + 1\n  ✓ exact   (max |diff| 0)\n  ✗ off by one   (max |diff| 1)" in printed
    assert "max |diff| 1" in str(failure.value)


def test_check_reports_shape_mismatches_and_non_numbers():
    with pytest.raises(CheckFailed, match=r"shape \(2,\), expected \(3,\).*\n.*not a number"):
        with Check("check_demo", "shapes", hint="-") as check:
            check.close("shape", np.zeros(2), np.zeros(3))
            check.close("type", "a string", 1.0)


def test_an_unfinished_exercise_passes_through_and_other_errors_become_failures():
    def unfinished(*args):
        raise NotImplementedError("Exercise 4.2: AdaIN")

    with pytest.raises(NotImplementedError, match="Exercise 4.2: AdaIN"):
        checks.check_adain(unfinished)
    with pytest.raises(CheckFailed, match="raised IndexError") as failure:
        checks.check_adain(lambda x, psi: x[99])
    assert isinstance(failure.value.__cause__, IndexError)


# ------------------------------------------------------------------------------------- wrong answers fail
def strokes_unclosed(points):
    return [(points[list(part.indices)], part.colour) for part in PARTS]


def strokes_bgr(points):
    closed = [list(part.indices) + ([part.indices[0]] if part.closed else []) for part in PARTS]
    return [(points[indices], part.colour[::-1]) for indices, part in zip(closed, PARTS)]


def distance_unclipped(pixels, line):                     # distance to the infinite lines through the segments
    a, ab = line[:-1], np.diff(line, axis=0)
    t = ((pixels[:, None] - a) * ab).sum(-1) / (ab * ab).sum(-1)
    return np.linalg.norm(pixels[:, None] - (a + t[..., None] * ab), axis=-1).min(axis=1)


def distance_to_vertices(pixels, line):
    return np.linalg.norm(pixels[:, None] - line[None], axis=-1).min(axis=1)


def episode_target_drawn_apart(num_frames, k, rng):       # the target may be one of the K
    return int(rng.integers(num_frames)), np.sort(rng.choice(num_frames, size=k, replace=False))


def episode_with_replacement(num_frames, k, rng):
    chosen = rng.choice(num_frames, size=k + 1)
    return int(chosen[0]), np.sort(chosen[1:])


def sigma_frobenius(W, steps=50):
    return W.norm()


def sigma_squared(W, steps=50):                           # power iteration on WᵀW, without the square root
    v = torch.ones(W.shape[1], dtype=W.dtype)
    for _ in range(steps):
        v = W.T @ (W @ v)
        v = v / v.norm()
    return v @ W.T @ W @ v


def down_block(x, block, relu_first=False, skip=True):
    h = F.relu(x) if relu_first or not block.first else x
    h = F.conv2d(h, block.conv1.weight, block.conv1.bias, padding=1)
    h = F.avg_pool2d(F.conv2d(F.relu(h), block.conv2.weight, block.conv2.bias, padding=1), 2)
    return h + F.avg_pool2d(F.conv2d(x, block.skip.weight, block.skip.bias), 2) if skip else h


def attention(x, layer, dim=-1, scale=1.0):
    B, C, H, W = x.shape
    q, k, v = (F.conv2d(x, conv.weight, conv.bias).flatten(2) for conv in (layer.query, layer.key, layer.value))
    beta = torch.softmax(scale * q.transpose(1, 2) @ k, dim=dim)
    return x + layer.gamma * (v @ beta.transpose(1, 2)).view(B, C, H, W), beta


def adain_params_swapped(psi_hat, layout, layer):
    pieces = {p.what: psi_hat[:, p.start:p.stop] for p in layout if p.layer == layer}
    return pieces["bias"], pieces["scale"]


def adain_params_first_slice(psi_hat, layout, layer):     # every layer reads the start of ψ̂
    C = next(p.stop - p.start for p in layout if p.layer == layer)
    return psi_hat[:, :C], psi_hat[:, C:2 * C]


def projection(h, W_i, w0, b, pool="sum", with_w0=True, sigmoid=False):
    v = F.relu(h.sum(dim=(2, 3)) if pool == "sum" else h.mean(dim=(2, 3)))
    r = (v * (W_i + w0 if with_w0 else W_i)).sum(dim=1) + b
    return torch.sigmoid(r) if sigmoid else r


def adversarial(fake_score, real_features, fake_features, fm_weight=10.0, detach=True, sign=-1):
    L_FM = sum(((r.detach() if detach else r) - f).abs().mean() for r, f in zip(real_features, fake_features))
    return sign * fake_score.mean() + fm_weight * L_FM


def embed_and_generate(E, G, frames, sketches, y_t, reduce="mean", no_grad=False, first_only=False):
    B, K = frames.shape[:2]
    if first_only:
        frames, sketches, K = frames[:, :1], sketches[:, :1], 1
    with torch.set_grad_enabled(not no_grad):
        e = E(frames.flatten(0, 1), sketches.flatten(0, 1)).view(B, K, -1)
        return G(y_t, e.sum(dim=1) if reduce == "sum" else e.mean(dim=1)), e


def discriminator_losses(D, batch, x_hat, e, match, detach_x=True, detach_e=True, detach_W=False):
    x_t, y_t, i = batch["target"], batch["target_sketch"], batch["video"]
    r, _ = D(torch.cat([x_t, x_hat.detach() if detach_x else x_hat]), torch.cat([y_t, y_t]), torch.cat([i, i]))
    W_i = D.W(i).detach() if detach_W else D.W(i)
    return {"L_DSC": discriminator_hinge_loss(*r.chunk(2)),
            "L_MCH": match * embedding_match_loss(e.detach() if detach_e else e, W_i)}



def fine_tuning_start(E, G, D, frames, sketches, reduce="mean", with_w0=True, in_place=False):
    with torch.no_grad():
        e = E(frames, sketches)                                       # (T, N)
        e_hat = e.sum(dim=0) if reduce == "sum" else e.mean(dim=0)
        w = D.w0.add_(e_hat) if in_place else D.w0 + e_hat if with_w0 else e_hat
        return e_hat, G.psi_hat(e_hat[None])[0], w


def fine_tuning_losses(G, D, psi, w, x, y, content, fm_weight, score_with="w", detach_psi=False, detach_x_hat=False):
    x_hat = G.forward_from_psi(y, psi.detach() if detach_psi else psi)
    column = D.w0 if score_with == "w0" else w
    r, fake_features = D(x_hat.detach() if detach_x_hat else x_hat, y, w=column)
    with torch.no_grad():
        _, real_features = D(x, y, w=column)
    return {"L_CNT": content(x_hat, x), "L_ADV": adversarial_loss(r, real_features, fake_features, fm_weight)}


def ssim_by_hand(x, y, window="gaussian", C2=0.03 ** 2, padding=0, unit=True):
    x, y = ((x.double() + 1) / 2, (y.double() + 1) / 2) if unit else (x.double(), y.double())
    C = x.shape[1]
    w = gaussian_window().double() if window == "gaussian" else torch.full((11, 11), 1 / 121, dtype=torch.float64)
    mean = lambda z: F.conv2d(z, w.expand(C, 1, 11, 11), padding=padding, groups=C)
    mu_x, mu_y = mean(x), mean(y)
    var_x, var_y, cov = mean(x * x) - mu_x ** 2, mean(y * y) - mu_y ** 2, mean(x * y) - mu_x * mu_y
    C1 = 0.01 ** 2
    s = ((2 * mu_x * mu_y + C1) * (2 * cov + C2)) / ((mu_x ** 2 + mu_y ** 2 + C1) * (var_x + var_y + C2))
    return s.mean(dim=(1, 2, 3))


def nearest_pose(shots, landmarks, distance="mean", pick=np.argmin):
    difference = landmarks[:, None] - shots.landmarks[None]          # (B, T, 68, 2)
    d = (np.linalg.norm(difference, axis=-1).mean(-1) if distance == "mean"
         else np.linalg.norm(difference.reshape(*difference.shape[:2], -1), axis=-1))
    return shots.frames[torch.from_numpy(pick(d, axis=1))]


def similarity_fit(a, b, conjugate="a", centred=True, ratios=False):
    c_a, c_b = a.mean(), b.mean()
    a_c, b_c = (a - c_a, b - c_b) if centred else (a, b)
    if ratios:                                            # the mean of the point-by-point ratios: not least squares
        return (b_c / a_c).mean(), c_a, c_b
    products = np.conj(a_c) * b_c if conjugate == "a" else a_c * np.conj(b_c)
    return products.sum() / (np.abs(a_c) ** 2).sum(), c_a, c_b


def adapt_frame(D_t, D0, S0, undo=True, k_on_delta=True, points=STABLE):
    k, c_D, c_S = similarity(D0[list(points)], S0[list(points)])
    z_t, _, c_t = similarity(D0[list(points)], D_t[list(points)])
    tau_t = c_t - c_D
    delta_t = (D_t - c_D - tau_t) / z_t + c_D - D0 if undo else D_t - D0
    return z_t * (S0 + (k if k_on_delta else 1) * delta_t - c_S) + c_S + k * tau_t


def tps_kernel(r2, kernel="r2 log r2"):
    U = r2 * torch.log(r2) if kernel == "r2 log r2" else r2.sqrt() * torch.log(r2.sqrt())    # r² log r², or r log r
    return torch.where(r2 > 0, U, torch.zeros_like(r2))


def tps_fit(source, target, size, kernel="r2 log r2", anchors=True, swap=False, normalise=True):
    if swap:
        source, target = target, source
    fixed = border_anchors(size, dtype=torch.float64) if anchors else source[:0]
    unit = (lambda p: (2 * p + 1) / size - 1) if normalise else (lambda p: p)
    c, v = unit(torch.cat([target, fixed])), unit(torch.cat([source, fixed]))          # (N, 2)
    n = len(c)
    P = torch.cat([torch.ones(n, 1, dtype=c.dtype), c], 1)
    system = torch.cat([torch.cat([tps_kernel((c[:, None] - c[None]).square().sum(-1), kernel), P], 1),
                        torch.cat([P.T, torch.zeros(3, 3, dtype=c.dtype)], 1)])
    solution = torch.linalg.solve(system, torch.cat([v, torch.zeros(3, 2, dtype=c.dtype)]))
    return c, solution[:n], solution[n:]


def tps_grid(c, w, a, size, centres=True, affine=True):
    u = ((2 * torch.arange(size, dtype=torch.float64) + 1) / size - 1 if centres
         else torch.linspace(-1, 1, size, dtype=torch.float64))
    p = torch.stack(torch.meshgrid(u, u, indexing="xy"), -1).reshape(-1, 2)             # (S·S, 2)
    f = tps_kernel((p[:, None] - c[None]).square().sum(-1)) @ w + (a[0] + p @ a[1:] if affine else 0)
    return f.reshape(size, size, 2)


def dct_matrix(n, scale_row_0=True, frequency=2):
    """The DCT-II matrix by hand, or a plausible mistake."""
    k, x = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    D = np.sqrt(2 / n) * np.cos(np.pi * (2 * x + 1) * k / (frequency * n))
    if scale_row_0:
        D[0] /= np.sqrt(2)
    return D


def dither_embed(d, bits, t, step, shift=0.5, rounding=np.round):
    offset = (t + bits * shift) * step
    return rounding((d - offset) / step) * step + offset


def dither_read(d, t, step, dither=True):
    fraction = (d / step - (t if dither else 0)) % 1
    return ((fraction > 0.25) & (fraction < 0.75)).astype(int)


WRONG = {
    "check_sketch_strokes": {"eyes and lips left open": strokes_unclosed, "colours in BGR": strokes_bgr},
    "check_distance_to_polyline": {"t not clipped": distance_unclipped, "nearest vertex only": distance_to_vertices},
    "check_draw_episode": {"target drawn apart from the K": episode_target_drawn_apart,
                           "drawn with replacement": episode_with_replacement},
    "check_to_tensor": {"divided by 255": lambda images: torch.from_numpy(images).float().div(255).permute(0, 3, 1, 2),
                        "reshaped, not permuted": lambda images: torch.from_numpy(images).float().div(127.5).sub(1)
                        .reshape(len(images), 3, *images.shape[1:3])},
    "check_largest_singular_value": {"Frobenius norm": sigma_frobenius, "σ² (no square root)": sigma_squared},
    "check_down_block": {"ReLU on the first block's raw input": lambda x, b: down_block(x, b, relu_first=True),
                         "no skip path": lambda x, b: down_block(x, b, skip=False)},
    "check_self_attention": {"softmax over the wrong axis": lambda x, layer: attention(x, layer, dim=1),
                             "scaled by 1/√d": lambda x, layer: attention(x, layer, scale=0.5)},
    "check_instance_norm": {"batch statistics": lambda x: (x - x.mean(dim=(0, 2, 3), keepdim=True))
                            / (x.var(dim=(0, 2, 3), keepdim=True, unbiased=False) + 1e-5).sqrt(),
                            "unbiased variance": lambda x: (x - x.mean(dim=(2, 3), keepdim=True))
                            / (x.var(dim=(2, 3), keepdim=True) + 1e-5).sqrt()},
    "check_adain": {"scale and bias swapped":
                    lambda x, psi: psi[:, 8:, None, None] * instance_norm(x) + psi[:, :8, None, None],
                    "no normalisation": lambda x, psi: psi[:, :8, None, None] * x + psi[:, 8:, None, None]},
    "check_adain_params": {"scale and bias swapped": adain_params_swapped,
                           "always the first slice": adain_params_first_slice},
    "check_projection_score": {"a sigmoid on r": lambda *a: projection(*a, sigmoid=True),
                               "w0 forgotten": lambda *a: projection(*a, with_w0=False),
                               "mean pooling": lambda *a: projection(*a, pool="mean")},
    "check_hinge_loss": {"sigmoid scores": lambda r, f: discriminator_hinge_loss(torch.sigmoid(r), torch.sigmoid(f)),
                         "summed over the batch": lambda r, f: F.relu(1 + f).sum() + F.relu(1 - r).sum(),
                         "real and fake swapped": lambda r, f: discriminator_hinge_loss(f, r)},
    "check_adversarial_loss": {"real features not detached": lambda *a: adversarial(*a, detach=False),
                               "+D(x̂) instead of −D(x̂)": lambda *a: adversarial(*a, sign=1)},
    "check_embedding_match": {"mean over N (F.l1_loss)": lambda e, W: F.l1_loss(e, W[:, None].expand_as(e)),
                              "W_i detached": lambda e, W: embedding_match_loss(e, W.detach()),
                              "squared L2": lambda e, W: (W[:, None] - e).square().sum(-1).mean()},
    "check_embed_and_generate": {"ê summed, not averaged": lambda *a: embed_and_generate(*a, reduce="sum"),
                                 "under torch.no_grad": lambda *a: embed_and_generate(*a, no_grad=True),
                                 "only the first frame": lambda *a: embed_and_generate(*a, first_only=True)},
    "check_discriminator_losses": {"x̂ not detached": lambda *a: discriminator_losses(*a, detach_x=False),
                                   "e not detached": lambda *a: discriminator_losses(*a, detach_e=False),
                                   "W_i detached": lambda *a: discriminator_losses(*a, detach_W=True)},
    "check_fine_tuning_start": {"ê summed, not averaged": lambda *a: fine_tuning_start(*a, reduce="sum"),
                                "w′ = ê (w₀ forgotten)": lambda *a: fine_tuning_start(*a, with_w0=False),
                                "w₀ updated in place": lambda *a: fine_tuning_start(*a, in_place=True)},
    "check_fine_tuning_losses": {"scored with w₀, not w′": lambda *a: fine_tuning_losses(*a, score_with="w0"),
                                 "ψ′ detached": lambda *a: fine_tuning_losses(*a, detach_psi=True),
                                 "x̂ detached before D": lambda *a: fine_tuning_losses(*a, detach_x_hat=True)},
    "check_ssim": {"box window": lambda x, y: ssim_by_hand(x, y, window="box"),
                   "no C₂": lambda x, y: ssim_by_hand(x, y, C2=0.0),
                   "zero padding": lambda x, y: ssim_by_hand(x, y, padding=5),
                   "on [-1, 1], not [0, 1]": lambda x, y: ssim_by_hand(x, y, unit=False)},
    "check_nearest_pose": {"farthest pose": lambda s, p: nearest_pose(s, p, pick=np.argmax),
                           "always the first shot": lambda s, p: s.frames[[0] * len(p)],
                           "norm of all 136 coordinates": lambda s, p: nearest_pose(s, p, distance="flat")},
    "check_similarity": {"conjugate on b, not a": lambda a, b: similarity_fit(a, b, conjugate="b"),
                         "points not centred": lambda a, b: similarity_fit(a, b, centred=False),
                         "mean of the ratios b / a": lambda a, b: similarity_fit(a, b, ratios=True)},
    "check_adapt_frame": {"head motion not undone (δ = D_t − D₀)": lambda *a: adapt_frame(*a, undo=False),
                          "δ not scaled by k": lambda *a: adapt_frame(*a, k_on_delta=False),
                          "fitted on all 68 points": lambda *a: adapt_frame(*a, points=range(68)),
                          "the driver's own landmarks (raw)": lambda D_t, D0, S0: D_t},
    "check_tps_fit": {"U = r log r": lambda s, t, n: tps_fit(s, t, n, kernel="r log r"),
                      "no border anchors": lambda s, t, n: tps_fit(s, t, n, anchors=False),
                      "source and target swapped": lambda s, t, n: tps_fit(s, t, n, swap=True),
                      "pixels, not normalised": lambda s, t, n: tps_fit(s, t, n, normalise=False)},
    "check_tps_grid": {"x and y swapped": lambda c, w, a, n: tps_grid(c, w, a, n).flip(-1),
                       "rows and columns transposed": lambda c, w, a, n: tps_grid(c, w, a, n).transpose(0, 1),
                       "pixel corners, not centres": lambda c, w, a, n: tps_grid(c, w, a, n, centres=False),
                       "affine part forgotten": lambda c, w, a, n: tps_grid(c, w, a, n, affine=False)},
    "check_dct_matrix": {"α₀ = α_k (row 0 too long)": lambda n: dct_matrix(n, scale_row_0=False),
                         "k and x swapped (Dᵀ)": lambda n: dct_matrix(n).T,
                         "π (2x + 1) k / n (twice the frequency)": lambda n: dct_matrix(n, frequency=1)},
    "check_dither_modulation": {"lattices not interleaved (b·Δ)": lambda *a: dither_embed(*a, shift=1.0),
                                "floor, not the nearest point": lambda *a: dither_embed(*a, rounding=np.floor),
                                "dither forgotten": lambda d, b, t, s: dither_embed(d, b, 0 * t, s)},
    "check_dither_reading": {"dither forgotten": lambda d, t, s: dither_read(d, t, s, dither=False),
                             "bits inverted": lambda d, t, s: 1 - dither_read(d, t, s),
                             "the sign of d": lambda d, t, s: (d > 0).astype(int)},
}
CASES = [(name, label, fn) for name, wrong in WRONG.items() for label, fn in wrong.items()]


def test_every_check_has_wrong_answers():
    assert sorted(WRONG) == sorted(name for name in checks.__all__ if name.startswith("check_"))


@pytest.mark.parametrize("name, label, wrong", CASES, ids=[f"{n}-{label}" for n, label, _ in CASES])
def test_check_rejects_a_wrong_answer(name, label, wrong, capsys):
    with pytest.raises(CheckFailed, match=f"^{name}: "):
        getattr(checks, name)(wrong)
    assert "✗" in capsys.readouterr().out


# ------------------------------------------------------------------------------------- filled-in student copies
def filled(student_source: str, solution_source: str, exercise) -> str:
    """The student's cell with the source's solution in place of the stub: what a student who solved it wrote."""
    begin, end, indent = solution_region(solution_source)
    lines, placeholder = student_source.split("\n"), stub(exercise, indent)
    at = next(n for n in range(len(lines)) if lines[n:n + len(placeholder)] == placeholder)
    return "\n".join(lines[:at] + solution_source.split("\n")[begin + 1:end] + lines[at + len(placeholder):])


@pytest.mark.parametrize("path", STUDENT_COPIES, ids=[p.name for p in STUDENT_COPIES])
def test_a_student_copy_filled_with_the_solutions_passes_its_checks(path, capsys):
    source = nbformat.read(NOTEBOOKS / path.name, as_version=4)
    student = nbformat.read(path, as_version=4)
    exercises = find_exercises(source, notebook_number(path), path.name)
    assert exercises and [c.cell_type for c in student.cells] == [c.cell_type for c in source.cells]
    blank, solved = {}, {}
    for exercise in exercises:
        cell, check = student.cells[exercise.solution].source, student.cells[exercise.check].source
        exec(cell, blank)
        with pytest.raises(NotImplementedError, match=f"^{re.escape(exercise.message)}$"):
            exec(check, blank)                                 # as handed out: the check stops at the exercise
        exec(filled(cell, source.cells[exercise.solution].source, exercise), solved)
        exec(check, solved)                                    # filled in: it passes (CheckFailed otherwise)
    assert capsys.readouterr().out.count("properties hold") == len(exercises)
