"""Paint one synthetic frame: backdrop, hair, skin and every facial part, from the 3D head.

Each part is drawn from the *same projected points* as the 68 landmarks: the eyes are the
polygons of the eye points, the lips fill the space between the lip contours, the brows are
bands laid along the brow points, and the face's outline passes through the jaw points. So the
landmarks are exact by construction. Parts are painted back to front (a painter's algorithm)
with OpenCV's anti-aliased polygons on fixed-point coordinates (1/16 pixel), which works at any
resolution. Skin and hair are shaded as an ellipsoid lit by the scene's light. Coordinates are
rounded to 1/16 pixel and colours computed with integer and IEEE float32 arithmetic only (no
sin or exp), so the pixels do not depend on the CPU's maths library.

One concept in ~480 lines: painting a frame. Most of it is :class:`Painter`, one method per facial part;
splitting the parts across files would separate the back-to-front order from the parts it orders.
Introduced in notebook 02.
"""
from __future__ import annotations

import functools
from dataclasses import replace

import cv2
import numpy as np

from .appearance import Identity, Scene
from .geometry import (SPHERE, Camera, Expression, Pose, brows, cranium, ear, landmarks_3d, neck, on_face, on_skull,
                       teeth)

SHIFT = 4
"""Fractional bits of the fixed-point coordinates handed to OpenCV (1/16 pixel)."""
SCLERA, PUPIL, LASHES = (240, 236, 230), (16, 12, 12), (30, 22, 20)
MOUTH, TEETH, BLUSH = (74, 22, 28), (238, 234, 222), (230, 90, 100)
PARTS = ("neck", "hair", "ears", "skin", "facial hair", "nose", "mouth", "eyes", "brows", "glasses")
"""What :meth:`Painter.paint` draws, by name (back to front; hair and ears have a layer on each side)."""
NECK_BOTTOM = 2.1
"""Where the neck meets the collar (head units below the head's centre)."""
NECK_SHADE = 0.8
"""The neck's and chest's skin is this much darker than the face (in the head's shadow)."""
HEAD_LIGHT = ((0.0, 0.15, 0.3), (1.05, 1.45))
"""Centre (head coordinates) and semi-axes (head units) of the ellipsoid that shades skin and hair."""
CIRCLE = np.stack([np.cos(np.linspace(0, 2 * np.pi, 16, endpoint=False)),
                   np.sin(np.linspace(0, 2 * np.pi, 16, endpoint=False))], axis=1)
"""A unit circle as a 16-gon, ``(16, 2)``."""


def _fixed(pixels: np.ndarray) -> np.ndarray:
    """Pixel coordinates ``(..., 2)`` -> OpenCV's fixed point, int32."""
    return np.round(np.asarray(pixels) * (1 << SHIFT)).astype(np.int32)


def _scaled(colour, factor: float) -> tuple[int, int, int]:
    """An RGB colour times ``factor`` (darker below 1, brighter above), clipped to 255."""
    return tuple(int(min(255, round(c * factor))) for c in colour)


@functools.lru_cache(maxsize=None)
def _catmull_rom(n: int, closed: bool, steps: int) -> np.ndarray:
    """The matrix ``(m, n)`` that maps n control points to the m points of their Catmull-Rom spline."""
    t = np.arange(steps) / steps
    weights = 0.5 * np.stack([-t + 2 * t ** 2 - t ** 3, 2 - 5 * t ** 2 + 3 * t ** 3,
                              t + 4 * t ** 2 - 3 * t ** 3, -t ** 2 + t ** 3], axis=1)     # (steps, 4)
    segments = n if closed else n - 1
    matrix = np.zeros((segments * steps + (not closed), n))
    for i in range(segments):
        rows = slice(i * steps, (i + 1) * steps)
        for j, w in zip(range(i - 1, i + 3), weights.T):
            if closed:
                matrix[rows, j % n] += w
            elif 0 <= j < n:
                matrix[rows, j] += w
            else:                  # beyond an open end, reflect its neighbour: p[-1] = 2 p[0] - p[1]
                end, neighbour = (0, 1) if j < 0 else (n - 1, n - 2)
                matrix[rows, end] += 2 * w
                matrix[rows, neighbour] -= w
    if not closed:
        matrix[-1, -1] = 1.0
    return matrix


