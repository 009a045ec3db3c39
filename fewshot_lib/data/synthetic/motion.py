"""How a synthetic person moves in one video: smooth trajectories of head pose and expression.

Each control is a function of time (seconds), so any frame can be rendered on its own, in any
order, at any frame rate. Head turns and nods are sums of a few slow sine waves; talking is a
syllable rhythm (3-5 per second) inside phrases separated by pauses; blinks are short events
every 1.5-5 seconds; smiles, brow raises and gaze drift slowly. Every number is drawn from the
video's own random generator, so two videos of one person move differently.
Introduced in notebook 02.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .geometry import Expression, Pose

YAW_LIMIT, PITCH_LIMIT, ROLL_LIMIT = 35.0, 15.0, 15.0
"""Head rotation stays within +-35 degrees of yaw, +-15 of pitch and of roll."""
BLINK_SECONDS = 0.3
"""How long one blink lasts (lids closing and opening again)."""
MAX_BLINKS = 2000
"""Blinks drawn per video (about two hours of them), so every video length sees the same ones."""


def _clip(value: float, limit: float) -> float:
    return min(max(value, -limit), limit)


@dataclass(frozen=True)
class Wave:
    """A smooth random signal: ``offset + amplitude * sum_k w_k sin(2 pi f_k t + phi_k)``, with
    weights ``w_k`` summing to 1 so it stays within ``offset +- amplitude``."""

    offset: float
    amplitude: float
    frequencies: tuple[float, ...]       # Hz
    phases: tuple[float, ...]            # radians
    weights: tuple[float, ...]

    @classmethod
    def random(cls, rng: np.random.Generator, offset: float, amplitude: float, low_hz: float, high_hz: float,
               parts: int = 3) -> "Wave":
        weights = rng.uniform(0.2, 1.0, parts)
        return cls(float(offset), float(amplitude), tuple(rng.uniform(low_hz, high_hz, parts).tolist()),
                   tuple(rng.uniform(0, 2 * np.pi, parts).tolist()), tuple((weights / weights.sum()).tolist()))

    def __call__(self, t: float) -> float:
        parts = zip(self.frequencies, self.phases, self.weights)
        return self.offset + self.amplitude * sum(w * math.sin(2 * math.pi * f * t + phi) for f, phi, w in parts)


@dataclass(frozen=True)
class Motion:
    """All trajectories of one video; :meth:`at` gives the head's state at a time."""

    yaw: Wave
    pitch: Wave
    roll: Wave
    sway: tuple[Wave, Wave]              # the head's drift in the image (fractions of its side)
    phrases: Wave                        # talking when > 0, pausing otherwise
    syllable_hz: float
    loudness: float                      # how wide the mouth opens while talking
    smile: Wave
    brow_raise: Wave
    gaze: tuple[Wave, Wave]
    blinks: np.ndarray                   # start times of the blinks (seconds), sorted

    def at(self, t: float) -> tuple[Pose, Expression, tuple[float, float]]:
        """Pose, expression and the head's offset in the image (fractions) at time ``t`` seconds."""
        pose = Pose(yaw=_clip(self.yaw(t), YAW_LIMIT), pitch=_clip(self.pitch(t), PITCH_LIMIT),
                    roll=_clip(self.roll(t), ROLL_LIMIT))
        talking = min(max(4 * self.phrases(t), 0.0), 1.0)                      # soft phrase on/off
        syllables = abs(math.sin(math.pi * self.syllable_hz * t))              # open-close rhythm
        expression = Expression(
            mouth_open=self.loudness * talking * syllables,
            smile=min(max(self.smile(t), 0.0), 1.0),
            blink=self.blink(t),
            brow_raise=min(max(self.brow_raise(t), 0.0), 1.0),
            gaze=(_clip(self.gaze[0](t), 1.0), _clip(self.gaze[1](t), 1.0)),
        )
        return pose, expression, (self.sway[0](t), self.sway[1](t))

    def blink(self, t: float) -> float:
        """How closed the eyelids are at ``t``: 0 open, 1 shut, a triangle over each blink."""
        i = np.searchsorted(self.blinks, t) - 1
        if i < 0:
            return 0.0
        phase = (t - self.blinks[i]) / BLINK_SECONDS                             # 0..1 during a blink
        return float(max(0.0, 1.0 - abs(2 * phase - 1))) if phase < 1 else 0.0


def random_motion(rng: np.random.Generator, blink_rng: np.random.Generator) -> Motion:
    """Draw one video's trajectories; blinks come from their own generator ``blink_rng``."""
    return Motion(
        yaw=Wave.random(rng, rng.uniform(-10, 10), rng.uniform(12, 32), 0.08, 0.45),
        pitch=Wave.random(rng, rng.uniform(-5, 5), rng.uniform(4, 12), 0.1, 0.5),
        roll=Wave.random(rng, rng.uniform(-5, 5), rng.uniform(3, 10), 0.05, 0.3),
        sway=(Wave.random(rng, 0.0, 0.02, 0.05, 0.3), Wave.random(rng, 0.0, 0.01, 0.05, 0.3)),
        phrases=Wave.random(rng, rng.uniform(0.0, 0.4), 1.0, 0.1, 0.4),
        syllable_hz=float(rng.uniform(3.0, 5.0)),
        loudness=float(rng.uniform(0.5, 1.0)),
        smile=Wave.random(rng, rng.uniform(-0.3, 0.5), rng.uniform(0.2, 0.6), 0.05, 0.2),
        brow_raise=Wave.random(rng, rng.uniform(-0.5, 0.1), rng.uniform(0.3, 0.8), 0.1, 0.5),
        gaze=(Wave.random(rng, 0.0, 0.6, 0.1, 0.4), Wave.random(rng, 0.0, 0.4, 0.1, 0.4)),
        blinks=np.cumsum(blink_rng.uniform(1.5, 5.0, MAX_BLINKS)) - blink_rng.uniform(0.0, 1.5),
    )
