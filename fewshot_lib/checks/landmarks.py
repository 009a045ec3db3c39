"""Notebook 01 · landmarks and the landmark sketch."""
from __future__ import annotations

import cv2
import numpy as np

from ..landmarks import PARTS, draw_sketch
from ..landmarks.sketch import SHIFT, line_width
from .check import Check, mean_face


def check_sketch_strokes(sketch_strokes) -> None:
    """Exercise 1.1: ``sketch_strokes(points (68, 2)) → [(polyline (n, 2), colour (r, g, b)), ...]``."""
    with Check("check_sketch_strokes", "one polyline per facial part, in the part's colour, closed for eyes and lips",
               hint="one stroke per facial part, in the order of PARTS, with that part's colour; a closed part "
                    "(an eye, the lips) returns to its first point") as check:
        points = mean_face(128)                                                   # (68, 2)
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
               hint="project each pixel onto each segment's line, keep the projection inside the segment (between "
                    "its two "
                    "ends), measure the distance to it; a polyline's distance is the smallest over its segments"
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
