"""The iBUG 300-W 68-point layout: which points form which facial part, and its sketch colour.

Indices follow the standard layout (0-based; "right" is the subject's right, image left)::

    jaw 0-16 · right brow 17-21 · left brow 22-26 · nose bridge 27-30 · lower nose 31-35
    right eye 36-41 · left eye 42-47 · outer lips 48-59 · inner lips 60-67

The generator's input (the paper's landmark sketch, Sec. 3) joins each part's points into a
polyline, closed for the eyes and lips, in the part's fixed colour on a black image.
Introduced in notebook 01.
"""
from __future__ import annotations

from dataclasses import dataclass

NUM_LANDMARKS = 68


@dataclass(frozen=True)
class Part:
    name: str
    indices: tuple[int, ...]
    closed: bool               # join the last point back to the first
    colour: tuple[int, int, int]  # RGB, 0-255, drawn on black


PARTS: tuple[Part, ...] = (
    Part("jaw", tuple(range(0, 17)), False, (240, 240, 240)),
    Part("right_brow", tuple(range(17, 22)), False, (255, 128, 0)),
    Part("left_brow", tuple(range(22, 27)), False, (255, 220, 0)),
    Part("nose_bridge", tuple(range(27, 31)), False, (0, 200, 255)),
    Part("lower_nose", tuple(range(31, 36)), False, (0, 90, 255)),
    Part("right_eye", tuple(range(36, 42)), True, (0, 255, 0)),
    Part("left_eye", tuple(range(42, 48)), True, (160, 255, 0)),
    Part("outer_lips", tuple(range(48, 60)), True, (255, 0, 100)),
    Part("inner_lips", tuple(range(60, 68)), True, (200, 0, 255)),
)
PART_BY_NAME = {part.name: part for part in PARTS}
