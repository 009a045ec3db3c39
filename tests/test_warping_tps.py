"""Warping: pixel/grid geometry (align_corners=False everywhere) and the thin-plate-spline landmark warp."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fewshot_lib.data import (
    Expression,
    Pose,
    SyntheticConfig,
    synthetic_split,
    to_tensor,
)
from fewshot_lib.finetune import resize_landmarks
from fewshot_lib.puppeteer import mean_face_landmarks
from fewshot_lib.warping import (
    border_anchors,
    evaluate_tps,
    fit_tps,
    grid_to_pixels,
    identity_grid,
    pixels_to_grid,
    resize_grid,
    spline_grid,
    tps_grid,
    tps_warp,
    warp,
)

S = 64


@pytest.fixture(scope="module")
def video():
    """A synthetic talking head: real-looking frames (uint8 64²) and their landmarks."""
    return synthetic_split("heldout", SyntheticConfig(size=S, frames=4, heldout_identities=1, videos=1))[0]


def posed(size=S, yaw=20.0, mouth_open=0.8):
    """The synthetic mean face (source) and the same face turned and speaking (target), (68, 2) each."""
    return (mean_face_landmarks(size=size),
            mean_face_landmarks(Pose(yaw=yaw, pitch=5), Expression(mouth_open=mouth_open, smile=0.3), size=size))


def random_image(size=S, batch=1, channels=3):
    return torch.rand(batch, channels, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1


# ------------------------------------------------------------------------------------------ grid.py
def test_the_identity_grid_samples_every_pixel_at_its_own_centre():
    for size in (S, (5, 9)):
        image = random_image(17)[..., :5, :9] if size == (5, 9) else random_image()
        sampled = F.grid_sample(image, identity_grid(size), mode="bilinear", align_corners=False)
        torch.testing.assert_close(sampled, image, atol=1e-6, rtol=0)
        torch.testing.assert_close(warp(image, identity_grid(size)), image, atol=1e-6, rtol=0)


def test_pixel_and_grid_coordinates_follow_align_corners_false():
    points = torch.tensor([[0.0, 0.0], [S - 1.0, 2.0], [-0.5, S - 0.5]])
    grid = pixels_to_grid(points, S)
    torch.testing.assert_close(grid[0], torch.full((2,), 1 / S - 1))          # first pixel's centre
    torch.testing.assert_close(grid[2], torch.tensor([-1.0, 1.0]))             # the image's outer edges
    torch.testing.assert_close(grid_to_pixels(grid, S), points)
    # a point half-way between columns 2 and 3 of row 5 reads their average
    image = random_image()
    at = pixels_to_grid(torch.tensor([2.5, 5.0]), S).reshape(1, 1, 1, 2)
    torch.testing.assert_close(warp(image, at)[0, :, 0, 0], image[0, :, 5, 2:4].mean(-1))
    # (height, width): x uses the width, y the height
    torch.testing.assert_close(pixels_to_grid(torch.tensor([1.0, 1.0]), (4, 8)), torch.tensor([3 / 8 - 1, 3 / 4 - 1]))


def test_warp_takes_k_references_per_sample_at_once():
    images = random_image(16, batch=6).reshape(2, 3, 3, 16, 16)               # (B, K, C, H, W)
    grids = identity_grid(16, 6) * 0.8 + 0.1                                    # a zoom and a shift
    grids = grids.reshape(2, 3, 16, 16, 2)                                      # (B, K, S, S, 2)
    both = warp(images, grids)
    assert both.shape == (2, 3, 3, 16, 16)
    for b in range(2):
        for k in range(3):
            torch.testing.assert_close(both[b, k], warp(images[b, k][None], grids[b, k][None])[0])
    with pytest.raises(ValueError, match="image"):
        warp(images, grids[:, :, 0])


def test_resizing_an_identity_grid_gives_the_identity_grid_of_the_new_size():
    for old, new in ((S, 256), (256, S), ((8, 16), (24, 12))):
        torch.testing.assert_close(resize_grid(identity_grid(old, 2), new), identity_grid(new, 2), atol=1e-6, rtol=0)


def test_resizing_an_affine_grid_is_exact_up_to_the_borders():
    def affine(size):                                                           # a zoom, a turn and a shift
        angle = math.radians(10)
        A = 0.9 * torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        return identity_grid(size) @ A.T + torch.tensor([0.1, -0.05])
    torch.testing.assert_close(resize_grid(affine(S), 256), affine(256), atol=1e-6, rtol=0)
    torch.testing.assert_close(resize_grid(affine(256), S), affine(S), atol=1e-6, rtol=0)


# ------------------------------------------------------------------------------------------- tps.py
def test_equal_landmarks_give_the_identity_warp(video):
    image = to_tensor(video.frame(0))[None]                                   # (1, 3, 64, 64) in [-1, 1]
    points = video.landmarks[0]                                               # (68, 2) numpy
    torch.testing.assert_close(tps_grid(points, points, S), identity_grid(S), atol=1e-5, rtol=0)
    torch.testing.assert_close(tps_warp(image, points, points), image, atol=1e-5, rtol=0)


def test_each_source_landmark_is_mapped_onto_its_target():
    source, target = (torch.from_numpy(p).double() for p in posed())
    assert (source - target).norm(dim=-1).max() > 3                           # the face really moves
    spline = fit_tps(source, target, S)
    landed = grid_to_pixels(evaluate_tps(spline, pixels_to_grid(target, S)[None]), S)[0]
    assert (landed - source).norm(dim=-1).max() < 1e-3                       # pixels, given λ
    exact = fit_tps(source, target, S, regularization=0)
    landed = grid_to_pixels(evaluate_tps(exact, pixels_to_grid(target, S)[None]), S)[0]
    assert (landed - source).norm(dim=-1).max() < 1e-8


def test_a_dot_drawn_at_a_source_landmark_lands_on_its_target():
    source, target = posed(yaw=25)
    ys, xs = torch.meshgrid(torch.arange(S, dtype=torch.float32), torch.arange(S, dtype=torch.float32), indexing="ij")
    # chin, eye corner, mouth corner (where landmarks crowd, e.g. the nose tip under a turn, the
    # warp bends sharply around a dot and its centre of mass drifts from the mapped point)
    for index in (8, 36, 48):
        x, y = source[index]
        tx, ty = target[index]
        assert math.hypot(tx - x, ty - y) > 2
        blob = torch.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * 1.2 ** 2))  # (S, S), 1 at the landmark
        moved = (tps_warp((2 * blob - 1).expand(1, 3, S, S), source, target)[0, 0] + 1) / 2
        mass = moved.sum()
        centre = ((moved * xs).sum() / mass, (moved * ys).sum() / mass)
        assert math.hypot(centre[0] - tx, centre[1] - ty) < 0.5, (index, centre, (tx, ty))


def test_border_anchors_lie_on_the_image_edge_and_stay_fixed():
    anchors = border_anchors(S, per_side=3)
    assert anchors.shape == (16, 2)
    on_edge = (anchors == -0.5) | (anchors == S - 0.5)
    assert on_edge.any(-1).all() and on_edge.all(-1).sum() == 4               # on the edge; 4 corners
    source, target = (torch.from_numpy(p).double() for p in posed(yaw=30))
    spline = fit_tps(source, target, S)
    fixed = grid_to_pixels(evaluate_tps(spline, pixels_to_grid(anchors.double(), S)[None]), S)[0]
    torch.testing.assert_close(fixed, anchors.double(), atol=1e-4, rtol=0)
    # without anchors the whole picture follows the face's affine part, corners included
    loose = tps_grid(source, target, S, anchors=False)
    assert (grid_to_pixels(loose[0, 0, 0], S) - torch.zeros(2)).abs().max() > 1


def test_duplicated_points_give_a_finite_warp():
    source, target = (torch.from_numpy(p) for p in posed())
    source[66], target[66] = source[62], target[62]                         # a closed mouth: lips coincide
    grid = tps_grid(source, target, S)                                        # (λ = 0: a singular system)
    assert torch.isfinite(grid).all()
    torch.testing.assert_close(grid, tps_grid(np.delete(source.numpy(), 66, 0), np.delete(target.numpy(), 66, 0), S),
                               atol=1e-5, rtol=0)                             # as if the point were there once
    source[66] = source[62] + torch.tensor([0.0, 3.0])                        # coincident targets read from
    grid32 = tps_grid(source, target, S)                                      # ... different places
    grid64 = tps_grid(source.double(), target.double(), S)
    assert torch.isfinite(grid32).all() and torch.isfinite(grid64).all()
    assert (grid32.double() - grid64).abs().max() * S / 2 < 0.01             # float32 as good as float64
    spline = fit_tps(source.double(), target.double(), S)
    landed = grid_to_pixels(evaluate_tps(spline, pixels_to_grid(target[62:63].double(), S)[None]), S)[0, 0]
    torch.testing.assert_close(landed, (source[62] + source[66]).double() / 2, atol=1e-3, rtol=0)   # their mean


def test_a_batch_of_three_equals_three_single_calls():
    sources = torch.from_numpy(np.stack([posed(yaw=yaw)[0] for yaw in (0, 10, 20)]))
    targets = torch.from_numpy(np.stack([posed(yaw=-yaw, mouth_open=yaw / 20)[1] for yaw in (0, 10, 20)]))
    images = random_image(batch=3)
    batched = tps_warp(images, sources, targets)
    for i in range(3):
        torch.testing.assert_close(batched[i:i + 1], tps_warp(images[i:i + 1], sources[i], targets[i]))
    # one source face for a batch of targets is broadcast
    torch.testing.assert_close(tps_grid(sources[0], targets, S), tps_grid(sources[:1].expand(3, -1, -1), targets, S))


def test_gradients_reach_the_points():
    rng = torch.Generator().manual_seed(0)
    source = (torch.rand(5, 2, generator=rng, dtype=torch.float64) * 6 + 1).requires_grad_()
    target = (torch.rand(5, 2, generator=rng, dtype=torch.float64) * 6 + 1).requires_grad_()
    assert torch.autograd.gradcheck(lambda s, t: tps_grid(s, t, 8), (source, target))
    image = random_image(batch=1)
    source32, target32 = (torch.from_numpy(p).requires_grad_() for p in posed())
    tps_warp(image, source32, target32).square().sum().backward()
    assert source32.grad.abs().sum() > 0 and target32.grad.abs().sum() > 0
    assert torch.isfinite(source32.grad).all() and torch.isfinite(target32.grad).all()
    source_only = torch.from_numpy(posed()[0]).requires_grad_()               # fixed targets: constant controls
    tps_warp(image, source_only, posed()[1]).sum().backward()
    assert source_only.grad.abs().sum() > 0


def test_the_lattice_evaluation_matches_the_general_one_with_and_without_gradients():
    source, target = (torch.from_numpy(p).double() for p in posed())
    spline = fit_tps(source, target, S)
    general = evaluate_tps(spline, identity_grid(S, dtype=torch.float64))
    with torch.no_grad():
        torch.testing.assert_close(spline_grid(spline, S), general)                  # in-place path
    controls = spline.controls.clone().requires_grad_()
    with_grad = spline_grid(type(spline)(controls, spline.weights, spline.affine), S)  # differentiable path
    torch.testing.assert_close(with_grad, general)


def test_float32_and_float64_points_agree_and_keep_their_dtype():
    source, target = posed()
    grid32 = tps_grid(source, target, S)                                      # numpy float32 → float32
    grid64 = tps_grid(torch.from_numpy(source).double(), torch.from_numpy(target).double(), S)
    assert grid32.dtype == torch.float32 and grid64.dtype == torch.float64
    assert (grid32.double() - grid64).abs().max() * S / 2 < 1e-3            # pixels
    image = random_image().double()
    assert tps_warp(image, source, target).dtype == torch.float64             # the image's dtype wins


def test_wrong_shapes_raise_a_helpful_value_error():
    source, target = posed()
    with pytest.raises(ValueError, match=r"\(P, 2\).*got shape \(68, 3\)"):
        tps_grid(np.zeros((68, 3)), target, S)
    with pytest.raises(ValueError, match="67 target points"):
        tps_grid(source, target[:67], S)
    with pytest.raises(ValueError, match="batches of 2 and 3"):
        tps_grid(np.stack([source] * 2), np.stack([target] * 3), S)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        tps_warp(random_image()[0], source, target)
    with pytest.raises(ValueError, match="regularization"):
        tps_grid(source, target, S, regularization=-1)


def test_the_spline_of_64_pixel_landmarks_warps_the_256_pixel_crop():
    source, target = posed()
    direct = tps_grid(resize_landmarks(source, S, 256), resize_landmarks(target, S, 256), 256)
    exact = spline_grid(fit_tps(source, target, S), 256)                      # same spline, finer lattice
    torch.testing.assert_close(exact, direct, atol=1e-5, rtol=0)
    cheap = resize_grid(tps_grid(source, target, S), 256)                     # bilinear from the 64² grid
    error = (cheap - direct).norm(dim=-1) * 256 / 2                           # pixels of the 256² crop
    assert error.mean() < 0.05 and error.quantile(0.99) < 0.5, (error.mean(), error.quantile(0.99))
    assert error.max() < 2, error.max()                                       # half a 64² pixel, at the lips
    crop = random_image(256)
    assert (warp(crop, cheap) - warp(crop, direct)).abs().mean() < 0.02


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_the_warp_runs_on_the_images_device():
    source, target = posed()
    image = random_image().cuda()
    moved = tps_warp(image, source, target)
    assert moved.device == image.device
    torch.testing.assert_close(moved.cpu(), tps_warp(image.cpu(), source, target), atol=1e-4, rtol=0)
