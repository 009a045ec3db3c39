"""Video export: streamed H.264 mp4 and GIF, provenance metadata, layouts, clear errors."""
import time

import numpy as np
import pytest

from fewshot_lib.video import (PROVENANCE, VideoExportError, VideoWriter, read_metadata, read_video, side_by_side,
                               video_fps, write_video)


def frames(count=7, height=64, width=192):
    """Frames whose brightness encodes their index (so order survives lossy coding)."""
    return (np.full((height, width, 3), 20 + 30 * (i % 8), np.uint8) for i in range(count))


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_export_decodes_to_the_right_frames_and_says_synthetic(tmp_path, suffix):
    path = write_video(tmp_path / f"out{suffix}", frames(), fps=8)
    decoded = list(read_video(path))
    assert len(decoded) == 7 and decoded[0].shape == (64, 192, 3)
    brightness = [frame.mean() for frame in decoded]
    np.testing.assert_allclose(brightness, [20 + 30 * i for i in range(7)], atol=3)
    assert read_metadata(path)["comment"] == PROVENANCE
    assert "SYNTHETIC" in PROVENANCE
    assert video_fps(path) == pytest.approx(8, rel=0.05)     # a GIF stores delays in 1/100 s: 12 → 8.33 fps
    assert video_fps(write_video(tmp_path / f"slow{suffix}", frames(), fps=5)) == 5


def test_mp4_is_h264_and_odd_sizes_are_padded(tmp_path):
    import imageio_ffmpeg

    path = write_video(tmp_path / "odd.mp4", frames(3, 63, 101))
    info = next(imageio_ffmpeg.read_frames(str(path)))
    assert info["codec"] == "h264" and info["size"] == (102, 64)
    assert len(list(read_video(path))) == 3


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_frames_reach_the_file_before_the_video_ends(tmp_path, suffix):
    path = tmp_path / f"stream{suffix}"
    noise = np.random.default_rng(0)
    with VideoWriter(path, fps=25) as video:                 # ~0.5 MB: more than ffmpeg's output buffer
        for _ in range(120):
            video.write(noise.integers(0, 256, (48, 48, 3), dtype=np.uint8))
        deadline = time.monotonic() + 5
        while (not video.partial.exists() or video.partial.stat().st_size == 0) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert video.partial.stat().st_size > 0, "the encoder writes while frames still arrive (nothing held back)"
        assert not path.exists(), "the final name holds only a finished, marked video"
    assert video.frames_written == 120 and sum(1 for _ in read_video(path)) == 120


def test_bad_input_is_refused_clearly(tmp_path):
    with pytest.raises(VideoExportError, match=".mp4"):
        VideoWriter(tmp_path / "out.avi")
    with pytest.raises(VideoExportError, match="uint8"):
        write_video(tmp_path / "x.mp4", [np.zeros((8, 8, 3), np.float32)])
    with pytest.raises(VideoExportError, match="first one's size"):
        write_video(tmp_path / "y.gif", [np.zeros((8, 8, 3), np.uint8), np.zeros((8, 10, 3), np.uint8)])
    assert list(tmp_path.iterdir()) == [], "a failed export leaves no partial file"
    with pytest.raises(VideoExportError, match="no frames"):
        write_video(tmp_path / "z.mp4", [])


def test_side_by_side_scales_to_the_first_height():
    a, b = np.zeros((64, 64, 3), np.uint8), np.full((32, 48, 3), 255, np.uint8)
    row = side_by_side([a, b], gap=2)
    assert row.shape == (64, 64 + 2 + 96, 3)
    assert row[:, 66:].min() == 255 and row[:, 64:66].max() == 0
