"""What a synthetic person looks like (:class:`Appearance`) and where they are filmed (:class:`Scene`).

The 3D shape alone would make identities differ only in geometry, which the landmarks already
carry. Colours and styles make identity matter *beyond* geometry, as in real data: the
generator must take skin, hair, eyes, lips, beard and glasses from the K reference frames,
because the target's landmark sketch says nothing about them. An identity keeps its
appearance in every video; each video has its own scene (background, clothes, light, framing).
Introduced in notebook 02.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import FaceShape

RGB = tuple[int, int, int]

SKIN_TONES = np.array([[255, 226, 206], [241, 196, 163], [226, 174, 132], [199, 138, 98],
                       [164, 106, 72], [118, 76, 52], [84, 56, 40]], dtype=np.float64)
"""Anchors of a light-to-dark skin-tone ramp; a person's tone is a point along it."""
HAIR_COLOURS = {"black": (28, 24, 24), "dark brown": (62, 42, 30), "brown": (108, 72, 46),
                "auburn": (140, 64, 38), "blonde": (214, 178, 118), "platinum": (236, 220, 180),
                "red": (178, 74, 34), "grey": (150, 148, 146), "white": (228, 226, 220),
                "blue": (50, 90, 190), "pink": (226, 110, 160)}
HAIR_WEIGHTS = {"black": 5, "dark brown": 5, "brown": 4, "auburn": 2, "blonde": 3, "platinum": 1, "red": 1,
                "grey": 2, "white": 1, "blue": 0.3, "pink": 0.3}
IRIS_COLOURS = {"dark brown": (58, 36, 22), "brown": (98, 60, 32), "hazel": (128, 100, 52),
                "green": (78, 122, 72), "blue": (72, 114, 176), "grey": (122, 134, 144)}
LIPSTICKS = [(176, 30, 48), (196, 82, 110), (120, 30, 60), (214, 108, 96)]
FRAME_COLOURS = [(20, 20, 22), (86, 52, 30), (200, 170, 90), (180, 182, 188), (150, 30, 40)]


@dataclass(frozen=True)
class HairStyle:
    """A hairstyle as limits on the hair's ellipsoid around the skull (head units, y down).

    ``volume``: how much bigger than the skull the hair is; ``forehead``: how high the
    hairline's middle sits above the highest the brows can go; ``fringe``: the hairline's
    offsets downwards at five points across the forehead (image left to right), so it can be
    straight, parted or swept (it never comes down over the brows);
    ``side``: how far down the temples the hair comes; ``back``: how far down the hair behind
    the head falls (2 = onto the shoulders); ``curls``: a bumpy outline; ``bun``: a bun.
    """

    name: str
    volume: float = 1.06
    forehead: float = 0.16
    fringe: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)
    side: float = -0.25
    back: float = 0.3
    curls: bool = False
    bun: bool = False

    @property
    def shows_ears(self) -> bool:
        return self.back < 0.6


HAIR_STYLES = {
    "bald": None,
    "buzz": HairStyle("buzz", volume=1.015, forehead=0.24, fringe=(0.10, 0.0, -0.02, 0.0, 0.10), side=-0.15),
    "short": HairStyle("short", volume=1.07, forehead=0.18, fringe=(0.08, -0.02, 0.02, -0.04, 0.06), side=-0.22,
                       back=0.35),
    "side part": HairStyle("side part", volume=1.09, forehead=0.14, fringe=(0.10, 0.06, 0.0, -0.10, -0.04),
                           side=-0.18, back=0.35),
    "curly": HairStyle("curly", volume=1.22, forehead=0.16, fringe=(0.06, 0.02, 0.04, 0.0, 0.06), side=-0.10,
                       back=0.45, curls=True),
    "bob": HairStyle("bob", volume=1.13, forehead=0.08, fringe=(0.03, 0.02, 0.02, 0.02, 0.03), side=-0.05,
                     back=0.95),
    "long": HairStyle("long", volume=1.10, forehead=0.15, fringe=(0.10, 0.0, -0.10, 0.0, 0.10), side=-0.08,
                      back=2.2),
    "bun": HairStyle("bun", volume=1.04, forehead=0.18, fringe=(0.06, -0.02, -0.06, -0.02, 0.06), side=-0.20,
                     bun=True),
}
HAIR_STYLE_WEIGHTS = {"bald": 0.7, "buzz": 1.0, "short": 2.0, "side part": 1.5, "curly": 1.0, "bob": 1.2,
                      "long": 1.8, "bun": 0.6}
FACIAL_HAIR = {"none": 6.0, "stubble": 1.2, "moustache": 0.8, "goatee": 0.8, "beard": 1.2}


@dataclass(frozen=True)
class Glasses:
    frame: RGB
    round: bool          # round lenses, or rounded rectangles
    tint: float          # opacity of the lenses' tint, 0 = clear


@dataclass(frozen=True)
class Appearance:
    """The colours and styles of one identity (everything that is not 3D shape)."""

    skin: RGB
    hair: RGB
    hair_style: HairStyle | None          # None: bald
    iris: RGB
    lips: RGB
    brows: RGB
    brow_thickness: float                 # head units
    lashes: float                         # thickness of the dark line along the upper lid, head units
    facial_hair: str                      # one of FACIAL_HAIR
    glasses: Glasses | None
    blush: float                          # opacity of rosy cheeks


