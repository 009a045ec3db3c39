"""Self-checks for the course's exercises: ``check_<name>(your_function)``.

Each exercise asks for one function; the cell after it hands that function to its check::

    from fewshot_lib.checks import check_adain
    check_adain(adain_by_hand)

A check tests *properties* on seeded inputs (shapes, agreement with the library, invariances,
gradients, the paper's constraints), never stored answers, and prints one line per property::

    check_adain: AdaIN(x, ψ) = ψ_scale · IN(x) + ψ_bias, with ψ = [scale | bias]
      ✓ equals fewshot_lib.models.AdaIN   (max |diff| 4.8e-07)
      ✗ each channel's mean is its ψ bias   (max |diff| 1.3)

Then it raises :class:`CheckFailed` listing what failed, with a hint. The
``NotImplementedError`` of an exercise not done yet passes through unchanged: a student copy
stops at the exercise with the exercise's own message (``docs/instructors.md``).

Introduced in notebook 01; every notebook's exercises use it.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .data import VideoDataset, to_tensor
from .data.synthetic.geometry import Camera, Expression, FaceShape, Pose, landmarks_3d
from .evaluate import nearest_pose_frames, ssim
from .finetune import FinetuneConfig, FineTuner, Shots
from .landmarks import PARTS, draw_sketch
from .landmarks.sketch import SHIFT, line_width
from .losses import ContentLoss, adversarial_loss, discriminator_hinge_loss, embedding_match_loss
from .models import (AdaIN, Discriminator, Embedder, Generator, ResBlockDown, SelfAttention, get_preset,
                     instance_norm)

__all__ = [
    "Check", "CheckFailed", "check_adain", "check_adain_params", "check_adversarial_loss", "check_discriminator_losses",
    "check_distance_to_polyline", "check_down_block", "check_draw_episode", "check_embed_and_generate",
    "check_embedding_match", "check_fine_tuning_losses", "check_fine_tuning_start", "check_hinge_loss",
    "check_instance_norm", "check_largest_singular_value", "check_nearest_pose", "check_projection_score",
    "check_self_attention", "check_sketch_strokes", "check_ssim", "check_to_tensor", "check_tps_fit",
    "check_tps_grid",
]


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
        got, want = _as_float64(got), _as_float64(want)
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


def _as_float64(value) -> torch.Tensor | None:
    """A float64 CPU tensor of a number, numpy array or tensor (None for anything else)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return torch.from_numpy(array)


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _gradients(loss, tensors: list[torch.Tensor]) -> list[torch.Tensor | None]:
    """∂loss/∂t for each of ``tensors`` (None where ``loss`` does not depend on it)."""
    if not (isinstance(loss, torch.Tensor) and loss.requires_grad):
        return [None] * len(tensors)
    return list(torch.autograd.grad(loss, tensors, allow_unused=True, retain_graph=True))


def _backward(loss) -> bool:
    """Backpropagate ``loss`` if it can be (False when the function cut the graph, e.g. under no_grad)."""
    if not (isinstance(loss, torch.Tensor) and loss.requires_grad):
        return False
    loss.backward()
    return True


def _face(size: int = 128) -> np.ndarray:
    """The mean face, mouth open, head turned a little: exact (68, 2) float64 pixel landmarks."""
    points = landmarks_3d(FaceShape(), Expression(mouth_open=0.6, smile=0.3))
    return Camera(Pose(yaw=15, pitch=-5), size=size).project(points)


# --------------------------------------------------------------------------------------------
# Notebook 01 · landmarks and the landmark sketch
# --------------------------------------------------------------------------------------------
def check_sketch_strokes(sketch_strokes) -> None:
    """Exercise 1.1: ``sketch_strokes(points (68, 2)) → [(polyline (n, 2), colour (r, g, b)), ...]``."""
    with Check("check_sketch_strokes", "one polyline per facial part, in the part's colour, closed for eyes and lips",
               hint="for part in PARTS: points[list(part.indices)], with part.indices[0] once more at the end "
                    "when part.closed, paired with part.colour") as check:
        points = _face(128)                                                   # (68, 2)
        strokes = list(sketch_strokes(points))
        check.holds("one stroke per part of fewshot_lib.landmarks.PARTS", len(strokes) == len(PARTS),
                    f"{len(strokes)} strokes for {len(PARTS)} parts")
        strokes = [(np.asarray(line, dtype=np.float64), tuple(int(c) for c in colour)) for line, colour in strokes]
        pairs = list(zip(PARTS, strokes))
        starts = [(line[:len(part.indices)], points[list(part.indices)]) for part, (line, _) in pairs]
        check.holds("each stroke joins its part's points in index order",
                    all(len(mine) == len(theirs) and np.allclose(mine, theirs) for mine, theirs in starts))
        check.holds("eyes and lips are closed (their stroke ends where it starts); jaw, brows and nose are open",
                    all(len(line) == len(part.indices) + part.closed
                        and (not part.closed or np.allclose(line[-1], line[0])) for part, (line, _) in pairs))
        check.holds("each stroke has its part's colour (RGB)",
                    all(colour == part.colour for part, (_, colour) in pairs))
        canvas = np.zeros((128, 128, 3), np.uint8)                            # draw them as draw_sketch does
        for line, colour in strokes:
            fixed = np.round(line * (1 << SHIFT)).astype(np.int32)
            cv2.polylines(canvas, [fixed], False, colour, line_width(128), cv2.LINE_AA, SHIFT)
        difference = np.abs(canvas.astype(int) - draw_sketch(points, 128))
        check.holds("drawn with OpenCV, the strokes give draw_sketch's image", difference.max() <= 16,
                    f"max |diff| {difference.max()} / 255")


def check_distance_to_polyline(distance_to_polyline) -> None:
    """Exercise 1.2: ``distance_to_polyline(pixels (P, 2), line (n, 2)) → (P,)`` distances to the nearest segment."""
    with Check("check_distance_to_polyline", "distance from each pixel centre to the nearest segment of a polyline",
               hint="for segment [a, b]: t = clip((x − a)·(b − a) / ‖b − a‖², 0, 1), distance ‖x − (a + t (b − a))‖; "
                    "then the minimum over the segments (broadcast pixels (P, 1, 2) against segments (n − 1, 2))"
               ) as check:
        rng = np.random.default_rng(0)
        line = rng.uniform(0, 64, (6, 2))                                     # (n, 2) a random polyline
        pixels = rng.uniform(-10, 74, (200, 2))                               # (P, 2)
        distances = distance_to_polyline(pixels, line)
        check.holds("one distance per pixel, none negative",
                    np.shape(distances) == (200,) and np.all(np.asarray(distances) >= 0),
                    f"shape {np.shape(distances)}")
        check.close("zero at the polyline's points", distance_to_polyline(line, line), np.zeros(len(line)), atol=1e-9)
        check.close("zero halfway along each segment", distance_to_polyline((line[1:] + line[:-1]) / 2, line),
                    np.zeros(len(line) - 1), atol=1e-9)
        segment, outside = np.array([[0.0, 0.0], [10.0, 0.0]]), np.array([[13.0, 4.0], [-3.0, -4.0], [5.0, 2.0]])
        check.close("past a segment's end, the distance to that end point",     # (13, 4) is 5 away from (10, 0)
                    distance_to_polyline(outside, segment), np.array([5.0, 5.0, 2.0]), atol=1e-9)
        t = np.linspace(0, 1, 2001)[None, :, None]                            # dense points along every segment
        dense = (line[:-1, None] + t * (line[1:, None] - line[:-1, None])).reshape(-1, 2)
        brute = np.linalg.norm(pixels[:, None] - dense[None], axis=-1).min(axis=1)
        check.close("agrees with the nearest of 2,000 points along each segment", distances, brute, atol=0.05)


