"""`fewshot prepare` on small generated videos: records, counted drops, resuming, interruptions."""
import json

import cv2
import imageio.v3 as iio
import numpy as np
import pytest

from fewshot_lib.cli import main
from fewshot_lib.data import records
from fewshot_lib.data.prepare import REPORT_NAME, PrepareConfig, PrepareError, prepare
from fewshot_lib.data.records import Record, find_records
from fewshot_lib.landmarks import load_portrait

BLANK = (3, 4, 5)          # frames of the astronaut's video that show no face
FAST = PrepareConfig(frames_per_video=0, stride=1, size=64, backend="dlib")


def _video(portrait: str, frames: int = 12, size: int = 160, blank=()) -> np.ndarray:
    """A camera drifting and zooming over a portrait: uint8 (T, size, size, 3); ``blank`` frames are grey."""
    image = load_portrait(portrait)
    height, width = image.shape[:2]
    video = []
    for t in range(frames):
        side = int(min(height, width) * (0.9 - 0.2 * t / frames))
        x, y = int((width - side) * (0.3 + 0.4 * t / frames)), (height - side) // 3
        frame = cv2.resize(image[y:y + side, x:x + side], (size, size), interpolation=cv2.INTER_AREA)
        video.append(np.full_like(frame, 90) if t in blank else frame)
    return np.stack(video)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """VoxCeleb-like layout: two good videos, one without any face, one corrupt file."""
    root = tmp_path_factory.mktemp("videos")
    for name, frames in {"id001/a/00001.mp4": _video("astronaut", blank=BLANK),
                         "id002/b/00001.mp4": _video("grace_hopper"),
                         "id003/c/00001.mp4": np.full((6, 160, 160, 3), 90, np.uint8)}.items():
        (root / name).parent.mkdir(parents=True)
        iio.imwrite(root / name, frames, fps=25, plugin="FFMPEG")
    (root / "id004/d").mkdir(parents=True)
    (root / "id004/d/00001.mp4").write_bytes(b"this is not a video")
    return root


@pytest.fixture(scope="module")
def prepared(source, tmp_path_factory):
    out = tmp_path_factory.mktemp("records")
    return out, prepare(source, out, FAST, progress=False)


def test_records_are_written_and_every_drop_is_counted(prepared):
    out, report = prepared
    assert [p.relative_to(out).as_posix() for p in find_records(out)] == ["id001/a/00001.npz", "id002/b/00001.npz"]
    record = Record(out / "id001/a/00001.npz")
    kept = [t for t in range(12) if t not in BLANK]
    assert record.meta["frame_indices"] == kept                      # gaps stay gaps: no duplicated frames
    assert len(record) == len(kept) and record.landmarks.shape == (len(kept), 68, 2)
    assert record.frames().shape == (len(kept), 64, 64, 3)
    meta = record.meta
    assert (meta["source"], meta["identity"], meta["backend"], meta["dropped"]) == \
        ("id001/a/00001.mp4", "id001", "dlib", {"no_face": 3})
    assert len(meta["crop_boxes"]) == len(kept) and meta["fps"] == 25
    points = record.landmarks                                        # (T, 68, 2) in crop pixels
    assert np.all((points > 0) & (points < 64))
    assert np.all(points[:, 36:48, 1].mean(1) < points[:, 48:68, 1].mean(1))   # eyes above the mouth

    assert report.dropped_frames["no_face"] == 3 + 6                 # blank frames + the faceless video
    assert report.dropped_videos == {"unreadable": 1, "too_few_faces": 1}
    dropped = {v.source: v.reason for v in report.videos if v.status == "dropped"}
    assert dropped == {"id003/c/00001.mp4": "too_few_faces", "id004/d/00001.mp4": "unreadable"}
    assert report.frames_examined == 12 + 12 + 6 and report.frames_per_second > 0
    saved = json.loads((out / REPORT_NAME).read_text())
    assert saved["summary"] == str(report) and "no face 9" in saved["summary"]


def test_rerun_skips_finished_records(prepared, source):
    out, _ = prepared
    stamps = {p: p.stat().st_mtime_ns for p in find_records(out)}
    again = prepare(source, out, FAST, progress=False)
    assert again.count("skipped") == 2 and again.count("written") == 0
    assert {p: p.stat().st_mtime_ns for p in find_records(out)} == stamps
    with pytest.raises(PrepareError, match="not 96px"):
        prepare(source, out, PrepareConfig(size=96, backend="dlib"), progress=False)


def test_stride_and_frames_per_video(source, tmp_path):
    config = PrepareConfig(frames_per_video=4, stride=2, size=64, backend="dlib")
    report = prepare(source, tmp_path, config, progress=False)
    meta = Record(tmp_path / "id001/a/00001.npz").meta
    assert meta["frame_indices"] == [0, 2, 6, 8] and meta["dropped"] == {"no_face": 1}   # frame 4 has no face
    assert len(Record(tmp_path / "id002/b/00001.npz")) == 4 and report.count("written") == 2


def test_an_interrupted_run_leaves_no_partial_record(source, tmp_path, monkeypatch):
    def interrupted_savez(file, **arrays):
        file.write(b"PK\x03\x04 half a record")
        raise KeyboardInterrupt

    monkeypatch.setattr(records.np, "savez", interrupted_savez)
    with pytest.raises(KeyboardInterrupt):
        prepare(source, tmp_path, FAST, progress=False)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []     # no record, no temporary file
    monkeypatch.undo()

    (tmp_path / "id001/a").mkdir(parents=True, exist_ok=True)
    (tmp_path / "id001/a/.00001.x7f3.tmp").write_bytes(b"left by a killed run")
    report = prepare(source, tmp_path, FAST, progress=False)
    assert report.count("written") == 2 and report.removed_temporary_files == 1
    assert not list(tmp_path.rglob("*.tmp"))


def test_cli_with_parallel_workers_gives_the_same_records(prepared, source, tmp_path, capsys):
    out, _ = prepared
    assert main(["prepare", str(source), str(tmp_path), "--workers", "2", "--stride", "1",
                 "--frames-per-video", "0", "--size", "64", "--backend", "dlib"]) == 0
    assert "records written: 2" in capsys.readouterr().out
    for path in find_records(out):
        serial, parallel = Record(path), Record(tmp_path / path.relative_to(out))
        np.testing.assert_array_equal(serial.frames(), parallel.frames())
        np.testing.assert_array_equal(serial.landmarks, parallel.landmarks)


def test_bad_requests_are_refused(tmp_path):
    with pytest.raises(PrepareError, match="no such folder"):
        prepare(tmp_path / "missing", tmp_path / "out", FAST, progress=False)
    with pytest.raises(PrepareError, match="no videos"):
        prepare(tmp_path, tmp_path / "out", FAST, progress=False)
    with pytest.raises(ValueError, match="--stride .* must be at least 1"):
        PrepareConfig(stride=0)
    with pytest.raises(ValueError, match="choose one of"):
        PrepareConfig(backend="mediapipe")
