"""`fewshot animate`: one photo in, a talking-head video out; clean refusals; the TPS and adaptation pieces."""
import numpy as np
import pytest
from PIL import Image

from fewshot_lib.animate import source as source_module     # where Source.from_images looks up detect
from fewshot_lib.animate import (AnimateError, Driver, Source, TPSMethod, animate, animate_frames, drive_landmarks,
                                 nearest_reference, openings)
from fewshot_lib.cli import main
from fewshot_lib.landmarks import NoFaceError, load_portrait
from fewshot_lib.video import PROVENANCE, read_metadata, read_video, write_video


@pytest.fixture(scope="module")
def hopper_jpg(tmp_path_factory):
    path = tmp_path_factory.mktemp("animate") / "hopper.jpg"
    Image.fromarray(load_portrait("grace_hopper")).save(path, quality=95)
    return path


@pytest.fixture(scope="module")
def hopper(hopper_jpg):
    """Grace Hopper's face, detected once: a 128² source."""
    return Source.from_photo(hopper_jpg, size=128)


def no_leftovers(folder):
    return [p.name for p in folder.iterdir() if ".tmp" in p.name]


def test_animate_command_writes_a_sweep_video_with_the_right_frames_size_and_provenance(hopper_jpg, tmp_path, capsys):
    out = tmp_path / "talking.mp4"
    code = main(["animate", "--photo", str(hopper_jpg), "--out", str(out), "--frames-limit", "6", "--size", "128"])
    assert code == 0
    frames = list(read_video(out))
    assert len(frames) == 6 and frames[0].shape == (128, 128, 3)
    assert read_metadata(out)["comment"] == PROVENANCE
    printed = capsys.readouterr().out
    assert str(out) in printed and "6 frames of 128×128" in printed and "method warp" in printed
    assert not no_leftovers(tmp_path)


def test_a_photo_without_a_face_fails_with_one_line_naming_the_file(tmp_path, capsys):
    blank = tmp_path / "blank.jpg"
    Image.fromarray(np.full((200, 200, 3), 180, np.uint8)).save(blank)
    out = tmp_path / "out.mp4"
    code = main(["animate", "--photo", str(blank), "--out", str(out), "--frames-limit", "2", "--size", "64"])
    err = capsys.readouterr().err
    assert code != 0 and str(blank) in err and "no face" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 2
    assert not out.exists() and not no_leftovers(tmp_path)