# --------------------------------------------------------------------------------------------
# Notebook 02 · data: episodes and the tensor convention
# --------------------------------------------------------------------------------------------
class _Video:
    """A stand-in video of ``n`` frames: all ``VideoDataset.draw`` looks at is its length."""

    size, meta = 64, {}

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n


def check_draw_episode(draw_episode) -> None:
    """Exercise 2.1: ``draw_episode(num_frames, k, rng) → (target, k_indices)``: K + 1 distinct frames."""
    with Check("check_draw_episode", "an episode: a target frame and K other frames of the same video",
               hint="chosen = rng.choice(num_frames, size=k + 1, replace=False); the target is chosen[0], "
                    "the K frames np.sort(chosen[1:])") as check:
        T, k, draws = 12, 8, 300
        episodes = [draw_episode(T, k, np.random.default_rng([0, 0, video])) for video in range(draws)]
        targets = [int(target) for target, _ in episodes]
        frames = [np.asarray(ks).reshape(-1) for _, ks in episodes]
        check.holds("K frames per episode", all(len(ks) == k for ks in frames))
        check.holds("the target is never among the K frames (paper: the generator must re-pose, not copy)",
                    all(t not in ks for t, ks in zip(targets, frames)),
                    f"{sum(t in ks for t, ks in zip(targets, frames))} of {draws} episodes")
        check.holds("the K frames are distinct", all(len(set(ks.tolist())) == len(ks) for ks in frames))
        check.holds("every frame lies in 0 … T − 1", all(0 <= t < T for t in targets)
                    and all(((ks >= 0) & (ks < T)).all() for ks in frames))
        check.holds(f"every frame is the target of some episode ({draws} draws)", set(targets) == set(range(T)),
                    f"targets seen: {sorted(set(targets))}")
        target, ks = draw_episode(k + 1, k, np.random.default_rng(1))
        check.holds("with T = K + 1 frames, the K frames are all the others",
                    sorted(np.asarray(ks).tolist()) == sorted(set(range(k + 1)) - {int(target)}))
        dataset = VideoDataset([_Video(T) for _ in range(4)], k=k, seed=3)
        same = all((int(mine[0]), sorted(np.asarray(mine[1]).tolist())) == (theirs[0], theirs[1].tolist())
                   for video in range(4) for epoch in range(5)
                   for mine, theirs in [(draw_episode(T, k, np.random.default_rng([3, epoch, video])),
                                         dataset.draw(video, epoch))])
        check.holds("the same episodes as VideoDataset.draw for the same rng", same)


def check_to_tensor(to_tensor_by_hand) -> None:
    """Exercise 2.2: ``to_tensor_by_hand(images uint8 (n, S, S, 3)) → float32 (n, 3, S, S) in [-1, 1]``."""
    with Check("check_to_tensor", "uint8 (n, S, S, 3) images → float32 (n, 3, S, S) in [-1, 1], RGB",
               hint="torch.from_numpy(images).float() / 127.5 - 1, then move the channel axis: .permute(0, 3, 1, 2)"
               ) as check:
        images = np.random.default_rng(0).integers(0, 256, (2, 6, 9, 3), dtype=np.uint8)   # not square: axes show
        images[0, 0, 0], images[0, 0, 1] = 0, 255
        x = to_tensor_by_hand(images)
        check.holds("a float32 tensor", isinstance(x, torch.Tensor) and x.dtype == torch.float32,
                    f"got {type(x).__name__}" + (f" {x.dtype}" if isinstance(x, torch.Tensor) else ""))
        check.close("0 ↦ −1 and 255 ↦ +1", [x[0, :, 0, 0].tolist(), x[0, :, 0, 1].tolist()],
                    [[-1.0] * 3, [1.0] * 3])
        red = np.zeros((1, 4, 4, 3), np.uint8)
        red[..., 0] = 255
        check.close("a red image is bright in channel 0 only", to_tensor_by_hand(red)[0, :, 0, 0], [1.0, -1.0, -1.0])
        check.close("equals fewshot_lib.data.to_tensor (NCHW, rows then columns)", x, to_tensor(images))


# --------------------------------------------------------------------------------------------
# Notebook 03 · the embedder's parts
# --------------------------------------------------------------------------------------------
def check_largest_singular_value(largest_singular_value) -> None:
    """Exercise 3.1: ``largest_singular_value(W (m, n), steps) → σ(W)`` by power iteration."""
    with Check("check_largest_singular_value", "σ(W), the largest singular value, by power iteration",
               hint="start from v = ones(n) / √n; repeat: u = W v / ‖W v‖, v = Wᵀ u / ‖Wᵀ u‖; then σ ≈ uᵀ W v"
               ) as check:
        g = _generator(0)
        U, _ = torch.linalg.qr(torch.randn(32, 32, generator=g, dtype=torch.float64))
        V, _ = torch.linalg.qr(torch.randn(144, 32, generator=g, dtype=torch.float64))
        spectrum = torch.cat([torch.tensor([3.0]), torch.linspace(2.0, 0.1, 31)]).double()   # σ₁ = 3, σ₂ = 2
        W = U @ torch.diag(spectrum) @ V.T                                    # (32, 144), like a 16→32 3×3 conv
        sigma = largest_singular_value(W, 50)
        check.close("σ(W) of a (32, 144) matrix (a conv's weight, flattened)", sigma, 3.0, rtol=1e-3)
        check.close("σ(Wᵀ): the same value", largest_singular_value(W.T, 50), 3.0, rtol=1e-3)
        check.close("σ(−2.5 W) = 2.5 σ(W)", largest_singular_value(-2.5 * W, 50), 7.5, rtol=1e-3)
        Q, _ = torch.linalg.qr(torch.randn(16, 16, generator=g, dtype=torch.float64))
        check.close("σ of an orthogonal matrix is 1 (no direction is stretched)", largest_singular_value(Q, 50), 1.0,
                    rtol=1e-3)
        u, v = torch.randn(8, 1, generator=g, dtype=torch.float64), torch.randn(5, 1, generator=g, dtype=torch.float64)
        check.close("σ(u vᵀ) = ‖u‖ ‖v‖ for a rank-one matrix", largest_singular_value(u @ v.T, 50),
                    u.norm() * v.norm(), rtol=1e-3)
        few = [float(largest_singular_value(W, steps)) for steps in (1, 2, 3)]
        check.holds("with few steps the estimate is at most σ(W) (uᵀ W v never exceeds it)",
                    all(s <= 3.0 + 1e-9 for s in few), f"estimates {[round(s, 4) for s in few]}")


