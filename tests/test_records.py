"""The on-disk video record: round trip, atomic writes, and clear errors on bad files."""
import json
import os
import stat

import numpy as np
import pytest

from fewshot_lib.data.records import Record, RecordError, find_records, write_record

RNG = np.random.default_rng(0)
FRAMES = RNG.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
LANDMARKS = RNG.uniform(0, 16, (3, 68, 2)).astype(np.float32)


@pytest.fixture
def record(tmp_path):
    return write_record(tmp_path / "video", FRAMES, LANDMARKS, {"source": "test", "fps": np.float32(25)})


def rewrite(path, target, **changes):
    """A copy of the record at ``path`` with some members replaced (no validation)."""
    with np.load(path) as archive:
        members = {name: archive[name] for name in archive.files}
    with open(target, "wb") as f:
        np.savez(f, **{**members, **changes})
    return target


def test_round_trip(record):
    assert record.name == "video.npz"
    loaded = Record(record)
    assert len(loaded) == 3 and loaded.size == 16
    assert np.array_equal(loaded.frames(), FRAMES) and np.array_equal(loaded.frame(-1), FRAMES[2])
    np.testing.assert_array_equal(loaded.landmarks, LANDMARKS)
    assert loaded.meta["source"] == "test" and loaded.meta["fps"] == 25.0 and loaded.meta["num_frames"] == 3
    with pytest.raises(IndexError, match="out of range"):
        loaded.frame(3)


def test_records_are_ordinary_files_and_writes_leave_no_temporary(record, tmp_path, monkeypatch):
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(record).st_mode) == 0o666 & ~umask
    monkeypatch.setattr(np, "savez", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        write_record(tmp_path / "interrupted", FRAMES, LANDMARKS, {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["video.npz"]


def test_find_records_is_sorted_and_skips_hidden_files(tmp_path):
    for name in ("b/2", "a/1", "b/10"):
        write_record(tmp_path / name, FRAMES[:1], LANDMARKS[:1], {})
    (tmp_path / "a" / ".1.abc.tmp.npz").write_bytes(b"")
    assert [p.relative_to(tmp_path).as_posix() for p in find_records(tmp_path)] == ["a/1.npz", "b/10.npz", "b/2.npz"]
    with pytest.raises(RecordError, match="no such folder"):
        find_records(tmp_path / "missing")


@pytest.mark.parametrize("what, message", [
    ("truncated", "not a zip archive"), ("empty", "not a zip archive"), ("text", "not a zip archive"),
    ("npy", "not a zip archive"), ("flipped byte", "corrupt or truncated"), ("missing member", "missing landmarks"),
])
def test_corrupt_files_raise_an_error_naming_the_file(record, tmp_path, what, message):
    data, bad = record.read_bytes(), tmp_path / "bad.npz"
    if what == "truncated":
        bad.write_bytes(data[: len(data) // 2])
    elif what == "empty":
        bad.write_bytes(b"")
    elif what == "text":
        bad.write_text("not a record")
    elif what == "npy":
        with open(bad, "wb") as f:
            np.save(f, FRAMES)
    elif what == "flipped byte":
        corrupt = bytearray(data)
        corrupt[len(data) // 3] ^= 0xFF                  # inside the frames: the zip's CRC catches it
        bad.write_bytes(bytes(corrupt))
    else:
        with np.load(record) as archive:
            np.savez(bad, **{n: archive[n] for n in archive.files if n != "landmarks"})
    with pytest.raises(RecordError, match=message) as error:
        Record(bad)
    assert str(bad) in str(error.value)


def meta_with(record, **changes):
    with np.load(record) as archive:
        meta = json.loads(str(archive["meta"]))
    return np.array(json.dumps({**meta, **changes}))


@pytest.mark.parametrize("member, message", [
    ("landmarks f64", "landmarks float64"), ("landmarks shape", "expected float32 \\(3, 68, 2\\)"),
    ("landmarks nan", "NaN"), ("offsets float", "frame offsets are float64"), ("offsets past end", "do not index"),
    ("frames 2-d", "frame data is uint8 \\(1,"), ("meta list", "JSON list"), ("meta version", "format version 99"),
    ("meta frames", "meta says 4 frames"), ("meta size", "meta's size is None"),
])
def test_mismatched_members_are_named(record, tmp_path, member, message):
    with np.load(record) as archive:
        offsets, png = archive["frame_offsets"], archive["frames_png"]
    nan = LANDMARKS.copy()
    nan[1, 5, 0] = np.nan
    changes = {
        "landmarks f64": {"landmarks": LANDMARKS.astype(np.float64)},
        "landmarks shape": {"landmarks": LANDMARKS[:2]},
        "landmarks nan": {"landmarks": nan},
        "offsets float": {"frame_offsets": offsets.astype(np.float64)},
        "offsets past end": {"frame_offsets": offsets + np.array([0, 0, 0, 5])},
        "frames 2-d": {"frames_png": png[None]},
        "meta list": {"meta": np.array("[1, 2]")},
        "meta version": {"meta": meta_with(record, format_version=99)},
        "meta frames": {"meta": meta_with(record, num_frames=4)},
        "meta size": {"meta": meta_with(record, size=None)},
    }[member]
    with pytest.raises(RecordError, match=message):
        Record(rewrite(record, tmp_path / "bad.npz", **changes))


def test_a_frame_that_does_not_decode_or_has_the_wrong_size(record, tmp_path):
    with np.load(record) as archive:
        offsets, png = archive["frame_offsets"], archive["frames_png"].copy()
    png[offsets[1]:offsets[1] + 16] = 0                  # frame 1's PNG signature and header
    broken = Record(rewrite(record, tmp_path / "broken.npz", frames_png=png))
    assert np.array_equal(broken.frame(0), FRAMES[0])    # the other frames still read
    with pytest.raises(RecordError, match="frame 1 is not a readable PNG"):
        broken.frame(1)
    wrong = Record(rewrite(record, tmp_path / "wrong.npz", meta=meta_with(record, size=32)))
    with pytest.raises(RecordError, match="meta says size 32"):
        wrong.frame(0)


@pytest.mark.parametrize("frames, landmarks, meta, message", [
    (FRAMES[:0], LANDMARKS[:0], {}, "at least one frame"),
    (FRAMES[..., 0], LANDMARKS, {}, "expected uint8 \\(16, 16, 3\\)"),
    (FRAMES.astype(np.float32), LANDMARKS, {}, "expected uint8"),
    (FRAMES, LANDMARKS[:2], {}, "landmarks are \\(2, 68, 2\\)"),
    (FRAMES, np.full_like(LANDMARKS, np.inf), {}, "NaN or infinity"),
    (FRAMES, LANDMARKS, {"when": object()}, "cannot be stored as JSON"),
])
def test_writing_bad_data_is_refused(tmp_path, frames, landmarks, meta, message):
    with pytest.raises(RecordError, match=message):
        write_record(tmp_path / "bad", frames, landmarks, meta)
    assert not list(tmp_path.iterdir())


def test_a_missing_file(tmp_path):
    with pytest.raises(RecordError, match="no such record file"):
        Record(tmp_path / "nothing.npz")
