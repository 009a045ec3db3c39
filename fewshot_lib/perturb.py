"""What happens to a frame after it is made: saved as a JPEG, shrunk and enlarged, cropped, encoded into a video.

Each function takes uint8 frames ``(N, H, W, 3)`` RGB and returns them after the round trip:

* :func:`jpeg`: each frame saved as a JPEG of a given quality and decoded (what a messenger app does);
* :func:`resize_half`: shrunk to half its side (area average) and enlarged back (bilinear);
* :func:`crop`: a border cut off (an editor's crop: the frames get smaller);
* :func:`h264` and :func:`gif`: all N frames in order as one H.264 video (libx264, yuv420p, ffmpeg's
  default CRF 23) or one GIF (a 256-colour palette per frame), decoded again. The encoding is done
  here with ffmpeg directly, not through :class:`~fewshot_lib.video.VideoWriter`, whose files carry
  the library's marks: what is measured after these is what went in, never a mark added on the way.

They are what the watermark must survive (:mod:`fewshot_lib.provenance.survival`) and what erases the
traces a fake-frame detector reads (:mod:`fewshot_lib.detector.evaluate`). Introduced in notebook 11.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np

GIF_PALETTES = ["-filter_complex", "split[a][b];[a]palettegen=stats_mode=single[p];[b][p]paletteuse=new=1"]


def jpeg(frames: np.ndarray, quality: int = 50) -> np.ndarray:
    """Each frame saved as a JPEG of ``quality`` (0-100) and decoded: uint8 ``(N, H, W, 3)``."""
    def round_trip(frame: np.ndarray) -> np.ndarray:
        ok, data = cv2.imencode(".jpg", frame[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])   # RGB → BGR
        return cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1]
    return np.stack([round_trip(frame) for frame in frames])


def resize_half(frames: np.ndarray) -> np.ndarray:
    """Each frame shrunk to half its side and enlarged back: uint8 ``(N, H, W, 3)``."""
    H, W = frames.shape[1:3]
    return np.stack([cv2.resize(cv2.resize(frame, (W // 2, H // 2), interpolation=cv2.INTER_AREA), (W, H),
                                interpolation=cv2.INTER_LINEAR) for frame in frames])


def crop(frames: np.ndarray, fraction: float = 0.1) -> np.ndarray:
    """``fraction`` of each side's length cut off, half on each end: uint8 ``(N, H', W', 3)``, smaller."""
    H, W = frames.shape[1:3]
    dy, dx = round(H * fraction / 2), round(W * fraction / 2)
    return frames[:, dy:H - dy, dx:W - dx]


def _through_ffmpeg(frames: np.ndarray, suffix: str, options: dict) -> np.ndarray:
    """The frames encoded into one ``suffix`` file with imageio-ffmpeg's ``options``, decoded: ``(N, H, W, 3)``."""
    import imageio_ffmpeg

    N, H, W, _ = frames.shape
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / f"clip{suffix}")
        encoder = imageio_ffmpeg.write_frames(path, (W, H), fps=8.0, macro_block_size=1, ffmpeg_log_level="error",
                                              **options)
        encoder.send(None)                                     # start ffmpeg
        for frame in frames:
            encoder.send(np.ascontiguousarray(frame))
        encoder.close()
        reader = imageio_ffmpeg.read_frames(path)
        next(reader)                                           # the first item describes the stream
        decoded = np.stack([np.frombuffer(data, np.uint8).reshape(H, W, 3) for data in reader])
    if len(decoded) != N:
        raise RuntimeError(f"{suffix} round trip: {N} frames in, {len(decoded)} out")
    return decoded


def h264(frames: np.ndarray, crf: int = 23) -> np.ndarray:
    """The frames, in order, as one H.264 video at ``crf`` (ffmpeg's default 23), decoded: uint8 ``(N, H, W, 3)``."""
    return _through_ffmpeg(frames, ".mp4", dict(codec="libx264", quality=None, pix_fmt_out="yuv420p",
                                                output_params=["-crf", str(crf)]))


def gif(frames: np.ndarray) -> np.ndarray:
    """The frames, in order, as one GIF with a palette of its own per frame, decoded: uint8 ``(N, H, W, 3)``."""
    return _through_ffmpeg(frames, ".gif", dict(codec="gif", pix_fmt_out="pal8", output_params=GIF_PALETTES))