def check_down_block(down_block_by_hand) -> None:
    """Exercise 3.2: ``down_block_by_hand(x, block) → (B, C_out, H/2, W/2)``, BigGAN's residual down block."""
    with Check("check_down_block",
               "pool(conv2(relu(conv1(relu(x))))) + pool(conv1x1(x)); no first ReLU in a first block",
               hint="F.conv2d(h, block.conv1.weight, block.conv1.bias, padding=1) for the 3×3 convs, no padding for "
                    "block.skip; F.avg_pool2d(·, 2) on both paths; skip the first ReLU when block.first") as check:
        g = _generator(0)
        x = torch.randn(2, 8, 16, 16, generator=g)                            # (B, C_in, H, W)
        torch.manual_seed(0)
        for first in (False, True):
            block = ResBlockDown(8, 16, first=first).eval()
            with torch.no_grad():
                mine, theirs = down_block_by_hand(x, block), block(x)
            check.close(f"equals fewshot_lib.models.ResBlockDown(first={first})", mine, theirs, atol=1e-5)
        check.holds("halves the side and sets the width: (2, 8, 16, 16) → (2, 16, 8, 8)",
                    tuple(mine.shape) == (2, 16, 8, 8), f"got {tuple(mine.shape)}")


def check_self_attention(self_attention_by_hand) -> None:
    """Exercise 3.3: ``self_attention_by_hand(x, layer) → (x + γ·o, β (B, HW, HW))``, SAGAN self-attention."""
    with Check("check_self_attention", "o_j = Σ_i softmax_i(q_j · k_i) v_i, out = x + γ o",
               hint="q, k, v = F.conv2d(x, layer.query.weight, layer.query.bias).flatten(2), ... (B, C', HW); "
                    "β = softmax(qᵀ k) over the last axis (no 1/√d); o = v βᵀ, back to (B, C, H, W)") as check:
        torch.manual_seed(0)
        layer = SelfAttention(16).eval()
        x = torch.randn(2, 16, 8, 8, generator=_generator(0))                 # (B, C, H, W)
        with torch.no_grad():
            out, beta = self_attention_by_hand(x, layer)
            check.close("γ = 0 (a new layer): the identity", out, x)
            layer.gamma.fill_(0.5)
            out, beta = self_attention_by_hand(x, layer)
            check.close("γ = 0.5: equals fewshot_lib.models.SelfAttention", out, layer(x), atol=1e-5)
        check.holds("β has one row per position j, one column per position i: (B, HW, HW)",
                    tuple(beta.shape) == (2, 64, 64), f"got {tuple(beta.shape)}")
        check.close("each row of β sums to 1 (softmax over the positions i)", beta.sum(dim=-1), torch.ones(2, 64))


# --------------------------------------------------------------------------------------------
# Notebook 04 · AdaIN, ψ̂ = P ê and the projection discriminator
# --------------------------------------------------------------------------------------------
def check_instance_norm(instance_norm_by_hand) -> None:
    """Exercise 4.1: ``instance_norm_by_hand(x (B, C, H, W)) → IN(x)``."""
    with Check("check_instance_norm", "IN(x) = (x − μ) / σ per channel of each image, μ and σ over its pixels",
               hint="x.mean(dim=(2, 3), keepdim=True) and x.var(dim=(2, 3), keepdim=True, unbiased=False); "
                    "divide by sqrt(var + eps), eps = 1e-5") as check:
        g = _generator(0)
        x = torch.randn(3, 8, 16, 16, generator=g) * 3 + torch.randn(3, 8, 1, 1, generator=g)
        y = instance_norm_by_hand(x)
        check.close("equals fewshot_lib.models.instance_norm", y, instance_norm(x), atol=1e-4)
        check.close("every channel of every image has mean 0", y.mean(dim=(2, 3)), torch.zeros(3, 8), atol=1e-4)
        check.close("… and standard deviation 1", y.std(dim=(2, 3), unbiased=False), torch.ones(3, 8), atol=1e-3)
        check.close("each image on its own: no statistics shared across the batch", instance_norm_by_hand(x[:1]), y[:1],
                    atol=1e-5)
        scale, shift = torch.rand(1, 8, 1, 1, generator=g) + 0.5, torch.randn(1, 8, 1, 1, generator=g)
        check.close("a channel's scale (> 0) and shift change nothing", instance_norm_by_hand(scale * x + shift), y,
                    atol=1e-3)


def check_adain(adain_by_hand) -> None:
    """Exercise 4.2: ``adain_by_hand(x (B, C, H, W), psi (B, 2C)) → ψ_scale · IN(x) + ψ_bias``."""
    with Check("check_adain", "AdaIN(x, ψ) = ψ_scale · IN(x) + ψ_bias, with ψ = [scale | bias]",
               hint="scale, bias = psi[:, :C], psi[:, C:] (C = x.shape[1]); "
                    "scale[:, :, None, None] * instance_norm_by_hand(x) + bias[:, :, None, None]") as check:
        g = _generator(0)
        x = torch.randn(2, 8, 16, 16, generator=g) * 3 + 1                   # (B, C, H, W)
        scale, bias = torch.rand(2, 8, generator=g) + 0.5, torch.randn(2, 8, generator=g)
        psi = torch.cat([scale, bias], dim=1)                                 # (B, 2C)
        y = adain_by_hand(x, psi)
        check.close("equals fewshot_lib.models.AdaIN", y, AdaIN(8)(x, psi), atol=1e-4)
        check.close("each channel's mean is its ψ bias", y.mean(dim=(2, 3)), bias, atol=1e-4)
        check.close("each channel's standard deviation is its ψ scale", y.std(dim=(2, 3), unbiased=False), scale,
                    atol=1e-3)
        check.close("the input's own channel statistics are wiped out", adain_by_hand(5 * x - 2, psi), y, atol=1e-3)