def smooth_curve(points: np.ndarray, closed: bool = False, steps: int = 4) -> np.ndarray:
    """A Catmull-Rom spline through ``points`` ``(n, 2)``, ``steps`` segments between neighbours.

    It passes *exactly* through every point, so a part drawn along it lies on its landmarks.
    """
    return _catmull_rom(len(points), closed, steps) @ np.asarray(points, dtype=np.float64)


def shading(size: int, centre, axes, light: np.ndarray, ambient: float) -> np.ndarray:
    """Brightness ``(size, size)`` float32 of an ellipsoid (``centre``, ``axes`` in pixels) lit by
    the unit vector ``light``: ``ambient + (1.2 - ambient) * max(0, n . light)`` (Lambert)."""
    ys, xs = np.ogrid[0:size, 0:size]
    dx = (xs.astype(np.float32) - np.float32(centre[0])) / np.float32(axes[0])       # (1, S)
    dy = (ys.astype(np.float32) - np.float32(centre[1])) / np.float32(axes[1])       # (S, 1)
    r2 = np.maximum(dx * dx + dy * dy, np.float32(1e-6))                              # (S, S)
    inside = np.minimum(np.float32(1), np.float32(1) / np.sqrt(r2))                   # outside: on the rim
    nx, ny = dx * inside, dy * inside                                                 # surface normal n
    nz = np.sqrt(np.maximum(np.float32(0), np.float32(1) - nx * nx - ny * ny))
    lambert = np.maximum(np.float32(0), nx * light[0] + ny * light[1] + nz * light[2])
    return np.float32(ambient) + np.float32(1.2 - ambient) * lambert


def _box(polygons, size: int) -> tuple[int, int, int, int] | None:
    """Integer box ``(x0, y0, x1, y1)`` around pixel polygons, clipped to the image (None: outside)."""
    points = np.concatenate([np.reshape(p, (-1, 2)) for p in polygons])
    x0, y0 = np.floor(points.min(axis=0)).astype(int) - 1
    x1, y1 = np.ceil(points.max(axis=0)).astype(int) + 2
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, size), min(y1, size)
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _coverage(box, polygons) -> np.ndarray:
    """Anti-aliased coverage (uint8, 0-255) of the union of pixel polygons inside ``box``."""
    x0, y0, x1, y1 = box
    mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
    for polygon in polygons:               # one by one, so overlaps stay covered
        cv2.fillPoly(mask, [_fixed(polygon - (x0, y0))], 255, cv2.LINE_AA, SHIFT)
    return mask


