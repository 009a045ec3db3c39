"""The 3D head behind every synthetic frame: 68 iBUG points from a face shape and an expression.

Head coordinates: ``x`` to the image's right, ``y`` down, ``z`` towards the camera, in *head
units* (the face is about 2 units wide; the head's centre is the origin). A face is

    points_3d = mean face  +  identity's shape variation  +  expression offsets      (68, 3)

built from a few readable parameters (:class:`FaceShape`, :class:`Expression`) instead of a
table of numbers. A :class:`Camera` rotates the head by its pose (yaw, pitch, roll) and
projects it with a pinhole camera into pixels. The renderer draws every facial part from these
same projected points, so the landmarks are exact by construction.
Introduced in notebook 02.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import numpy as np

CAMERA_DISTANCE = 10.0
"""Camera distance from the head's centre, in head units (a mild perspective, like a webcam)."""
JAW_ANGLES = np.radians(np.linspace(-104.0, 104.0, 17))
"""Where points 0-16 sit on the jaw's superellipse (0 at the chin)."""
BROW_STEPS, BRIDGE_STEPS = np.linspace(0.0, 1.0, 5), np.linspace(0.0, 1.0, 4)


@dataclass(frozen=True)
class FaceShape:
    """An identity's 3D face proportions, in head units. The defaults are the mean face."""

    face_width: float = 0.95      # half-width of the face at ear level (jaw points 0 and 16)
    face_length: float = 1.12     # from the jaw's centre down to the chin
    jaw_center: float = 0.12      # height of the jaw's centre (y, below the eyes)
    jaw_square: float = 2.4       # superellipse exponent of the jaw: 2 round, 3+ square
    head_width: float = 0.98      # cranium semi-axes (x, y, z) and the height of its centre
    head_height: float = 1.18
    head_depth: float = 1.12
    head_center: float = -0.30
    eye_spacing: float = 0.44     # x of each eye's centre
    eye_width: float = 0.38
    eye_height: float = 0.15      # opening of the eye, lid to lid
    eye_tilt: float = 0.02        # outer corners this much higher than inner ones
    brow_height: float = 0.30     # brow above the eye's centre
    brow_arch: float = 0.06
    brow_length: float = 0.52
    nose_length: float = 0.44     # from the eyes' line down to the nose tip (point 30)
    nose_width: float = 0.19      # half-width of the nostrils' base (points 31, 35)
    nose_depth: float = 0.30      # how far the tip stands out of the face
    philtrum: float = 0.18        # from the nose's base down to the top of the upper lip
    mouth_width: float = 0.34     # half-width, corner to centre
    upper_lip: float = 0.09       # lip thicknesses
    lower_lip: float = 0.12
    ear_size: float = 0.42

    @classmethod
    def random(cls, rng: np.random.Generator, spread: float = 1.0) -> "FaceShape":
        """A random identity: each proportion drawn around the mean face (``spread`` scales the variety)."""
        values = {}
        for f in fields(cls):
            z = float(np.clip(rng.standard_normal(), -2.5, 2.5))
            values[f.name] = f.default * (1 + spread * SHAPE_SD.get(f.name, 0.06) * z)
        shape = cls(**values)
        lowest_chin = shape.mouth_height + shape.lower_lip + 0.25 - shape.jaw_center   # the chin stays below the lips
        return replace(shape, face_length=max(shape.face_length, lowest_chin))

    @property
    def mouth_height(self) -> float:
        """y of the line between the lips: below the nose's base, the philtrum and the upper lip."""
        return self.nose_length + 0.07 + self.philtrum + 1.05 * self.upper_lip


SHAPE_SD = {"philtrum": 0.15, "jaw_square": 0.12, "jaw_center": 0.3, "head_width": 0.04, "head_height": 0.04,
            "eye_height": 0.10, "eye_tilt": 1.5, "brow_arch": 0.35, "nose_width": 0.10, "nose_depth": 0.12,
            "mouth_width": 0.08, "upper_lip": 0.18, "lower_lip": 0.15}
"""Relative standard deviation of each proportion across identities (the others: 6 %)."""