def check_adain_params(adain_params) -> None:
    """Exercise 4.3: ``adain_params(psi_hat (B, n_psi), layout, layer) → (scale (B, C), bias (B, C))``."""
    with Check("check_adain_params", "the slice of ψ̂ = P ê that each AdaIN layer of G reads",
               hint="the layout lists PsiSlice(layer, what, start, stop): find the 'scale' and 'bias' entries of "
                    "`layer` and return psi_hat[:, piece.start:piece.stop] for each") as check:
        torch.manual_seed(0)
        G = Generator(get_preset("tiny")).eval()
        seen = {}                                                             # AdaIN layer → the ψ it received
        hooks = [module.register_forward_pre_hook(lambda m, args, name=name: seen.__setitem__(name, args[1]))
                 for name, module in G.decoder.named_modules(prefix="decoder") if isinstance(module, AdaIN)]
        g = _generator(0)
        psi_hat = torch.randn(2, G.n_psi, generator=g)                        # (B, n_psi)
        with torch.no_grad():
            G.forward_from_psi(torch.rand(2, 3, 32, 32, generator=g) * 2 - 1, psi_hat)
        for hook in hooks:
            hook.remove()
        mine = {layer: adain_params(psi_hat, G.psi_layout, layer) for layer in seen}
        check.holds("(B, C) scales and biases for a C-channel layer",
                    all(tuple(s.shape) == tuple(b.shape) == (2, psi.shape[1] // 2) for (s, b), psi in
                        zip(mine.values(), seen.values())))
        worst = max((torch.cat(mine[layer], dim=1) - psi).abs().max().item() for layer, psi in seen.items())
        check.holds(f"all {len(seen)} AdaIN layers of G get exactly the [scale | bias] you slice", worst == 0,
                    f"max |diff| {worst:.2g}")


def check_projection_score(projection_score) -> None:
    """Exercise 4.4: ``projection_score(h (B, N, H, W), W_i (B, N), w0 (N,), b) → r (B,)``."""
    with Check("check_projection_score",
               "v = ReLU(Σ_hw h), r = vᵀ(W_i + w₀) + b: the projection discriminator's score",
               hint="v = F.relu(h.sum(dim=(2, 3))) (B, N); r = (v * (W_i + w0)).sum(dim=1) + b; no sigmoid") as check:
        torch.manual_seed(0)
        D = Discriminator(get_preset("tiny"), num_videos=5).eval()
        g = _generator(0)
        with torch.no_grad():
            D.w0.normal_(generator=g)
            D.b.fill_(0.5)
            x, y = torch.rand(3, 3, 32, 32, generator=g) * 2 - 1, torch.rand(3, 3, 32, 32, generator=g) * 2 - 1
            i = torch.tensor([0, 3, 4])
            r, features = D(x, y, i)
            h, W_i = features[-1], D.W(i)                                     # (B, N, 4, 4), (B, N)
            mine = projection_score(h, W_i, D.w0, D.b)
            check.close("equals D(x, y, i) on three frames", mine, r)
            e_new = torch.rand(32, generator=g)
            check.close("with w′ = w₀ + ê_NEW (fine-tuning): equals D(x, y, w=w′)",
                        projection_score(h, e_new.expand(3, -1), D.w0, D.b), D(x, y, w=D.w0 + e_new)[0])
            check.close("no sigmoid: r − b is linear in the column (10 × (W_i + w₀) → 10 × (r − b))",
                        projection_score(h, 10 * (W_i + D.w0), torch.zeros_like(D.w0), D.b) - D.b, 10 * (r - D.b),
                        atol=1e-4)


# --------------------------------------------------------------------------------------------
# Notebook 05 · losses
# --------------------------------------------------------------------------------------------
def check_hinge_loss(hinge_loss_by_hand) -> None:
    """Exercise 5.1: ``hinge_loss_by_hand(real_score (B,), fake_score (B,)) → L_DSC``."""
    with Check("check_hinge_loss", "L_DSC = mean max(0, 1 + D(x̂)) + mean max(0, 1 − D(x)), on raw scores",
               hint="torch.clamp(1 + fake_score, min=0).mean() + torch.clamp(1 - real_score, min=0).mean()") as check:
        g = _generator(0)
        real, fake = torch.randn(8, generator=g) + 0.5, torch.randn(8, generator=g) - 0.5
        check.close("equals fewshot_lib.losses.discriminator_hinge_loss", hinge_loss_by_hand(real, fake),
                    discriminator_hinge_loss(real, fake))
        check.close("0 once real scores ≥ 1 and fake scores ≤ −1",
                    hinge_loss_by_hand(torch.tensor([1.0, 3.0]), torch.tensor([-1.0, -5.0])), 0.0)
        check.close("a batch mean: repeating the batch changes nothing",
                    hinge_loss_by_hand(real.repeat(3), fake.repeat(3)), hinge_loss_by_hand(real, fake))
        scores = torch.tensor([2.0, 0.0, -2.0, 0.0], requires_grad=True)      # real: past margin, inside; fake: same
        _backward(hinge_loss_by_hand(scores[:2], scores[2:]))
        check.close("∂L/∂score: 0 past the margin, ∓1/B inside it", scores.grad, [0.0, -0.5, 0.0, 0.5])


def _features(g: torch.Generator, requires_grad: bool) -> list[torch.Tensor]:
    shapes = [(4, 8, 16, 16), (4, 16, 8, 8), (4, 32, 4, 4)]                   # D's blocks: sizes differ
    return [torch.randn(shape, generator=g).requires_grad_(requires_grad) for shape in shapes]


def check_adversarial_loss(adversarial_loss_by_hand) -> None:
    """Exercise 5.2: ``adversarial_loss_by_hand(fake_score, real_features, fake_features, fm_weight) → L_ADV``."""
    with Check("check_adversarial_loss",
               "L_ADV = −mean D(x̂) + w · Σ_j mean |D_j(x) − D_j(x̂)|, real features detached",
               hint="-fake_score.mean() + fm_weight * sum((r.detach() - f).abs().mean() for r, f in "
                    "zip(real_features, fake_features))") as check:
        g = _generator(0)
        score = torch.randn(4, generator=g).requires_grad_()
        real, fake = _features(g, requires_grad=True), _features(g, requires_grad=True)
        loss = adversarial_loss_by_hand(score, real, fake, 10.0)
        check.close("equals fewshot_lib.losses.adversarial_loss", loss, adversarial_loss(score, real, fake, 10.0))
        differentiable = _backward(loss)
        check.holds("no gradient reaches the real features (they are targets)",
                    all(r.grad is None or not r.grad.any() for r in real))
        check.holds("the fake features get a gradient",
                    differentiable and all(f.grad is not None and f.grad.any() for f in fake))
        check.close("∂L/∂D(x̂) = −1/B for every fake", score.grad, torch.full((4,), -0.25))
        same = [f.detach() for f in fake]
        check.close("identical features: L_FM = 0, L_ADV = −mean score",
                    adversarial_loss_by_hand(score.detach(), same, same, 10.0), -score.detach().mean())


def check_embedding_match(embedding_match_by_hand) -> None:
    """Exercise 5.3: ``embedding_match_by_hand(e (B, K, N), W_i (B, N)) → L_MCH``."""
    with Check("check_embedding_match", "L_MCH = (1/K) Σ_k ‖W_i − e_k‖₁, averaged over the batch",
               hint="(W_i[:, None] - e).abs().sum(dim=-1).mean(): ‖·‖₁ sums over the N coordinates, "
                    "the mean runs over B and K") as check:
        g = _generator(0)
        e, W_i = torch.randn(2, 8, 16, generator=g).requires_grad_(), torch.randn(2, 16, generator=g).requires_grad_()
        loss = embedding_match_by_hand(e, W_i)
        check.close("equals fewshot_lib.losses.embedding_match_loss", loss, embedding_match_loss(e, W_i))
        check.holds("gradients reach both e (the embedder) and W_i (the discriminator's column)",
                    _backward(loss) and e.grad is not None and W_i.grad is not None and e.grad.any() and W_i.grad.any())
        e, W_i = e.detach(), W_i.detach()
        check.close("an L1 norm sums over the N coordinates: repeating each coordinate doubles it",
                    embedding_match_by_hand(e.repeat(1, 1, 2), W_i.repeat(1, 2)), 2 * embedding_match_by_hand(e, W_i))
        check.close("a mean over the K frames: repeating every frame changes nothing",
                    embedding_match_by_hand(e.repeat(1, 3, 1), W_i), embedding_match_by_hand(e, W_i))
        median = e.median(dim=1).values                                       # K = 8: a point between the middle two
        nudged = [embedding_match_by_hand(e, median + 0.05 * torch.randn(median.shape, generator=g)) for _ in range(5)]
        check.holds("W_i at the coordinate-wise median of the e_k minimises it",
                    all(embedding_match_by_hand(e, median) <= n + 1e-6 for n in nudged))


# --------------------------------------------------------------------------------------------
# Notebook 06 · one meta-learning iteration
# --------------------------------------------------------------------------------------------
def _tiny_episode(g: torch.Generator, B: int = 2, K: int = 3) -> dict[str, torch.Tensor]:
    S = get_preset("tiny").image_size
    image = lambda *shape: torch.rand(*shape, S, S, generator=g) * 2 - 1
    return {"frames": image(B, K, 3), "sketches": image(B, K, 3), "target": image(B, 3), "target_sketch": image(B, 3),
            "video": torch.tensor([1, 4][:B])}


def check_embed_and_generate(embed_and_generate) -> None:
    """Exercise 6.1: ``embed_and_generate(E, G, frames, sketches, y_t) → (x̂ (B, 3, S, S), e (B, K, N))``."""
    with Check("check_embed_and_generate", "e_k = E(x_k, y_k), ê = (1/K) Σ_k e_k, x̂ = G(y_t, ê)",
               hint="E on frames.flatten(0, 1) and sketches.flatten(0, 1) (B·K images), .view(B, K, -1) → e; "
                    "ê = e.mean(dim=1); x̂ = G(y_t, ê)") as check:
        torch.manual_seed(0)
        cfg = get_preset("tiny")
        E, G = Embedder(cfg).eval(), Generator(cfg).eval()
        batch = _tiny_episode(_generator(0))
        frames, sketches, y_t = batch["frames"], batch["sketches"], batch["target_sketch"]
        x_hat, e = embed_and_generate(E, G, frames, sketches, y_t)
        with torch.no_grad():
            e_hat_library, e_library = E.embed_frames(frames, sketches)
            x_hat_library = G(y_t, e_hat_library)
        check.close("e: one vector per frame, E(x_k, y_k)", e, e_library, atol=1e-5)
        check.close("x̂ = G(y_t, mean of the e_k)", x_hat, x_hat_library, atol=1e-5)
        order = torch.tensor([2, 0, 1])
        with torch.no_grad():
            shuffled, _ = embed_and_generate(E, G, frames[:, order], sketches[:, order], y_t)
        check.close("x̂ does not depend on the order of the K frames", shuffled, x_hat, atol=1e-5)
        check.holds("gradients reach E and G (no torch.no_grad, no detach)", _backward(x_hat.square().mean())
                    and all(p.grad is not None for p in [*E.parameters(), *G.parameters()]))


def check_discriminator_losses(discriminator_losses) -> None:
    """Exercise 6.2: ``discriminator_losses(D, batch, x_hat, e, match) → {"L_DSC": …, "L_MCH": …}``."""
    with Check("check_discriminator_losses",
               "D's step: hinge on D(x_t) and D(x̂.detach()), match · L_MCH(e.detach(), W_i)",
               hint="score torch.cat([x_t, x_hat.detach()]) with sketches torch.cat([y_t, y_t]) and videos "
                    "torch.cat([i, i]) in one pass, r.chunk(2) → real, fake; L_MCH = match * "
                    "embedding_match_loss(e.detach(), D.W(i))") as check:
        torch.manual_seed(0)
        cfg = get_preset("tiny")
        D = Discriminator(cfg, num_videos=6).eval()
        g = _generator(0)
        batch = _tiny_episode(g)
        x_hat = (torch.rand(2, 3, 32, 32, generator=g) * 2 - 1).requires_grad_()
        e = torch.rand(2, 3, cfg.embed_dim, generator=g).requires_grad_()
        losses = discriminator_losses(D, batch, x_hat, e, 10.0)
        x_t, y_t, i = batch["target"], batch["target_sketch"], batch["video"]
        with torch.no_grad():
            hinge = discriminator_hinge_loss(D(x_t, y_t, i)[0], D(x_hat, y_t, i)[0])
            match = 10.0 * embedding_match_loss(e, D.W(i))
        check.holds("a dict with the terms 'L_DSC' and 'L_MCH'",
                    isinstance(losses, dict) and {"L_DSC", "L_MCH"} <= set(losses),
                    f"got {sorted(losses) if isinstance(losses, dict) else type(losses).__name__}")
        check.close("L_DSC: the hinge loss of D's scores of x_t (real) and x̂ (fake)", losses["L_DSC"], hinge)
        check.close("L_MCH: match · (1/K) Σ_k ‖W_i − e_k‖₁", losses["L_MCH"], match, rtol=1e-5)
        to_x_hat, to_e = _gradients(losses["L_DSC"] + losses["L_MCH"], [x_hat, e])
        check.holds("x̂ is detached: D's step never reaches the generator", to_x_hat is None or not to_x_hat.any())
        check.holds("e is detached: D's step never reaches the embedder", to_e is None or not to_e.any())
        to_W, = _gradients(losses["L_MCH"], [D.W.weight])
        rows = [] if to_W is None else to_W.abs().sum(dim=1).nonzero().flatten().tolist()
        check.holds("L_MCH moves the columns W_i of the batch's videos, and only those", rows == sorted(i.tolist()),
                    f"rows of W with a gradient: {rows}")


# --------------------------------------------------------------------------------------------
# Notebook 07 · fine-tuning
# --------------------------------------------------------------------------------------------
def _tiny_person(T: int) -> tuple[Embedder, Generator, Discriminator, Shots]:
    """Tiny meta-learned networks (w₀ and b not zero, so that forgetting them shows) and T shots of a person."""
    torch.manual_seed(0)
    cfg = get_preset("tiny")
    E, G, D = Embedder(cfg).eval(), Generator(cfg).eval(), Discriminator(cfg, num_videos=4).eval()
    g = _generator(0)
    with torch.no_grad():
        D.w0.normal_(generator=g)
        D.b.fill_(0.5)
    S = cfg.image_size
    image = lambda: torch.rand(T, 3, S, S, generator=g) * 2 - 1                   # (T, 3, S, S) in [-1, 1]
    return E, G, D, Shots(image(), image(), np.zeros((T, 68, 2), np.float32))


def _pixel_content() -> ContentLoss:
    """L_CNT as offline fine-tuning gets it (multi-scale pixel L1, weight 10): no VGG weights to download."""
    return ContentLoss({"pixel": 10.0}, {})


def check_fine_tuning_start(fine_tuning_start) -> None:
    """Exercise 7.1: ``fine_tuning_start(E, G, D, frames, sketches) → (ê_NEW (N,), ψ′ (n_psi,), w′ (N,))``."""
    with Check("check_fine_tuning_start", "ê_NEW = (1/T) Σ_t E(x_t, y_t), ψ′ = P · ê_NEW, w′ = w₀ + ê_NEW",
               hint="e_hat = E(frames, sketches).mean(dim=0) (T frames in one batch); psi = G.psi_hat(e_hat[None])[0]; "
                    "w = D.w0 + e_hat, a new tensor (never D.w0 += …: the meta-learned D must not change)") as check:
        E, G, D, shots = _tiny_person(5)
        w0 = D.w0.detach().clone()
        e_hat, psi, w = fine_tuning_start(E, G, D, shots.frames, shots.sketches)
        check.holds("the meta-learned D is unchanged (w₀ not updated in place)", torch.equal(D.w0, w0))
        tuner = FineTuner(E, G, D, shots, FinetuneConfig(epochs=0), content=_pixel_content())
        check.close("ê_NEW: the mean of E over the T frames, as fewshot_lib.finetune.FineTuner", e_hat, tuner.e_hat)
        check.close("ψ′ = P · ê_NEW, as FineTuner (G's AdaIN parameters for this person)", psi, tuner.psi)
        check.close("w′ = w₀ + ê_NEW, as FineTuner (D's column for this person)", w, tuner.w)
        order = torch.tensor([3, 0, 4, 1, 2])
        shuffled, _, _ = fine_tuning_start(E, G, D, shots.frames[order], shots.sketches[order])
        check.close("ê_NEW does not depend on the order of the T frames", shuffled, e_hat)
        twice, _, _ = fine_tuning_start(E, G, D, shots.frames.repeat(2, 1, 1, 1), shots.sketches.repeat(2, 1, 1, 1))
        check.close("a mean, not a sum: every frame given twice leaves ê_NEW as it is", twice, e_hat)


def check_fine_tuning_losses(fine_tuning_losses) -> None:
    """Exercise 7.2: ``fine_tuning_losses(G, D, psi, w, x, y, content, fm_weight) → {"L_CNT": …, "L_ADV": …}``."""
    with Check("check_fine_tuning_losses",
               "x̂ = G(y; ψ′), L_CNT(x̂, x) and L_ADV = −D(x̂, y; w′) + fm_weight · L_FM: G's fine-tuning step",
               hint="x_hat = G.forward_from_psi(y, psi); r, fake_features = D(x_hat, y, w=w); the real features "
                    "D(x, y, w=w)[1] under torch.no_grad(); {'L_CNT': content(x_hat, x), "
                    "'L_ADV': adversarial_loss(r, real_features, fake_features, fm_weight)}") as check:
        E, G, D, shots = _tiny_person(4)
        tuner = FineTuner(E, G, D, shots, FinetuneConfig(epochs=0), content=_pixel_content())
        x, y = tuner.shots.frames, tuner.shots.sketches                        # (T, 3, S, S)
        losses = fine_tuning_losses(tuner.G, tuner.D, tuner.psi, tuner.w, x, y, tuner.content, 10.0)
        check.holds("a dict with the terms 'L_CNT' and 'L_ADV'",
                    isinstance(losses, dict) and {"L_CNT", "L_ADV"} <= set(losses),
                    f"got {sorted(losses) if isinstance(losses, dict) else type(losses).__name__}")
        to_psi, to_w, *to_G = _gradients(losses["L_CNT"] + losses["L_ADV"], [tuner.psi, tuner.w, *tuner.G.parameters()])
        adversarial_to_psi, = _gradients(losses["L_ADV"], [tuner.psi])
        library, _ = tuner.generator_step(x, y)                               # the same losses, then one Adam step
        check.close("L_CNT: equals FineTuner.generator_step's", losses["L_CNT"], library["L_CNT"])
        check.close("L_ADV: equals FineTuner.generator_step's", losses["L_ADV"], library["L_ADV"])
        check.holds("gradients reach ψ′ and every weight of G (both are fine-tuned)",
                    to_psi is not None and to_psi.any() and all(t is not None for t in to_G))
        check.holds("L_ADV's gradient reaches ψ′ (x̂ is not detached: D's opinion trains the person model)",
                    adversarial_to_psi is not None and adversarial_to_psi.any())
        check.holds("D scores x̂ with the person's column w′ (L_ADV depends on it)", to_w is not None and to_w.any())


# --------------------------------------------------------------------------------------------
# Notebook 08 · evaluation
# --------------------------------------------------------------------------------------------
def check_ssim(ssim_by_hand) -> None:
    """Exercise 8.1: ``ssim_by_hand(x (B, C, H, W), y) → (B,)`` SSIM of images in [-1, 1]."""
    with Check("check_ssim",
               "SSIM = mean (2 μ_x μ_y + C₁)(2 σ_xy + C₂) / ((μ_x² + μ_y² + C₁)(σ_x² + σ_y² + C₂)), "
               "11×11 Gaussian window, σ = 1.5",
               hint="to [0, 1]: (x + 1) / 2; g = exp(−k² / (2 · 1.5²)) for k = −5 … 5, window g gᵀ / (Σ g)²; "
                    "local means F.conv2d(z, window.expand(C, 1, 11, 11), groups=C) with no padding, of x, y, x², y², "
                    "xy; C₁ = 0.01², C₂ = 0.03²; mean over (C, H, W)") as check:
        g = _generator(0)
        y = F.interpolate(torch.rand(3, 3, 8, 8, generator=g) * 2 - 1, size=32, mode="bilinear")   # smooth (B, C, S, S)
        x = (y + 0.2 * torch.randn(3, 3, 32, 32, generator=g)).clamp(-1, 1)      # noisy copies
        mine = ssim_by_hand(x, y)
        check.close("equals fewshot_lib.evaluate.ssim, one value per image", mine, ssim(x, y), atol=1e-5)
        check.close("SSIM(x, x) = 1", ssim_by_hand(y, y), torch.ones(3), atol=1e-5)
        check.close("symmetric: SSIM(y, x) = SSIM(x, y)", ssim_by_hand(y, x), mine, atol=1e-5)
        check.close("each image on its own: no statistics shared across the batch", ssim_by_hand(x[1:2], y[1:2]),
                    mine[1:2], atol=1e-5)
        grey, lighter = torch.zeros(1, 3, 16, 16), torch.full((1, 3, 16, 16), 0.2)   # 0.5 and 0.6 on [0, 1]
        check.close("two flat images: only (2 μ_x μ_y + C₁) / (μ_x² + μ_y² + C₁) is left, on the [0, 1] scale",
                    ssim_by_hand(grey, lighter), [(2 * 0.5 * 0.6 + 1e-4) / (0.5 ** 2 + 0.6 ** 2 + 1e-4)],
                    atol=1e-3)                                   # float32 leaves σ² ≈ 1e-8 instead of 0: ~1e-4 here


def check_nearest_pose(nearest_pose_by_hand) -> None:
    """Exercise 8.2: ``nearest_pose_by_hand(shots, landmarks (B, 68, 2)) → (B, 3, S, S)``, a copied shot per target."""
    with Check("check_nearest_pose",
               "for each target, the shot whose landmarks are nearest: mean distance over the 68 points",
               hint="distance = np.linalg.norm(landmarks[:, None] - shots.landmarks[None], axis=-1).mean(axis=-1) "
                    "(B, T); shots.frames[torch.from_numpy(distance.argmin(axis=1))]") as check:
        rng = np.random.default_rng(0)
        face = _face(32)                                                      # (68, 2)
        T, B = 6, 4
        points = lambda n: (face + rng.normal(0, 2, (n, 68, 2))).astype(np.float32)
        frames = torch.from_numpy(rng.uniform(-1, 1, (T, 3, 8, 8)).astype(np.float32))
        shots, targets = Shots(frames, -frames, points(T)), points(B)        # (T, 3, 8, 8), (B, 68, 2)
        copied = nearest_pose_by_hand(shots, targets)
        check.close("equals fewshot_lib.evaluate.nearest_pose_frames", copied, nearest_pose_frames(shots, targets))
        check.close("a target in a shot's own pose gets that very shot", nearest_pose_by_hand(shots, shots.landmarks),
                    frames)
        order = rng.permutation(T)
        check.close("the order of the shots does not matter",
                    nearest_pose_by_hand(Shots(frames[order], -frames[order], shots.landmarks[order]), targets), copied)
        off_by_one = face + np.array([1.0, 0.0])                              # every point 1 px off: mean 1
        one_outlier = face.copy()
        one_outlier[30] += [10.0, 0.0]                                        # one point 10 px off: mean 10 / 68
        pair = Shots(frames[:2], -frames[:2], np.stack([off_by_one, one_outlier]).astype(np.float32))
        check.close("a mean over the points: one misplaced landmark counts less than the whole face 1 px off",
                    nearest_pose_by_hand(pair, face[None].astype(np.float32)), frames[1:2])


# --------------------------------------------------------------------------------------------
# Notebook 10 · after the paper: warping
# --------------------------------------------------------------------------------------------
def _two_faces(size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Two poses of the mean face: a source and a target ``(68, 2)`` float64 pixels, no two points coincident."""
    turned = Camera(Pose(yaw=-10, pitch=5, roll=4), size=size)
    return _face(size), turned.project(landmarks_3d(FaceShape(), Expression(mouth_open=0.3, smile=0.6)))


def _spline(c, w, a):
    """A :class:`~fewshot_lib.warping.ThinPlateSpline` of one spline ``(c (N, 2), w (N, 2), a (3, 2))``, float64."""
    from .warping import ThinPlateSpline

    c, w, a = (_as_float64(t) for t in (c, w, a))
    return ThinPlateSpline(c[None], w[None], a[None])


def check_tps_fit(fit_tps_by_hand) -> None:
    """Exercise 10.1: ``fit_tps_by_hand(source (P, 2), target (P, 2), size) → (c (N, 2), w (N, 2), a (3, 2))``."""
    from .warping import border_anchors, evaluate_tps, fit_tps, identity_grid, pixels_to_grid, spline_grid

    with Check("check_tps_fit",
               "f(p) = a₀ + A·p + Σ_j w_j U(‖p − c_j‖), U(r) = r² log r², through f(target_j) = source_j "
               "and the fixed border anchors, solved as [[K, P], [Pᵀ, 0]] [w; a] = [v; 0]",
               hint="normalise first, u = (2p + 1) / size − 1; c = the target points then the anchors, v = the "
                    "source points then the anchors (N = P + 16); K_ij = U(‖c_i − c_j‖) with U(0) = 0, "
                    "P = [1 c] (N, 3); torch.linalg.solve of the (N + 3) × (N + 3) system; w = rows :N, "
                    "a = rows N:") as check:
        size = 64
        source, target = (torch.from_numpy(p) for p in _two_faces(size))           # (68, 2) float64 pixels
        found = fit_tps_by_hand(source.clone(), target.clone(), size)
        parts = [_as_float64(t) for t in found] if isinstance(found, (tuple, list)) and len(found) == 3 else None
        n = 68 + len(border_anchors(size))
        shapes = [None if t is None else tuple(t.shape) for t in parts] if parts else None
        usable = bool(shapes) and shapes[0] == shapes[1] and len(shapes[0] or ()) == 2 and shapes[0][1] == 2 \
            and shapes[2] == (3, 2)
        if not check.holds("returns (c, w, a): control points c and weights w (N, 2), the affine part a (3, 2)",
                           usable, f"got {shapes if parts else type(found).__name__}"):
            return
        check.holds(f"N = 68 + {n - 68}: the landmarks and the border anchors are the control points",
                    shapes[0][0] == n, f"N = {shapes[0][0]}")
        mine = _spline(*parts)
        f = lambda points: evaluate_tps(mine, pixels_to_grid(points, size)[None])[0]   # pixels → normalised f(p)
        check.close("f(target_j) = source_j: each target landmark reads its source landmark (normalised)",
                    f(target), pixels_to_grid(source, size), atol=1e-4)
        anchors = border_anchors(size, dtype=torch.float64)
        check.close("the border anchors stay put: f(anchor) = anchor", f(anchors), pixels_to_grid(anchors, size),
                    atol=1e-4)
        c, w = parts[0], parts[1]
        check.close("Pᵀw = 0: Σ_j w_j = 0 and Σ_j w_j c_j = 0 (no affine part hides in the bends)",
                    torch.cat([torch.ones(len(c), 1, dtype=c.dtype), c], 1).T @ w, torch.zeros(3, 2), atol=1e-6)
        library = spline_grid(fit_tps(source, target, size, regularization=0.0), size)[0]    # (S, S, 2)
        everywhere = evaluate_tps(mine, identity_grid(size, dtype=torch.float64))[0]
        check.close("equals fewshot_lib.warping.fit_tps between the points too (f at every pixel centre)",
                    everywhere, library, atol=1e-4)
        same = _spline(*fit_tps_by_hand(source.clone(), source.clone(), size))
        check.close("equal landmarks give the identity, f(p) = p (w = 0, A = I, a₀ = 0)",
                    evaluate_tps(same, identity_grid(size, dtype=torch.float64))[0],
                    identity_grid(size, dtype=torch.float64)[0], atol=1e-6)


def check_tps_grid(spline_grid_by_hand) -> None:
    """Exercise 10.2: ``spline_grid_by_hand(c (N, 2), w (N, 2), a (3, 2), size) → grid (S, S, 2)``."""
    from .warping import fit_tps, identity_grid, pixels_to_grid, spline_grid

    with Check("check_tps_grid",
               "grid[i, j] = f(u_j, v_i): the spline at the centre of pixel (row i, column j), u = (2j + 1)/S − 1",
               hint="u = (2 · torch.arange(size) + 1) / size − 1; points (S·S, 2) with x = u of the column and "
                    "y = u of the row (torch.meshgrid(u, u, indexing='xy')); r² = ‖p − c_j‖² (S·S, N), "
                    "U = r² log r² with U(0) = 0; f = a[0] + p @ a[1:] + U @ w, reshaped to (size, size, 2)"
               ) as check:
        source, target = (torch.from_numpy(p) for p in _two_faces(64))
        spline = fit_tps(source, target, 64)                                          # float64, batch of 1
        c, w, a = spline.controls[0], spline.weights[0], spline.affine[0]
        grid = _as_float64(spline_grid_by_hand(c.clone(), w.clone(), a.clone(), 64))
        check.close("equals fewshot_lib.warping.spline_grid at 64 × 64", grid, spline_grid(spline, 64)[0], atol=1e-6)
        check.close("and at 48 × 48: one spline serves every resolution (normalised coordinates)",
                    spline_grid_by_hand(c.clone(), w.clone(), a.clone(), 48), spline_grid(spline, 48)[0], atol=1e-6)
        same = fit_tps(source, source, 64)
        check.close("equal landmarks: the identity grid (every pixel reads its own centre)",
                    spline_grid_by_hand(same.controls[0], same.weights[0], same.affine[0], 64),
                    identity_grid(64, dtype=torch.float64)[0], atol=1e-6)
        rng = np.random.default_rng(0)
        cells = rng.choice(20 * 20, size=12, replace=False)                            # 12 distinct pixels
        pixels = torch.from_numpy(np.stack([cells % 20, cells // 20], -1) * 3.0 + 2)   # (12, 2) integer (x, y)
        moved = pixels + torch.from_numpy(rng.uniform(-2, 2, (12, 2)))               # where each one reads
        exact = fit_tps(moved, pixels, 64, regularization=0.0)
        lookup = _as_float64(spline_grid_by_hand(exact.controls[0], exact.weights[0], exact.affine[0], 64))
        if lookup is not None and lookup.shape == (64, 64, 2):
            lookup = lookup[pixels[:, 1].long(), pixels[:, 0].long()]                  # grid[y, x]: (12, 2)
        check.close("grid[y, x] at a target pixel holds its source point (x, y): rows are y, columns x, (x, y) order",
                    lookup, pixels_to_grid(moved, 64), atol=1e-6)


# --------------------------------------------------------------------------------------------
# Notebook 06 · a training run's own samples (not an exercise: it checks the learner's run)
# --------------------------------------------------------------------------------------------
def check_not_collapsed(generated, real, swapped=None, min_ratio: float = 0.2) -> dict[str, float]:
    """Fail on generated frames that are flat, the same for every person, or blind to ê (a collapsed run).

    ``generated``: G(y_t, ê) for P ≥ 2 people (P, 3, S, S) in [-1, 1]; ``real``: their targets x_t, same shape;
    ``swapped`` (optional): G(y_t, ê of the previous person), i.e. with ``e_hat.roll(1, dims=0)``. Each spread
    of the generated frames is divided by the same spread of the real ones, and must reach ``min_ratio``:

    * **within a frame**: the std of a frame's pixels (per image and channel, averaged): 0 for a flat colour;
    * **across people**: the std over the P people of each pixel (averaged): 0 when everyone gets the same frame;
    * **ê matters** (with ``swapped``): mean |G(y_t, ê) − G(y_t, ê of another)| over mean |x_t − x_t of another|:
      0 when G ignores the person's embedding (the sketch alone decides the frame).

    Returns the ratios; raises :class:`CheckFailed` when one falls short. Introduced in notebook 06.
    """
    generated, real = torch.as_tensor(generated).detach().cpu().float(), torch.as_tensor(real).detach().cpu().float()
    if generated.dim() != 4 or generated.shape != real.shape or generated.shape[0] < 2:
        raise ValueError(f"check_not_collapsed needs generated and real frames of one shape (P, 3, S, S) with P ≥ 2 "
                         f"people; got {tuple(generated.shape)} and {tuple(real.shape)}")
    within = lambda x: x.flatten(2).std(dim=2).mean().item()           # per image and channel, over H·W
    across = lambda x: x.std(dim=0).mean().item()                      # per pixel, over the P people
    ratios = {"within a frame": within(generated) / max(within(real), 1e-8),
              "across people": across(generated) / max(across(real), 1e-8)}
    if swapped is not None:
        swapped = torch.as_tensor(swapped).detach().cpu().float()
        if swapped.shape != generated.shape:
            raise ValueError(f"swapped must have the shape of generated {tuple(generated.shape)}; "
                             f"got {tuple(swapped.shape)}")
        ratios["ê matters"] = ((generated - swapped).abs().mean().item()
                               / max((real - real.roll(1, dims=0)).abs().mean().item(), 1e-8))
    with Check("check_not_collapsed",
               f"the generated frames vary as real ones do: each spread at least {min_ratio:g} × the real frames'",
               hint="a collapsed run: look at its log (L_DSC stuck at 0, D_real and D_fake drifting apart) and at "
                    "‖ê‖; lower λ_MCH (match_weight) or the learning rates, and train again") as check:
        check.holds("not flat: the pixels of a frame vary", ratios["within a frame"] >= min_ratio,
                    f"std within a frame {within(generated):.3f}, real {within(real):.3f}: "
                    f"ratio {ratios['within a frame']:.2f}")
        check.holds("not the same frame for everyone: pixels vary across people", ratios["across people"] >= min_ratio,
                    f"std across people {across(generated):.3f}, real {across(real):.3f}: "
                    f"ratio {ratios['across people']:.2f}")
        if swapped is not None:
            check.holds("not blind to the person: another person's ê changes the frame",
                        ratios["ê matters"] >= min_ratio,
                        f"mean |x̂ − x̂ with another ê| {(generated - swapped).abs().mean().item():.3f}, real "
                        f"|x_t − another's x_t| {(real - real.roll(1, dims=0)).abs().mean().item():.3f}: "
                        f"ratio {ratios['ê matters']:.2f}")
    return ratios