def _composite(region: np.ndarray, layer: np.ndarray, alpha: np.ndarray) -> None:
    """``region <- layer * alpha + region * (1 - alpha)`` in place; alpha uint8 ``(h, w)``; integers only."""
    a = alpha.astype(np.uint32)[..., None]
    region[...] = ((layer.astype(np.uint32) * a + region.astype(np.uint32) * (255 - a) + 127) // 255).astype(np.uint8)


class Painter:
    """Paints one frame of ``identity`` in ``scene``, seen by ``camera``, making ``expression``."""

    def __init__(self, identity: Identity, scene: Scene, camera: Camera, expression: Expression):
        self.shape, self.looks, self.scene = identity.shape, identity.appearance, scene
        self.camera, self.expression = camera, expression
        self.points = landmarks_3d(self.shape, expression)          # (68, 3) head coordinates
        self.landmarks = camera.project(self.points)                # (68, 2) pixels
        self.unit = camera.scale * camera.size                      # pixels per head unit
        self.light = light_vector(scene)
        self.brightness = None                                      # (S, S), computed when painting

    # -- drawing primitives -------------------------------------------------------------------
    def width(self, units: float) -> int:
        """A line width in whole pixels (at least 1) for a width in head units."""
        return max(1, int(round(units * self.unit)))

    def fill(self, canvas, polygons, colour) -> None:
        cv2.fillPoly(canvas, [_fixed(p) for p in polygons], colour, cv2.LINE_AA, SHIFT)

    def line(self, canvas, points, colour, units: float, closed: bool = False) -> None:
        cv2.polylines(canvas, [_fixed(points)], closed, colour, self.width(units), cv2.LINE_AA, SHIFT)

    def translucent(self, canvas, polygons, colour, opacity: float) -> None:
        """Fill the union of pixel polygons with ``colour`` at ``opacity`` (0-1)."""
        box = _box(polygons, canvas.shape[0])
        if box is not None:
            x0, y0, x1, y1 = box
            alpha = (_coverage(box, polygons).astype(np.uint32) * int(round(255 * opacity)) // 255).astype(np.uint8)
            region = canvas[y0:y1, x0:x1]
            _composite(region, np.broadcast_to(np.array(colour, np.uint8), region.shape), alpha)

    def lit(self, canvas, polygons, colour, blush: float = 0.0) -> None:
        """Fill the union of pixel polygons with ``colour`` shaded by the head's light, with
        rosy cheeks of strength ``blush``."""
        box = _box(polygons, canvas.shape[0])
        if box is None:
            return
        x0, y0, x1, y1 = box
        layer = self.brightness[y0:y1, x0:x1, None] * np.asarray(colour, np.float32)       # (h, w, 3)
        if blush > 0:
            for side in (-1, 1):
                centre = self.camera.project(on_face(side * 0.55, 0.38)) - (x0, y0)
                ys, xs = np.ogrid[0:y1 - y0, 0:x1 - x0]
                radius2 = np.float32(0.22 * self.unit) ** 2
                d2 = ((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2).astype(np.float32) / radius2
                weight = (np.float32(blush) * np.maximum(np.float32(0), np.float32(1) - d2) ** 2)[..., None]
                layer += weight * (np.asarray(BLUSH, np.float32) - layer)
        layer = (np.minimum(np.float32(255), layer) + np.float32(0.5)).astype(np.uint8)
        _composite(canvas[y0:y1, x0:x1], layer, _coverage(box, polygons))

    def shaded(self, colour, pixel, factor: float = 1.0) -> tuple[int, int, int]:
        """``colour`` as lit at a pixel of the head, times ``factor``: small parts (lips, eyes,
        creases) take the light of the skin around them, so they keep their contrast with it."""
        last = self.camera.size - 1
        x, y = (min(max(int(round(float(v))), 0), last) for v in pixel)
        return _scaled(colour, factor * float(self.brightness[y, x]))

    def skin_at(self, pixel, factor: float = 1.0) -> tuple[int, int, int]:
        """The skin's lit colour at a pixel, times ``factor`` (creases, nostrils, ears)."""
        return self.shaded(self.looks.skin, pixel, factor)

    def hull(self, pixels: np.ndarray) -> np.ndarray:
        """The convex outline of pixel points, float ``(m, 2)``."""
        return cv2.convexHull(pixels.astype(np.float32))[:, 0, :].astype(np.float64)

    def circles(self, centres: np.ndarray, radius: float) -> list[np.ndarray]:
        """Pixel polygons of circles of ``radius`` head units around pixel ``centres`` (n, 2)."""
        return [c + radius * self.unit * CIRCLE for c in np.reshape(centres, (-1, 2))]

    # -- the frame, back to front -------------------------------------------------------------
    def paint(self, backdrop: np.ndarray, without: tuple[str, ...] = ()) -> np.ndarray:
        """The frame over a copy of ``backdrop``, back to front; parts named in ``without`` (see
        :data:`PARTS`) are left out, which shows where each part is drawn (:func:`part_mask`)."""
        canvas = backdrop.copy()
        centre, axes = HEAD_LIGHT
        self.brightness = shading(canvas.shape[0], self.camera.project(np.array(centre)),
                                  (axes[0] * self.unit, axes[1] * self.unit), self.light, self.scene.ambient)
        steps = [("neck", self.neck), ("hair", self.hair_behind),
                 ("ears", functools.partial(self.ears, in_front=False)), ("skin", self.skin),
                 ("ears", functools.partial(self.ears, in_front=True)),
                 ("facial hair", self.facial_hair), ("nose", self.nose), ("mouth", self.mouth), ("eyes", self.eyes),
                 ("brows", self.brows), ("hair", self.hair_on_top), ("glasses", self.glasses)]
        for name, step in steps:
            if name not in without:
                step(canvas)
        return canvas

    def neck(self, canvas) -> None:
        """The neck from under the jaw (it turns with the head) down into the collar (it does not),
        with the jaw's shadow on it."""
        still = replace(self.camera, pose=Pose())
        top, bottom = self.camera.project(neck(self.shape)), still.project(neck(self.shape, y=NECK_BOTTOM))
        self.fill(canvas, [self.hull(np.concatenate([top, bottom]))], _scaled(self.looks.skin, NECK_SHADE))
        jaw = self.points[2:15]
        shadow = np.concatenate([jaw, jaw[::-1] + np.array([0.0, 0.22, -0.1])])
        self.translucent(canvas, [self.camera.project(shadow)], (0, 0, 0), 0.3)

    def hair_behind(self, canvas) -> None:
        """The hair behind the head: the skull's hair above ``style.back``, a curtain down to the
        shoulders for long hair, a bun on the crown. Only what the face leaves uncovered shows."""
        style = self.looks.hair_style
        if style is None:
            return
        surface, _ = cranium(self.shape, style.volume)
        points = surface[surface[:, 1] < style.back]
        if style.back > 1.0:
            y = np.linspace(0.5, style.back, 6)
            x = np.full_like(y, 1.12 * style.volume * self.shape.head_width)
            curtain = np.stack([x, y, np.full_like(y, -0.35)], axis=1)               # (6, 3), right side
            points = np.concatenate([points, curtain, curtain * np.array([-1.0, 1.0, 1.0])])
        polygons = [self.hull(self.camera.project(points))]
        if style.bun:
            crown = np.array([0.0, self.shape.head_center - 1.05 * self.shape.head_height, -0.45])
            polygons += self.circles(self.camera.project(crown), 0.36)
        self.lit(canvas, polygons, _scaled(self.looks.hair, 0.8))

    def hair_on_top(self, canvas) -> None:
        """The hair over the skull: a fringe band along the style's hairline, which stays above
        the brows at their highest, and convex pieces of the hair surface facing the camera (the
        top of the head, and lower down the temples on the sides turned towards us)."""
        style = self.looks.hair_style
        if style is None:
            return
        brows_top = brows(self.shape, Expression(brow_raise=1.0))[:, 1].min() - 0.5 * self.looks.brow_thickness
        lowest = brows_top - 0.1                           # margin: the hair sits in front of the brows
        x = np.linspace(-0.8, 0.8, 5) * self.shape.head_width
        hairline = smooth_curve(np.stack([x, np.minimum(lowest - style.forehead + np.array(style.fringe), lowest)], 1))
        band = np.concatenate([hairline, hairline[::-1] - np.array([0.0, 0.32])])
        polygons = [self.camera.project(on_skull(self.shape, band[:, 0], band[:, 1], scale=style.volume))]
        surface, normals = cranium(self.shape, style.volume)
        facing = self.camera.facing(normals)
        front = np.clip((SPHERE[:, 2] - 0.1) / 0.6, 0.0, 1.0)            # 1 facing forward, 0 at the sides
        top = lowest - style.forehead - 0.15
        crown = self.hull(self.camera.project(surface[(facing > -0.25) & (surface[:, 1] < top)]))
        low = surface[:, 1] < style.side + (top - style.side) * front
        temples = [(facing > 0.05) & low & (side * SPHERE[:, 0] > 0.4) for side in (-1, 1)]
        polygons += [crown] + [self.hull(self.camera.project(surface[keep])) for keep in temples if keep.sum() >= 3]
        if style.curls:                                   # little circles along the crown's outline
            polygons += self.circles(crown[:: max(1, len(crown) // 40)], 0.09)
        self.lit(canvas, polygons, self.looks.hair)

    def ears(self, canvas, in_front: bool) -> None:
        """Ears turned towards the camera are drawn over the head, the others behind it; long
        hair hides them."""
        style = self.looks.hair_style
        if style is not None and not style.shows_ears:
            return
        for side in (-1, 1):
            if (self.camera.facing(np.array([side, 0.0, 0.35])) > 0.3) != in_front:
                continue
            outline = smooth_curve(self.camera.project(ear(self.shape, side)), closed=True)
            self.fill(canvas, [outline], self.skin_at(outline.mean(0), 0.9))
            inner = outline[len(outline) // 8: len(outline) // 2]
            self.line(canvas, (inner + outline.mean(0)) / 2, self.skin_at(outline.mean(0), 0.7), 0.025)

    def skin(self, canvas) -> None:
        """Face and skull: the convex outline of the skull's points and the jaw points."""
        surface, _ = cranium(self.shape)
        skull = self.camera.project(surface[surface[:, 1] < self.shape.jaw_center])
        outline = self.hull(np.concatenate([skull, smooth_curve(self.landmarks[0:17])]))
        self.lit(canvas, [outline], self.looks.skin, blush=self.looks.blush)

    def nose(self, canvas) -> None:
        """Nostrils beside point 33, the lower outline along points 31-35, a shadow beside the
        bridge (points 27-30) and a highlight on the tip."""
        p = self.points
        side = -1 if self.scene.light[0] > 0 else 1                        # away from the light
        bridge = self.camera.project(p[27:31] + np.array([side * 0.06, 0.0, -0.02]))
        self.line(canvas, smooth_curve(bridge), self.skin_at(bridge[1], 0.82), 0.035)
        tip = self.camera.project(p[30] + np.array([-0.03 * side, -0.05, 0.0]))     # towards the light
        self.translucent(canvas, [tip + self.unit * CIRCLE * (0.07, 0.05)], (255, 250, 240), 0.25)
        self.line(canvas, smooth_curve(self.landmarks[31:36]), self.skin_at(self.landmarks[33], 0.6), 0.025)
        nostrils = [(p[a] + 2 * p[b]) / 3 + np.array([0.0, -0.015, 0.0]) for a, b in ((31, 32), (35, 34))]
        for centre in self.camera.project(np.array(nostrils)):
            self.fill(canvas, [centre + self.unit * CIRCLE * (0.045, 0.022)], self.skin_at(centre, 0.35))

    def facial_hair(self, canvas) -> None:
        """Beard, stubble, goatee or moustache: regions bounded by jaw, nose and lip points."""
        kind, p = self.looks.facial_hair, self.points
        if kind == "none":
            return
        under_nose = p[[35, 33, 31]] + np.array([0.0, 0.04, 0.0])
        beside_mouth = np.array([0.10, -0.04, 0.0])
        mirror = np.array([-1.0, 1.0, 1.0])
        if kind == "moustache":
            region = np.concatenate([p[31:36] + np.array([0.0, 0.035, 0.0]),       # under the nose
                                     p[54:47:-1] + np.array([0.0, -0.01, 0.01])])    # over the upper lip
        elif kind == "goatee":
            region = np.concatenate([under_nose, p[54:55] + beside_mouth, p[10:5:-1], p[48:49] + beside_mouth * mirror])
        else:                                             # beard or stubble: jaw, cheeks, upper lip
            region = np.concatenate([p[3:14], p[54:55] + 1.5 * beside_mouth, under_nose,
                                     p[48:49] + 1.5 * beside_mouth * mirror])
        outline = smooth_curve(self.camera.project(region), closed=True, steps=2)
        self.translucent(canvas, [outline], _scaled(self.looks.hair, 0.85), 0.35 if kind == "stubble" else 0.92)

    def mouth(self, canvas) -> None:
        """The mouth's inside and teeth within the inner lip points, then the lips between the two
        contours (an even-odd fill), the upper lip a shade darker."""
        outer = smooth_curve(self.landmarks[48:60], closed=True)
        inner = smooth_curve(self.landmarks[60:68], closed=True)
        upper_teeth, lower_teeth = (self.camera.project(t) for t in teeth(self.points))
        centre = self.landmarks[[51, 57]].mean(0)
        self.fill(canvas, [inner], MOUTH)
        self.fill(canvas, [np.concatenate([self.landmarks[60:65], upper_teeth[::-1]])], self.shaded(TEETH, centre))
        self.fill(canvas, [np.concatenate([self.landmarks[[64, 65, 66, 67, 60]], lower_teeth[::-1]])],
                  self.shaded(TEETH, centre, 0.85))
        lips = self.looks.lips
        self.fill(canvas, [outer, inner], self.shaded(lips, centre))            # the ring between the contours
        upper = np.concatenate([smooth_curve(self.landmarks[48:55]), smooth_curve(self.landmarks[60:65])[::-1]])
        self.fill(canvas, [upper], self.shaded(lips, centre, 0.86))
        self.line(canvas, inner, self.shaded(lips, centre, 0.55), 0.01, closed=True)

    def eyes(self, canvas) -> None:
        """White, iris and pupil clipped to the polygon of the eye points; lashes along the upper
        lid (points 36-39, 42-45) and a crease above it."""
        gaze = np.array([self.expression.gaze[0] * 0.09, self.expression.gaze[1] * 0.03, 0.03])
        radius = 0.078 * self.shape.eye_width / 0.38 * self.unit * 16          # fixed point
        squash = abs(self.camera.R[2, 2])                                       # irises foreshorten
        for first in (36, 42):
            outline = smooth_curve(self.landmarks[first:first + 6], closed=True)
            corners = self.points[[first, first + 3]]
            box = _box([outline], canvas.shape[0])
            if box is not None:
                x0, y0, x1, y1 = box
                patch = np.empty((y1 - y0, x1 - x0, 3), np.uint8)
                patch[...] = self.shaded(SCLERA, outline.mean(0), 0.95)
                iris = tuple(_fixed(self.camera.project(corners.mean(0) + gaze) - (x0, y0)))
                cv2.ellipse(patch, iris, (max(1, int(radius * squash)), max(1, int(radius))), 0, 0, 360,
                            self.looks.iris, -1, cv2.LINE_AA, SHIFT)
                cv2.circle(patch, iris, max(1, int(radius * 0.45)), PUPIL, -1, cv2.LINE_AA, SHIFT)
                _composite(canvas[y0:y1, x0:x1], patch, _coverage(box, [outline]))
            self.line(canvas, smooth_curve(self.landmarks[first:first + 4]), LASHES, self.looks.lashes)
            lift = np.array([[0.0, -0.04, 0.0], [0.0, -0.125, 0.01], [0.0, -0.04, 0.0]])    # above corners, middle
            crease = smooth_curve(self.camera.project(np.array([corners[0], corners.mean(0), corners[1]]) + lift))
            self.line(canvas, crease, self.skin_at(crease[len(crease) // 2], 0.82), 0.015)

    def brows(self, canvas) -> None:
        """Each brow: a band centred on its five points, tapering from the inner to the outer end
        (at least a pixel wide, so brows show at 64x64 too)."""
        for first in (17, 22):
            centre = smooth_curve(self.landmarks[first:first + 5])
            inner = np.linspace(0.0, 1.0, len(centre))                   # 17-21 run outer to inner
            inner = inner if first == 17 else inner[::-1]
            half = np.maximum(0.5, 0.5 * self.looks.brow_thickness * self.unit * (0.55 + 0.45 * inner))[:, None]
            tangent = np.gradient(centre, axis=0)                              # (n, 2)
            normal = np.stack([-tangent[:, 1], tangent[:, 0]], 1)
            normal /= np.linalg.norm(normal, axis=1, keepdims=True) + 1e-9
            band = np.concatenate([centre + half * normal, (centre - half * normal)[::-1]])
            self.fill(canvas, [band], self.looks.brows)

    def glasses(self, canvas) -> None:
        """Lenses in front of the eyes, a bridge over the nose, the temple arms on sides we see."""
        glasses, p = self.looks.glasses, self.points
        if glasses is None:
            return
        c, s = CIRCLE[:, 0], CIRCLE[:, 1]
        if not glasses.round:                                              # rounded rectangles
            c, s = np.sign(c) * np.abs(c) ** 0.4, np.sign(s) * np.abs(s) ** 0.4
        half_height = 0.17 if glasses.round else 0.145
        rim = np.stack([0.25 * c, half_height * s, np.zeros_like(c)], axis=1)            # (16, 3)
        lenses = [self.camera.project(p[[first, first + 3]].mean(0) + np.array([0.0, 0.04, 0.22]) + rim)
                  for first in (36, 42)]
        if glasses.tint > 0:
            self.translucent(canvas, lenses, (60, 50, 60), glasses.tint)
        for lens in lenses:
            self.line(canvas, lens, glasses.frame, 0.03, closed=True)
        bridge = self.camera.project(np.array([[-0.22, -0.02, 1.15], [0.0, -0.08, 1.2], [0.22, -0.02, 1.15]]))
        self.line(canvas, smooth_curve(bridge), glasses.frame, 0.03)
        for side, lens in ((-1, lenses[0]), (1, lenses[1])):
            if self.camera.facing(np.array([side, 0.0, 0.0])) > 0.05:
                hinge = lens[0] if side == 1 else lens[8]                  # the lens's outer edge
                temple = self.camera.project(np.array([side * self.shape.face_width, -0.05, 0.05]))
                self.line(canvas, np.array([hinge, temple]), glasses.frame, 0.03)


def light_vector(scene: Scene) -> np.ndarray:
    """The unit vector towards the scene's light (camera coordinates), float32 ``(3,)``."""
    lx, ly = scene.light
    return np.array([lx, ly, np.sqrt(max(0.0, 1 - lx * lx - ly * ly))], dtype=np.float32)


def render_backdrop(identity: Identity, scene: Scene, size: int) -> np.ndarray:
    """What stays still during a video: the blurred room and the shoulders, uint8 ``(S, S, 3)``.

    Rendered once per video and size; :func:`render_frame` paints the head over a copy.
    """
    top, bottom = (np.array(c, dtype=np.float32) for c in scene.background)
    t = (np.arange(size, dtype=np.float32) / max(1, size - 1))[:, None, None]
    canvas = np.ascontiguousarray(np.broadcast_to((top * (1 - t) + bottom * t + 0.5).astype(np.uint8), (size, size, 3)))
    for colour, x, y, w, h in scene.props:
        corners = _fixed(np.array([[x - w / 2, y - h / 2], [x + w / 2, y + h / 2]]) * size)
        cv2.rectangle(canvas, tuple(corners[0]), tuple(corners[1]), colour, -1, cv2.LINE_AA, SHIFT)
    canvas = cv2.GaussianBlur(canvas, (0, 0), 0.025 * size)
    # The torso: still, and lit from the same side as the head.
    body = Camera(Pose(), center=scene.center, scale=scene.scale, size=size)
    x = np.array([0.6, 1.3, 1.9, 2.3, 2.5])
    y = np.array([1.8, 1.86, 2.05, 2.45, 4.5])
    right = np.stack([-x, y, np.full_like(x, -0.3)], axis=1)
    torso = smooth_curve(body.project(np.concatenate([right, right[::-1] * np.array([-1, 1, 1])])), closed=True)
    unit = scene.scale * size
    brightness = shading(size, body.project(np.array([0.0, 2.7, 0.0])), (2.4 * unit, 1.6 * unit),
                         light_vector(scene), scene.ambient)
    layer = (np.minimum(np.float32(255), brightness[..., None] * np.asarray(scene.clothes, np.float32)) + 0.5)
    _composite(canvas, layer.astype(np.uint8), _coverage((0, 0, size, size), [torso]))
    # The collar's opening shows the chest.
    skin = _scaled(identity.appearance.skin, NECK_SHADE)
    half = 0.55 * identity.shape.face_width
    if scene.collar == "v":
        opening = body.project(np.array([[-half, NECK_BOTTOM - 0.3, 0], [0.0, NECK_BOTTOM + 0.45, 0],
                                         [half, NECK_BOTTOM - 0.3, 0]]))
    else:
        opening = body.project(np.array([[half * np.cos(a), NECK_BOTTOM + 0.18 * np.sin(a), 0.0]
                                         for a in np.linspace(0, np.pi, 9)]))
    cv2.fillPoly(canvas, [_fixed(opening)], skin, cv2.LINE_AA, SHIFT)
    cv2.polylines(canvas, [_fixed(opening)], False, _scaled(scene.clothes, 0.6), max(1, round(0.03 * unit)),
                  cv2.LINE_AA, SHIFT)
    return canvas


def frame_camera(scene: Scene, pose: Pose, size: int, shift: tuple[float, float] = (0.0, 0.0)) -> Camera:
    """The camera of one frame: the scene's framing, moved by ``shift`` (fractions of the side)."""
    centre = (scene.center[0] + shift[0], scene.center[1] + shift[1])
    return Camera(pose, center=centre, scale=scene.scale, size=size)


def part_mask(identity: Identity, pose: Pose, expression: Expression, scene: Scene, size: int,
              parts: str | tuple[str, ...], shift: tuple[float, float] = (0.0, 0.0), min_change: int = 8) -> np.ndarray:
    """Where ``parts`` (names from :data:`PARTS`) show in a frame: the pixels whose colour changes
    by more than ``min_change`` levels when they are left out, bool ``(size, size)``.

    Tests and notebook 02 use it to check that each part lies under its landmarks.
    """
    parts = (parts,) if isinstance(parts, str) else tuple(parts)
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise ValueError(f"unknown part(s) {unknown}: choose from {', '.join(PARTS)}")
    camera = frame_camera(scene, pose, size, shift)
    backdrop = render_backdrop(identity, scene, size)
    full = Painter(identity, scene, camera, expression).paint(backdrop).astype(np.int16)
    without = Painter(identity, scene, camera, expression).paint(backdrop, without=parts).astype(np.int16)
    return np.abs(full - without).max(axis=-1) > min_change


def render_frame(identity: Identity, pose: Pose, expression: Expression, scene: Scene, size: int,
                 backdrop: np.ndarray | None = None, shift: tuple[float, float] = (0.0, 0.0),
                 ) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic frame and its exact landmarks.

    Returns ``(image, landmarks)``: uint8 ``(size, size, 3)`` RGB and float32 ``(68, 2)`` pixel
    ``(x, y)`` (pixel centres at integers). ``backdrop``: :func:`render_backdrop` of this
    identity, scene and size, for callers that render many frames of one video; ``shift``:
    the head's offset from the scene's framing (fractions of the image side).
    """
    painter = Painter(identity, scene, frame_camera(scene, pose, size, shift), expression)
    backdrop = render_backdrop(identity, scene, size) if backdrop is None else backdrop
    return painter.paint(backdrop), painter.landmarks.astype(np.float32)
