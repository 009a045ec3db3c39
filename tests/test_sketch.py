"""The landmark sketch: black background, each part in its colour and place, same look at every size."""
import json
import time
from pathlib import Path

import numpy as np
import pytest

from fewshot_lib.landmarks import PARTS, crop_face, draw_sketch, draw_sketches, line_width, load_portrait
from fewshot_lib.landmarks.sketch import LINE_WIDTH

REFERENCE = Path(__file__).parent / "reference" / "landmarks_dlib.json"


@pytest.fixture(scope="module")
def face512():
    """Grace Hopper's reference landmarks, moved into a 512x512 face crop: (68, 2) float32."""
    points = np.array(json.loads(REFERENCE.read_text())["landmarks"]["grace_hopper"], np.float32)
    return crop_face(load_portrait("grace_hopper"), points, size=512)[1]


def _distance_to_part(pixels: np.ndarray, polyline: np.ndarray, closed: bool) -> np.ndarray:
    """Distance of each pixel (n, 2) to the polyline (k, 2): the nearest of its segments."""
    ends = np.concatenate([polyline, polyline[:1]]) if closed else polyline
    a, b = ends[:-1], ends[1:]                                             # (s, 2) segment ends
    ab = b - a
    t = np.clip(((pixels[:, None] - a) * ab).sum(-1) / np.maximum((ab * ab).sum(-1), 1e-9), 0, 1)   # (n, s)
    nearest = a + t[..., None] * ab                                         # (n, s, 2)
    return np.linalg.norm(pixels[:, None] - nearest, axis=-1).min(axis=1)


@pytest.mark.parametrize("size", [64, 256, 512])
def test_each_part_is_drawn_in_its_colour_along_its_points_on_black(face512, size):
    points = (face512 + 0.5) * size / 512 - 0.5                             # the same face at this size
    sketch = draw_sketch(face512, size, image_size=512)
    assert sketch.shape == (size, size, 3) and sketch.dtype == np.uint8
    ink = sketch.max(axis=2) > 0
    assert 0.005 < ink.mean() < 0.2 and not ink[0].any() and not ink[:, 0].any()   # thin lines on black
    bright = sketch.max(axis=2, keepdims=True)
    hue = sketch / np.maximum(bright, 1)                                      # (S, S, 3): colour up to brightness
    for part in PARTS:
        colour = np.array(part.colour) / max(part.colour)
        ys, xs = np.nonzero((bright[..., 0] >= 128) & np.all(np.abs(hue - colour) < 0.12, axis=2))
        assert len(xs) >= 5, f"{part.name}: its colour {part.colour} is missing"
        distance = _distance_to_part(np.stack([xs, ys], 1), points[list(part.indices)], part.closed)
        assert distance.max() <= line_width(size), f"{part.name}: its colour appears away from its points"
    # anti-aliasing: line edges fade to black, so many more shades than parts
    assert len(np.unique(sketch.reshape(-1, 3), axis=0)) > 4 * len(PARTS)


def _length(points: np.ndarray) -> float:
    """Total length of the parts' polylines, in pixels."""
    total = 0.0
    for part in PARTS:
        line = points[list(part.indices) + ([part.indices[0]] if part.closed else [])]
        total += np.linalg.norm(np.diff(line, axis=0), axis=1).sum()
    return total


@pytest.mark.parametrize("size", [128, 256, 384, 512])
def test_sketches_look_the_same_at_every_size(face512, size):
    """Lines are LINE_WIDTH * size wide (from 256 px; smaller sketches get the thinnest line), in the same place."""
    sketch = draw_sketch(face512, size, image_size=512).max(axis=2) / 255.0   # (S, S) ink: line coverage
    width = sketch.sum() / _length((face512 + 0.5) * size / 512 - 0.5)       # ink per pixel of polyline
    if size * LINE_WIDTH > 3:
        assert width == pytest.approx(size * LINE_WIDTH, rel=0.2)
    else:
        assert line_width(size) == 1 and width < 3
    ys, xs = np.mgrid[:size, :size]
    centre = (np.array([(sketch * xs).sum(), (sketch * ys).sum()]) / sketch.sum() + 0.5) / size   # in [0, 1]
    reference = draw_sketch(face512, 512).max(axis=2) / 255.0
    ys, xs = np.mgrid[:512, :512]
    expected = (np.array([(reference * xs).sum(), (reference * ys).sum()]) / reference.sum() + 0.5) / 512
    np.testing.assert_allclose(centre, expected, atol=0.005)


def test_image_size_rescales_with_pixel_centres(face512):
    half = (face512 + 0.5) * 0.5 - 0.5                                      # 512 -> 256 pixels
    np.testing.assert_array_equal(draw_sketch(face512, 256, image_size=512), draw_sketch(half, 256))


def test_batched_sketches_equal_single_ones(face512):
    batch = face512 + np.random.default_rng(0).normal(0, 2, (4, 68, 2)).astype(np.float32)   # (4, 68, 2)
    sketches = draw_sketches(batch, 128, image_size=512)
    assert sketches.shape == (4, 128, 128, 3) and sketches.dtype == np.uint8
    for sketch, points in zip(sketches, batch):
        np.testing.assert_array_equal(sketch, draw_sketch(points, 128, image_size=512))


@pytest.mark.parametrize("landmarks, words", [
    (np.zeros((67, 2)), "expected"),
    (np.zeros((68, 3)), "expected"),
    (np.full((68, 2), np.nan), "NaN"),
])
def test_bad_landmarks_are_refused(landmarks, words):
    with pytest.raises(ValueError, match=words):
        draw_sketch(landmarks, 64)


def test_bad_sizes_and_batches_are_refused(face512):
    with pytest.raises(ValueError, match="positive"):
        draw_sketch(face512, 0)
    with pytest.raises(ValueError, match="expected"):
        draw_sketches(face512, 64)                                         # one face is not a batch


def test_sketching_is_never_a_bottleneck(face512):
    """A loose guard (the benchmark, tools/bench_sketch.py, measures ~5,000/s): >= 200 sketches/s at 256."""
    start = time.perf_counter()
    draw_sketches(np.repeat(face512[None] / 2, 100, axis=0), 256)
    assert time.perf_counter() - start < 0.5