def test_an_existing_output_is_refused_before_any_work_and_left_untouched(hopper_jpg, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(source_module, "detect", lambda *a, **k: pytest.fail("detected before checking the output"))
    out = tmp_path / "taken.mp4"
    out.write_bytes(b"precious")
    code = main(["animate", "--photo", str(hopper_jpg), "--out", str(out)])
    err = capsys.readouterr().err
    assert code != 0 and str(out) in err and "exists" in err and "Traceback" not in err
    assert out.read_bytes() == b"precious"


@pytest.mark.parametrize("bad, match", [(dict(method="nope"), "unknown method"), (dict(size=130), "multiple of 4"),
                                        (dict(frames_limit=1), "at least 2"), (dict(layout="grid"), "layout"),
                                        (dict(drive="missing.mp4"), "no such video")])
def test_bad_arguments_are_refused_before_any_landmarks_are_detected(hopper_jpg, tmp_path, monkeypatch, bad, match):
    monkeypatch.setattr(source_module, "detect", lambda *a, **k: pytest.fail("detected before checking arguments"))
    with pytest.raises(AnimateError, match=match):
        animate(hopper_jpg, out=tmp_path / "x.mp4", **bad)


def test_a_driver_video_with_one_frame_is_refused(hopper, tmp_path):
    one = write_video(tmp_path / "one.mp4", [load_portrait("grace_hopper")[:512]], fps=8)
    with pytest.raises(AnimateError, match="at least 2 frames"):
        animate(hopper, drive=one, out=tmp_path / "x.mp4", size=128)
    assert not (tmp_path / "x.mp4").exists()


def test_unreadable_files_are_refused(tmp_path, capsys):
    fake = tmp_path / "photo.jpg"
    fake.write_text("not a picture")
    code = main(["animate", "--photo", str(fake), "--out", str(tmp_path / "x.mp4")])
    err = capsys.readouterr().err
    assert code != 0 and str(fake) in err and "not a readable image" in err and "Traceback" not in err
    corrupt = tmp_path / "driver.mp4"
    corrupt.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(AnimateError, match="not a readable video"):
        animate(load_portrait("grace_hopper"), drive=corrupt, out=tmp_path / "y.mp4")
    with pytest.raises(AnimateError, match="no such image"):
        animate(tmp_path / "missing.png", out=tmp_path / "z.mp4")


def test_tps_with_the_source_landmarks_returns_the_source_crop(hopper):
    frames = TPSMethod(hopper).render(hopper.landmarks)                      # (1, 128, 128, 3)
    assert frames.shape == (1, 128, 128, 3) and frames.dtype == np.uint8
    assert np.abs(frames[0].astype(int) - hopper.crops[0].astype(int)).max() <= 1


def test_adaptation_moves_another_face_onto_the_source_but_leaves_the_source_driving_itself_alone(hopper, hopper_jpg):
    sweep = Driver.sweep()                                                   # the synthetic mean face
    raw, adapted = drive_landmarks(hopper, sweep, raw=True), drive_landmarks(hopper, sweep)
    assert raw.shape == adapted.shape == (48, 68, 2)
    assert np.abs(raw - adapted).max() > 3, "another face's shape must not reach the source"
    np.testing.assert_allclose(adapted[0], hopper.landmarks[0], atol=1e-3)   # the sweep starts neutral
    itself = Driver.from_images([hopper_jpg, hopper_jpg])                    # the source's own pixels
    raw, adapted = drive_landmarks(hopper, itself, raw=True), drive_landmarks(hopper, itself)
    np.testing.assert_allclose(raw, adapted, atol=1e-3)
    np.testing.assert_allclose(raw[0], hopper.landmarks[0], atol=1e-3)


def test_a_blink_closes_the_eyes_without_folding_the_lids(hopper):
    landmarks = drive_landmarks(hopper, Driver.sweep())
    gaps = openings(landmarks)[:, :4]                                        # (48, 4) eyelid gaps
    assert gaps.min() > 0, "upper lids stay above lower lids"
    assert gaps[40:48].min() < 0.3 * gaps[0].min(), "the sweep's blink closes the eyes"


def test_nearest_reference_ignores_where_the_face_is_and_how_big():
    rng = np.random.default_rng(0)
    references = rng.normal(size=(3, 68, 2)).astype(np.float32)
    moved = references[[2, 0]] * 3.0 + np.float32([40, -7])
    assert nearest_reference(references, moved).tolist() == [2, 0]


def test_a_failure_while_writing_leaves_no_file(hopper, tmp_path, monkeypatch):
    calls = []

    def render(self, landmarks):
        calls.append(len(landmarks))
        if len(calls) == 2:
            raise RuntimeError("the method broke")
        return np.zeros((len(landmarks), 128, 128, 3), np.uint8)

    monkeypatch.setattr(TPSMethod, "render", render)
    with pytest.raises(RuntimeError, match="broke"):
        animate(hopper, out=tmp_path / "broken.gif", method="tps", size=128, frames_limit=6, batch_size=3,
                progress=False)
    assert list(tmp_path.iterdir()) == []


def test_side_by_side_gif_from_a_loaded_source_says_synthetic(hopper, tmp_path):
    out = animate(hopper, out=tmp_path / "sweep.gif", size=128, frames_limit=3, layout="side-by-side",
                  progress=False)
    frames = list(read_video(out))
    assert len(frames) == 3 and frames[0].shape == (128, 3 * 128 + 4, 3)
    assert read_metadata(out)["comment"] == PROVENANCE


def test_the_paper_method_runs_in_smoke_mode_on_two_frames(hopper):
    frames = list(animate_frames(hopper, method="paper", size=128, frames_limit=2, progress=False))
    assert len(frames) == 2 and frames[0].shape == (128, 128, 3) and frames[0].dtype == np.uint8
    assert frames[0].std() > 5, "a drawn face, not a flat image"


def test_no_face_in_any_driving_frame_is_a_clear_error(hopper):
    blank = np.full((96, 96, 3), 120, np.uint8)
    with pytest.raises(NoFaceError, match="any of the 2 frames"):
        list(animate_frames(hopper, drive=[blank, blank], size=128))