@dataclass(frozen=True)
class Expression:
    """What the face is doing in one frame; every control is in [0, 1] (gaze in [-1, 1])."""

    mouth_open: float = 0.0       # 1: jaw dropped as on a wide "ah"
    smile: float = 0.0            # mouth corners up and out
    blink: float = 0.0            # 1: both eyelids closed
    brow_raise: float = 0.0       # 1: brows raised in surprise
    gaze: tuple[float, float] = (0.0, 0.0)   # where the irises look (x, y): not part of the 68 points


@dataclass(frozen=True)
class Pose:
    """Head rotation in degrees: yaw turns the face towards the image's right, pitch lowers the
    chin, roll tilts the head clockwise in the image."""

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0

    def as_array(self) -> np.ndarray:
        return np.array([self.yaw, self.pitch, self.roll], dtype=np.float32)


def face_depth(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """z of the face's front surface at (x, y), where the features sit: flat in the middle,
    falling off towards the ears (a superellipsoid)."""
    return np.clip(1.0 - np.abs(x / 1.1) ** 3 - np.abs(y / 1.9) ** 3, 0.05, None) ** (1 / 3)


def on_face(x, y, lift: float = 0.0) -> np.ndarray:
    """Stack (x, y) into 3D points on the face surface, ``lift`` units in front of it."""
    x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return np.stack([x, y, face_depth(x, y) + lift], axis=-1)


def _mirror(points: np.ndarray) -> np.ndarray:
    """The other side of the face: x -> -x, points in reverse order (iBUG runs left to right)."""
    return points[::-1] * np.array([-1.0, 1.0, 1.0])


def jaw(shape: FaceShape, expression: Expression) -> np.ndarray:
    """Points 0-16: a superellipse from ear to ear under the chin; the chin drops as the mouth opens."""
    theta = JAW_ANGLES
    p = 2.0 / shape.jaw_square
    x = shape.face_width * np.sign(np.sin(theta)) * np.abs(np.sin(theta)) ** p
    y = shape.jaw_center + shape.face_length * np.sign(np.cos(theta)) * np.abs(np.cos(theta)) ** p
    chin = np.clip(np.cos(theta), 0.0, None) ** 2                  # 1 at the chin, 0 at the ears
    y = y + 0.24 * expression.mouth_open * chin
    x = x * (1 + 0.03 * expression.smile * np.sin(np.abs(theta)))  # cheeks widen with a smile
    points = on_face(x, y, lift=-0.08)
    points[:, 2] -= 0.12 * expression.mouth_open * chin            # the jaw swings down and back
    return points


def brows(shape: FaceShape, expression: Expression) -> np.ndarray:
    """Points 17-26: two arched brows, outer end (17) to inner end (21), then mirrored (22-26)."""
    u = BROW_STEPS                                                 # 0 outer end, 1 inner end
    inner = shape.eye_spacing - 0.30
    x = -(inner + shape.brow_length * (1 - u))
    arch = shape.brow_arch * np.sin(np.pi * (0.25 + 0.7 * u))
    y = -shape.brow_height - arch + 0.03 * (1 - u) - 0.11 * expression.brow_raise * (0.6 + 0.4 * u)
    right = on_face(x, y, lift=0.03)
    return np.concatenate([right, _mirror(right)])


def nose(shape: FaceShape) -> np.ndarray:
    """Points 27-35: the bridge from between the eyes to the tip (27-30), then the nostrils' base."""
    t = BRIDGE_STEPS
    bridge = on_face(0.0, -0.14 + (shape.nose_length + 0.14) * t, lift=0.0)
    bridge[:, 2] += 0.06 + (shape.nose_depth - 0.06) * t ** 1.5
    base_x = shape.nose_width * np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    base_y = shape.nose_length + 0.07 - 0.06 * np.abs(base_x / shape.nose_width) ** 2
    base = on_face(base_x, base_y, lift=0.0)
    base[:, 2] += shape.nose_depth * np.array([0.25, 0.45, 0.55, 0.45, 0.25])
    return np.concatenate([bridge, base])


def _eye(shape: FaceShape, expression: Expression) -> np.ndarray:
    """The right eye (image left), points 36-41: outer corner, upper lid, inner corner, lower lid."""
    cx, w, h = -shape.eye_spacing, shape.eye_width, shape.eye_height
    x = cx + w * np.array([-0.5, -0.18, 0.16, 0.5, 0.16, -0.18])
    tilt = shape.eye_tilt * np.array([1.0, 0.6, 0.2, 0.0, 0.2, 0.6])     # outer corner higher
    upper, lower = -0.55 * h, 0.45 * h - 0.25 * h * expression.smile       # a smile lifts the lower lid
    closed = lower - 0.12 * h
    upper = upper + (closed - upper) * expression.blink
    lower = lower + (closed - lower) * expression.blink * 0.3
    y = np.array([0.0, upper, upper, 0.0, lower, lower]) - tilt
    return on_face(x, y, lift=-0.06)


def eyes(shape: FaceShape, expression: Expression) -> np.ndarray:
    """Points 36-47: both eyes; the left eye (42-47) mirrors the right one, inner corner first."""
    right = _eye(shape, expression)
    left = right[[3, 2, 1, 0, 5, 4]] * np.array([-1.0, 1.0, 1.0])
    return np.concatenate([right, left])


def mouth(shape: FaceShape, expression: Expression) -> np.ndarray:
    """Points 48-67: outer lip contour (48-59) and inner contour (60-67), opened and smiling."""
    w, m = shape.mouth_width, shape.mouth_height
    o, s = expression.mouth_open, expression.smile
    w = w * (1 + 0.12 * s - 0.10 * o)
    opening = 0.30 * o
    # Each point: x as a fraction of the half-width, y as a fraction of its lip's thickness
    # (negative: upper lip, above the line between the lips; positive: lower lip).
    outer_x = np.array([-1.0, -0.62, -0.26, 0.0, 0.26, 0.62, 1.0, 0.60, 0.30, 0.0, -0.30, -0.60])
    outer_y = np.array([0.0, -0.72, -1.05, -0.85, -1.05, -0.72, 0.0, 0.80, 0.98, 1.0, 0.98, 0.80])
    inner_x = np.array([-0.86, -0.42, 0.0, 0.42, 0.86, 0.42, 0.0, -0.42])
    inner_y = np.array([0.0, -0.12, -0.10, -0.12, 0.0, 0.12, 0.14, 0.12])
    x = np.concatenate([outer_x, inner_x])
    lower = np.concatenate([outer_y > 0, inner_y > 0])
    thickness = np.where(np.concatenate([outer_y, inner_y]) < 0, shape.upper_lip, shape.lower_lip)
    y = np.concatenate([outer_y, inner_y]) * thickness
    centre = 1 - np.abs(x) ** 2                                  # 1 mid-lip, 0 at the corners
    y = y + lower * opening * (0.35 + 0.65 * centre) - (~lower) * 0.03 * o * centre
    corner = np.abs(x) > 0.8
    y = y + corner * (0.35 * opening - 0.09 * s) - 0.03 * s * (np.abs(x) > 0.5)
    points = on_face(w * x, m + y, lift=0.0)
    points[:, 2] += 0.10 * centre ** 0.5 - 0.10 * o * lower        # lips stand out; jaw swings back
    return points


def landmarks_3d(shape: FaceShape, expression: Expression = Expression()) -> np.ndarray:
    """The 68 iBUG points of a face in head coordinates, float64 ``(68, 3)``."""
    return np.concatenate([jaw(shape, expression), brows(shape, expression), nose(shape),
                           eyes(shape, expression), mouth(shape, expression)])


def unit_sphere(n: int) -> np.ndarray:
    """``n`` directions spread evenly over the unit sphere (a Fibonacci lattice), ``(n, 3)``."""
    i = np.arange(n) + 0.5
    y = 1 - 2 * i / n
    r = np.sqrt(1 - y ** 2)
    angle = np.pi * (1 + 5 ** 0.5) * i
    return np.stack([r * np.cos(angle), y, r * np.sin(angle)], axis=1)


SPHERE = unit_sphere(400)
"""The directions on which cranium and hair surfaces are sampled."""


def cranium(shape: FaceShape, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Points on the skull's ellipsoid (grown by ``scale``) and their outward normals, ``(400, 3)`` each."""
    axes = scale * np.array([shape.head_width, shape.head_height, shape.head_depth])
    centre = np.array([0.0, shape.head_center, 0.0])
    normals = SPHERE / axes
    return centre + SPHERE * axes, normals / np.linalg.norm(normals, axis=1, keepdims=True)


def on_skull(shape: FaceShape, x, y, scale: float = 1.0) -> np.ndarray:
    """Points ``(n, 3)`` on the front of the skull's ellipsoid (grown by ``scale``) at (x, y)."""
    axes = scale * np.array([shape.head_width, shape.head_height, shape.head_depth])
    x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    z = axes[2] * np.sqrt(np.clip(1 - (x / axes[0]) ** 2 - ((y - shape.head_center) / axes[1]) ** 2, 0, None))
    return np.stack([x, y, z], axis=-1)


def ear(shape: FaceShape, side: int) -> np.ndarray:
    """One ear's outline (``side`` -1: image left, +1: image right), ``(10, 3)``: an oval flap
    hinged at the skull's side, opened 30 degrees away from it so it shows from the front."""
    t = np.linspace(0.0, 2 * np.pi, 10, endpoint=False)
    back = 0.30 * shape.ear_size * (np.cos(t) - 1)                     # 0 at the hinge, backwards from it
    height = 0.5 * shape.ear_size * np.sin(t) - 0.03 * np.cos(t) ** 2
    hinge = np.array([side * shape.face_width * 0.97, shape.jaw_center - 0.10, 0.08])
    opened = np.radians(30)
    return hinge + np.stack([-side * back * np.sin(opened), height, back * np.cos(opened)], axis=1)


def rotation(pose: Pose) -> np.ndarray:
    """The 3x3 matrix that turns the head: roll after pitch after yaw, ``R = Rz Rx Ry``."""
    yaw, pitch, roll = np.radians([pose.yaw, pose.pitch, pose.roll])
    ry = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    rx = np.array([[1, 0, 0], [0, np.cos(pitch), np.sin(pitch)], [0, -np.sin(pitch), np.cos(pitch)]])
    rz = np.array([[np.cos(roll), -np.sin(roll), 0], [np.sin(roll), np.cos(roll), 0], [0, 0, 1]])
    return rz @ rx @ ry


@dataclass(frozen=True)
class Camera:
    """Where the head sits in the frame and how it is turned: head coordinates -> pixels.

    ``center``: the head's centre in the image, as a fraction of its side; ``scale``: the
    image fraction one head unit spans; ``size``: the image side in pixels. Pixel centres
    sit at integer coordinates (like OpenCV and the landmark sketch).
    """

    pose: Pose
    center: tuple[float, float] = (0.5, 0.46)
    scale: float = 0.24
    size: int = 64
    R: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "R", rotation(self.pose))

    def rotate(self, points: np.ndarray) -> np.ndarray:
        """Head points ``(..., 3)`` in camera orientation (the head turned by its pose)."""
        return points @ self.R.T

    def project(self, points: np.ndarray) -> np.ndarray:
        """Head points ``(..., 3)`` -> pixel coordinates ``(..., 2)`` (pinhole camera)."""
        turned = self.rotate(points)
        perspective = CAMERA_DISTANCE / (CAMERA_DISTANCE - turned[..., 2:])     # nearer looks bigger
        image = (self.center[0], self.center[1]) + self.scale * turned[..., :2] * perspective
        return image * self.size - 0.5

    def facing(self, normals: np.ndarray) -> np.ndarray:
        """How much each surface normal ``(..., 3)`` faces the camera (z of the turned normal)."""
        return self.rotate(normals)[..., 2]


def teeth(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower rows of teeth behind the inner lips of ``points`` (68, 3): ``(5, 3)`` edges
    each; the renderer joins each edge to its lip (points 60-64 and 64-67, 60)."""
    upper = points[60:65] + np.array([0.0, 0.075, -0.04])
    lower = points[[64, 65, 66, 67, 60]] + np.array([0.0, -0.05, -0.05])
    return upper, lower


def neck(shape: FaceShape, y: float | None = None) -> np.ndarray:
    """A ring around the neck at height ``y`` (default: its top, under the jaw), ``(12, 3)``."""
    t = np.linspace(0.0, 2 * np.pi, 12, endpoint=False)
    y = shape.jaw_center + 0.45 if y is None else y
    return np.stack([0.55 * shape.face_width * np.cos(t), np.full_like(t, y), -0.25 + 0.45 * np.sin(t)], axis=1)