@dataclass(frozen=True)
class Identity:
    """One synthetic person: a 3D face shape and an appearance, fixed across all their videos."""

    index: int
    shape: FaceShape
    appearance: Appearance


@dataclass(frozen=True)
class Scene:
    """Where one video is filmed: background, clothes, light and framing of the head."""

    background: tuple[RGB, RGB]           # top and bottom colours of the backdrop's gradient
    props: tuple[tuple[RGB, float, float, float, float], ...]   # blurred shapes: colour, x, y, w, h (fractions)
    clothes: RGB
    collar: str                           # "round" or "v"
    light: tuple[float, float]            # direction the light comes from (x right, y down), |.| <= 1
    ambient: float                        # share of unlit brightness, 0-1
    center: tuple[float, float]           # the head's centre in the image (fractions of the side)
    scale: float                          # image fraction per head unit


def _choose(rng: np.random.Generator, weights: dict):
    """A key of ``weights`` drawn with probability proportional to its weight."""
    names = list(weights)
    p = np.array([weights[n] for n in names], dtype=np.float64)
    return names[rng.choice(len(names), p=p / p.sum())]


def _jitter(rng: np.random.Generator, colour, amount: float) -> RGB:
    """``colour`` with each channel scaled by a random factor in [1 - amount, 1 + amount]."""
    values = np.asarray(colour, dtype=np.float64) * (1 + amount * rng.uniform(-1, 1, 3))
    return tuple(int(v) for v in np.clip(np.round(values), 0, 255))


def _mix(a, b, t: float) -> RGB:
    """The colour ``t`` of the way from ``a`` to ``b``."""
    return tuple(int(round((1 - t) * x + t * y)) for x, y in zip(a, b))


def skin_tone(t: float) -> RGB:
    """The skin colour at ``t`` in [0, 1] along :data:`SKIN_TONES` (0 lightest, 1 darkest)."""
    position = t * (len(SKIN_TONES) - 1)
    i = min(int(position), len(SKIN_TONES) - 2)
    return _mix(SKIN_TONES[i], SKIN_TONES[i + 1], position - i)


def random_appearance(rng: np.random.Generator) -> Appearance:
    """Draw an identity's colours and styles from ``rng``."""
    skin = _jitter(rng, skin_tone(rng.uniform(0, 1)), 0.04)
    hair_name = _choose(rng, HAIR_WEIGHTS)
    hair = _jitter(rng, HAIR_COLOURS[hair_name], 0.10)
    style = HAIR_STYLES[_choose(rng, HAIR_STYLE_WEIGHTS)]
    dark_brows = hair_name in ("grey", "white", "blue", "pink", "platinum")
    brows = _mix(hair, (40, 32, 28), 0.5 if dark_brows else 0.25)
    brows = tuple(min(b, int(0.45 * s)) for b, s in zip(brows, skin))     # clearly darker than the skin
    natural_lips = _mix(_mix(skin, (0, 0, 0), 0.1), (185, 65, 75), 0.5)
    lips = _mix(natural_lips, LIPSTICKS[rng.integers(len(LIPSTICKS))], 0.75) if rng.random() < 0.15 else natural_lips
    glasses = None
    if rng.random() < 0.25:
        glasses = Glasses(frame=FRAME_COLOURS[rng.integers(len(FRAME_COLOURS))], round=bool(rng.random() < 0.4),
                          tint=float(rng.choice([0.0, 0.0, 0.15, 0.35])))
    return Appearance(
        skin=skin, hair=hair, hair_style=style,
        iris=_jitter(rng, IRIS_COLOURS[_choose(rng, {k: 1 for k in IRIS_COLOURS})], 0.08),
        lips=lips, brows=brows,
        brow_thickness=float(rng.uniform(0.035, 0.085)),
        lashes=float(rng.uniform(0.012, 0.035)),
        facial_hair=_choose(rng, FACIAL_HAIR),
        glasses=glasses,
        blush=float(rng.uniform(0.0, 0.3)) * (rng.random() < 0.6),
    )


def random_scene(rng: np.random.Generator) -> Scene:
    """Draw one video's surroundings from ``rng``: a blurred room, clothes, a light, a framing."""
    base = rng.uniform(60, 220, 3)                                  # the room's main colour
    top = _jitter(rng, base, 0.25)
    bottom = _jitter(rng, base * rng.uniform(0.5, 0.9), 0.25)
    props = tuple((_jitter(rng, rng.uniform(30, 240, 3), 0.1), float(rng.uniform(0, 1)), float(rng.uniform(0, 1)),
                   float(rng.uniform(0.1, 0.5)), float(rng.uniform(0.1, 0.6))) for _ in range(rng.integers(2, 6)))
    angle = rng.uniform(0, 2 * np.pi)
    strength = rng.uniform(0.3, 0.9)
    return Scene(
        background=(top, bottom), props=props,
        clothes=_jitter(rng, rng.uniform(20, 230, 3), 0.1),
        collar=str(rng.choice(["round", "v"])),
        light=(float(strength * np.cos(angle)), float(-abs(strength * np.sin(angle)))),   # from above
        ambient=float(rng.uniform(0.5, 0.75)),
        center=(float(0.5 + rng.uniform(-0.04, 0.04)), float(0.45 + rng.uniform(-0.03, 0.03))),
        scale=float(0.235 * rng.uniform(0.9, 1.1)),
    )
