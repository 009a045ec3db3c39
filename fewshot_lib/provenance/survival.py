"""What the watermark survives, measured: the survival table of notebook 11 (``fewshot verify --survival``).

Frames: renders of the synthetic dataset (4 people × 8 frames, what the course's models learn to
draw) and the two shipped portraits, at the two sizes the course writes: 64² (model outputs as
exported) and 256² (``fewshot animate``'s output). Each is marked, attacked, then read:

* H.264 at ffmpeg's default CRF 23 and an animated GIF (one palette per frame), as a video of 8 frames
  per person: each frame read alone, and the whole video (majority vote over its frames);
* JPEG at quality 75; resized to 50 % and back (area, then bilinear); a 10 % crop (5 % off each side).

``bit_accuracy``: the fraction of the 48 payload bits read right, averaged over the images;
``decoded``: the fraction of images (or videos) whose payload passes the tag and the CRC and is the
one written. Also: PSNR of marked vs unmarked, and false marks on 100 uniform-noise images per size.
"""
from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from .. import perturb
from .payload import Payload
from .watermark import embed, read

SIZES = {64: "64² model output", 256: "256² animate output"}
PAYLOAD = Payload(model=0xBEEF)


def course_frames(size: int) -> list[list[np.ndarray]]:
    """Clips of uint8 ``(size, size, 3)`` frames: 4 synthetic people × 8 frames, then each portrait alone."""
    from ..data.synthetic.dataset import SyntheticHeads
    from ..landmarks.portraits import PORTRAITS, load_portrait

    heads = SyntheticHeads(seed=0)
    clips = [list(heads.video(identity, 0, 8, size).frames()) for identity in range(4)]
    portraits = [load_portrait(name) for name in PORTRAITS]
    return clips + [[cv2.resize(p[:min(p.shape[:2])], (size, size), interpolation=cv2.INTER_AREA)] for p in portraits]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """10 log10(255² / MSE), in dB."""
    return float(10 * np.log10(255 ** 2 / np.mean((a.astype(np.float64) - b) ** 2)))


def score(readings) -> dict:
    truth = PAYLOAD.to_bits()
    return {"bit_accuracy": float(np.mean([(r.bits == truth).mean() for r in readings])),
            "decoded": float(np.mean([r.payload == PAYLOAD for r in readings])), "n": len(readings)}


def survival_rows(sizes=tuple(SIZES), noise_images: int = 100) -> list[dict]:
    """One row per (size, condition): bit accuracy, decoded fraction, how many images; PSNR; false marks."""
    per_frame: dict[str, Callable] = {"none": lambda f: f, "JPEG 75": lambda f: perturb.jpeg(f, 75),
                                      "resize 50 % and back": perturb.resize_half, "crop 10 %": perturb.crop}
    rows = []
    for size in sizes:
        clips = course_frames(size)
        marked = [[embed(frame, PAYLOAD) for frame in clip] for clip in clips]
        frames, marks = [f for clip in clips for f in clip], [m for clip in marked for m in clip]
        for name, attack in per_frame.items():
            rows.append({"size": SIZES[size], "condition": name, **score([read(attack(m[None])[0]) for m in marks])})
        for encode, name in ((perturb.h264, "H.264 CRF 23"), (perturb.gif, "GIF")):
            videos = [list(encode(np.stack(clip))) for clip in marked if len(clip) > 1]
            rows.append({"size": SIZES[size], "condition": f"{name}, each frame",
                         **score([read(f) for video in videos for f in video])})
            rows.append({"size": SIZES[size], "condition": f"{name}, whole video", **score([read(v) for v in videos])})
        values = [psnr(f, m) for f, m in zip(frames, marks)]
        rows.append({"size": SIZES[size], "condition": "PSNR marked vs unmarked (dB)", "mean": float(np.mean(values)),
                     "min": float(np.min(values)), "n": len(values)})
        rng = np.random.default_rng(0)
        noise = [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(noise_images)]
        unmarked = [read(image).marked for image in noise + frames]
        rows.append({"size": SIZES[size], "condition": "false marks: noise images + unmarked frames",
                     "false_marks": int(sum(unmarked)), "n": len(unmarked)})
    return rows


def format_table(rows: list[dict]) -> str:
    """The rows as a markdown table."""
    lines = ["| frames | condition | bit accuracy | payload decoded | n |", "|---|---|---|---|---|"]
    for row in rows:
        if "bit_accuracy" in row:
            cells = [f"{row['bit_accuracy']:.3f}", f"{row['decoded']:.2f}"]
        elif "mean" in row:
            cells = [f"mean {row['mean']:.1f}, min {row['min']:.1f}", ""]
        else:
            cells = ["", f"{row['false_marks']} false marks"]
        lines.append(f"| {row['size']} | {row['condition']} | {cells[0]} | {cells[1]} | {row['n']} |")
    return "\n".join(lines)
