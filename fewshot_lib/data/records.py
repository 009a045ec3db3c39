"""The on-disk record: one file per video, shared by ``fewshot prepare`` and ``fewshot synth``.

A record is a ``.npz`` (zip) archive with four members::

    frames_png     uint8 (B,)        the T frames, each PNG-encoded, concatenated
    frame_offsets  int64 (T + 1,)    frame t is frames_png[frame_offsets[t]:frame_offsets[t + 1]]
    landmarks      float32 (T, 68, 2) iBUG-68 points (x, y) in pixels of the stored frame
    meta           str (JSON)        format version, size, source, frame indices, backend, ...

PNG keeps frames lossless and ~3x smaller than raw pixels, and frames decode one at a
time, so an episode reads only the K + 1 frames it needs. Records are written to a
temporary file and renamed into place: an interrupted write never leaves a half record.
Introduced in notebook 02 (data).
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image

from ..errors import FewshotError
from ..atomic import atomic_write

FORMAT_VERSION = 1
SUFFIX = ".npz"
MEMBERS = ("frames_png", "frame_offsets", "landmarks", "meta")


class RecordError(FewshotError, ValueError):
    """A record file is missing, corrupt, or does not match what the reader expects."""


def _json_value(value):
    """numpy scalars and arrays in ``meta`` become plain numbers and lists."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _encode_png(frame: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def write_record(path: str | Path, frames: Sequence[np.ndarray] | np.ndarray,
                 landmarks: np.ndarray, meta: dict[str, Any]) -> Path:
    """Write one video record atomically; returns the final path (``.npz`` added if missing).

    ``frames``: T square uint8 RGB images ``(S, S, 3)``; ``landmarks``: ``(T, 68, 2)``
    finite float pixel coordinates; ``meta``: JSON-serialisable metadata (numpy values are
    converted; ``size`` and ``num_frames`` are filled in).
    """
    path = Path(path)
    if path.suffix != SUFFIX:
        path = path.with_name(path.name + SUFFIX)
    landmarks = np.asarray(landmarks, dtype=np.float32)
    if len(frames) == 0:
        raise RecordError(f"{path}: a record needs at least one frame")
    size = frames[0].shape[0]
    for t, frame in enumerate(frames):
        if frame.dtype != np.uint8 or frame.shape != (size, size, 3):
            raise RecordError(f"{path}: frame {t} is {frame.dtype} {frame.shape}, "
                              f"expected uint8 ({size}, {size}, 3) like frame 0")
    if landmarks.shape != (len(frames), 68, 2):
        raise RecordError(f"{path}: landmarks are {landmarks.shape}, expected ({len(frames)}, 68, 2)")
    if not np.isfinite(landmarks).all():
        raise RecordError(f"{path}: landmarks contain NaN or infinity; drop the frames without a face instead")
    meta = {**meta, "format_version": FORMAT_VERSION, "size": int(size), "num_frames": len(frames)}
    try:
        meta_json = json.dumps(meta, default=_json_value)
    except (TypeError, ValueError) as error:
        raise RecordError(f"{path}: meta cannot be stored as JSON ({error}); use numbers, strings, lists "
                          "and dicts") from error

    encoded = [_encode_png(frame) for frame in frames]
    offsets = np.cumsum([0] + [len(b) for b in encoded]).astype(np.int64)

    with atomic_write(path) as f:
        np.savez(f, frames_png=np.frombuffer(b"".join(encoded), dtype=np.uint8),
                 frame_offsets=offsets, landmarks=landmarks, meta=np.array(meta_json))
    return path


