"""The watermark's payload: 48 bits that say "fewshot_lib made this", and an error-detecting code.

    bits  0-7   TAG        0xF5, the course's tag ("fewshot_lib")
    bits  8-15  version    the library's major·16 + minor (0.1.x → 1)
    bits 16-31  model      the first 16 bits of the model file's SHA-256 (0: no model named)
    bits 32-47  CRC-16     CRC-16/CCITT (init 0xFFFF) of the 4 bytes above

A reader always gets *some* 48 bits out of an image, marked or not. Whether they are a mark is
decided by the code, not by a threshold: 48 random bits pass the tag and the CRC together with
probability 2⁻²⁴ ≈ 6·10⁻⁸, so "no mark found" is the answer for every unmarked image we tried
(``fewshot verify --survival`` counts false marks on noise images). Introduced in notebook 11.
"""
from __future__ import annotations

import binascii
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__

TAG = 0xF5
BITS = 48


def version_code(version: str = __version__) -> int:
    """``"0.1.0"`` → 1: major·16 + minor, one byte (the patch level is not carried)."""
    major, minor = (int(part) for part in version.split(".")[:2])
    return (major * 16 + minor) & 0xFF


def model_code(path: str | Path | None) -> int:
    """The first 16 bits of the SHA-256 of the file at ``path`` (a checkpoint, a person model); 0 for None."""
    if path is None:
        return 0
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return int.from_bytes(digest.digest()[:2], "big")


@dataclass(frozen=True)
class Payload:
    """What a mark says: the library's version code and 16 bits of the model's hash."""
    version: int = version_code()
    model: int = 0

    def to_bits(self) -> np.ndarray:
        """The 48 payload bits, uint8 ``(48,)``, most significant bit first."""
        data = bytes([TAG, self.version]) + self.model.to_bytes(2, "big")
        crc = binascii.crc_hqx(data, 0xFFFF)                               # CRC-16/CCITT
        return np.unpackbits(np.frombuffer(data + crc.to_bytes(2, "big"), np.uint8))

    @classmethod
    def from_bits(cls, bits: np.ndarray) -> "Payload | None":
        """The payload carried by 48 bits, or None when the tag or the CRC does not match (no mark)."""
        data = np.packbits(np.asarray(bits, np.uint8)).tobytes()
        crc = int.from_bytes(data[4:], "big")
        if len(data) != BITS // 8 or data[0] != TAG or binascii.crc_hqx(data[:4], 0xFFFF) != crc:
            return None
        return cls(version=data[1], model=int.from_bytes(data[2:4], "big"))

    def __str__(self) -> str:
        model = f"model {self.model:04x}" if self.model else "no model named"
        return f"fewshot_lib {self.version >> 4}.{self.version & 15}, {model}"