class Record:
    """A video record opened for reading; frames are decoded lazily, one at a time.

    >>> record = Record("runs/synth/train/id0000000_v0000.npz")   # doctest: +SKIP
    >>> record.frame(3).shape, record.landmarks.shape          # doctest: +SKIP
    ((64, 64, 3), (32, 68, 2))
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise RecordError(f"{self.path}: no such record file")
        if not zipfile.is_zipfile(self.path):
            raise RecordError(f"{self.path}: not a fewshot record (not a zip archive: corrupt, truncated or another "
                              "kind of file); delete it and re-create it with `fewshot prepare` or `fewshot synth`")
        try:
            with np.load(self.path, allow_pickle=False) as archive:
                missing = [m for m in MEMBERS if m not in archive.files]
                if missing:
                    raise RecordError(f"{self.path}: not a fewshot record (missing {', '.join(missing)}); "
                                      "re-create it with `fewshot prepare` or `fewshot synth`")
                self._png = archive["frames_png"]
                self._offsets = archive["frame_offsets"]
                self.landmarks = archive["landmarks"]
                self.meta = json.loads(str(archive["meta"]))
        except RecordError:
            raise
        except (OSError, ValueError, zipfile.BadZipFile, EOFError, json.JSONDecodeError) as error:
            raise RecordError(f"{self.path}: corrupt or truncated record ({error}); delete it and "
                              "re-create it with `fewshot prepare` or `fewshot synth`") from error
        self._validate()

    def _validate(self) -> None:
        if not isinstance(self.meta, dict):
            raise RecordError(f"{self.path}: invalid record: meta is a JSON {type(self.meta).__name__}, not an object")
        if self._png.dtype != np.uint8 or self._png.ndim != 1:
            raise RecordError(f"{self.path}: invalid record: frame data is {self._png.dtype} {self._png.shape}, "
                              "expected uint8 (B,)")
        if self._offsets.dtype.kind not in "iu" or self._offsets.ndim != 1:
            raise RecordError(f"{self.path}: invalid record: frame offsets are {self._offsets.dtype} "
                              f"{self._offsets.shape}, expected int64 (T + 1,)")
        t = len(self._offsets) - 1
        problems = []
        if self.meta.get("format_version") != FORMAT_VERSION:
            problems.append(f"format version {self.meta.get('format_version')} (this library reads {FORMAT_VERSION})")
        if self.landmarks.dtype != np.float32 or self.landmarks.shape != (t, 68, 2):
            problems.append(f"landmarks {self.landmarks.dtype} {self.landmarks.shape}, expected float32 ({t}, 68, 2)")
        elif not np.isfinite(self.landmarks).all():
            problems.append("landmarks contain NaN or infinity")
        if t < 1 or self._offsets[0] != 0 or self._offsets[-1] != len(self._png) or np.any(np.diff(self._offsets) <= 0):
            problems.append("frame offsets do not index the frame data")
        if self.meta.get("num_frames") != t:
            problems.append(f"meta says {self.meta.get('num_frames')} frames, data has {t}")
        size = self.meta.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            problems.append(f"meta's size is {size!r}, expected the frames' side in pixels")
        if problems:
            raise RecordError(f"{self.path}: invalid record: " + "; ".join(problems))

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @property
    def size(self) -> int:
        """Side of the square frames, in pixels."""
        return int(self.meta["size"])

    def frame(self, t: int) -> np.ndarray:
        """Frame ``t`` as uint8 ``(S, S, 3)`` RGB."""
        if not -len(self) <= t < len(self):
            raise IndexError(f"{self.path}: frame {t} out of range (0..{len(self) - 1})")
        t %= len(self)
        data = self._png[self._offsets[t]:self._offsets[t + 1]].tobytes()
        try:
            frame = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        except (OSError, ValueError, SyntaxError, EOFError) as error:   # what PIL raises on broken PNGs
            raise RecordError(f"{self.path}: frame {t} is not a readable PNG ({type(error).__name__}); the record "
                              "is corrupt: delete it and re-create it") from error
        if frame.shape != (self.size, self.size, 3):
            raise RecordError(f"{self.path}: frame {t} is {frame.shape}, meta says size {self.size}")
        return frame

    def frames(self, indices: Sequence[int] | None = None) -> np.ndarray:
        """Several frames as uint8 ``(n, S, S, 3)`` (all of them when ``indices`` is None)."""
        indices = range(len(self)) if indices is None else indices
        return np.stack([self.frame(t) for t in indices])

    def __repr__(self) -> str:
        return f"Record({str(self.path)!r}, frames={len(self)}, size={self.size})"


def find_records(root: str | Path) -> list[Path]:
    """Every record under ``root`` (recursively), sorted, so indices are stable."""
    root = Path(root)
    if not root.exists():
        raise RecordError(f"{root}: no such folder; create records with `fewshot synth` or `fewshot prepare`")
    return sorted(p for p in root.rglob(f"*{SUFFIX}") if not p.name.startswith("."))
