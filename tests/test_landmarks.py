"""Landmark detection (dlib offline, face-alignment's adapter with stand-in weights), smoothing, crops.

The reference coordinates in ``tests/reference/landmarks_dlib.json`` were made once with

    .venv/bin/python tests/test_landmarks.py --write-reference
"""
import dataclasses
import json
import sys
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fewshot_lib.landmarks import (PORTRAITS, BackendUnavailableError, Face, NoFaceError, crop_face, detect,
                                   detect_all, detect_video, face_box, face_boxes, follow_face, get_backend,
                                   load_image, load_portrait, smooth_track)
from fewshot_lib.landmarks import backends

REFERENCE = Path(__file__).parent / "reference" / "landmarks_dlib.json"
TOLERANCE = 1.0   # pixels; dlib is deterministic, so this only absorbs platform rounding


@pytest.fixture(scope="module")
def faces():
    """{portrait: (image, Face)} from the dlib backend, computed once (~0.2 s per photo)."""
    return {name: (load_portrait(name), detect_all(load_portrait(name), "dlib")[0]) for name in PORTRAITS}


@pytest.mark.parametrize("name", PORTRAITS)
def test_portrait_landmarks_are_a_plausible_face(faces, name):
    image, face = faces[name]
    points = face.landmarks
    assert points.dtype == np.float32 and points.shape == (68, 2)
    left, top, right, bottom = face.box
    pad = 0.2 * (right - left)          # dlib's HOG box is tight: the chin reaches ~15% below it
    assert np.all((points[:, 0] >= left - pad) & (points[:, 0] <= right + pad))
    assert np.all((points[:, 1] >= top - pad) & (points[:, 1] <= bottom + pad))
    eyes, nose_tip, mouth = points[36:48, 1].mean(), points[30, 1], points[48:68, 1].mean()
    assert eyes < nose_tip < mouth
    assert points[36:42, 0].mean() < points[42:48, 0].mean()   # the subject's right eye is on the image's left


@pytest.mark.parametrize("name", PORTRAITS)
def test_portrait_landmarks_match_the_reference(faces, name):
    reference = np.array(json.loads(REFERENCE.read_text())["landmarks"][name], dtype=np.float32)
    np.testing.assert_allclose(faces[name][1].landmarks, reference, atol=TOLERANCE)


def test_detect_returns_the_most_prominent_face_and_accepts_every_image_form(faces, tmp_path):
    image, face = faces["grace_hopper"]
    np.testing.assert_array_equal(detect(image, "dlib"), face.landmarks)
    path = tmp_path / "portrait.png"
    Image.fromarray(image).save(path)
    rgba = np.concatenate([image, np.full(image.shape[:2] + (1,), 255, np.uint8)], axis=2)
    for same in (path, str(path), Image.fromarray(image), rgba):
        np.testing.assert_array_equal(detect(same, "dlib"), face.landmarks)
    gray = np.asarray(Image.fromarray(image).convert("L"))           # (H, W)
    assert np.abs(detect(gray, "dlib") - face.landmarks).max() < 8      # dlib makes its own gray: close, not equal


def test_dlib_cnn_detector_agrees_with_hog(faces):
    region = faces["astronaut"][0][60:220, 140:300]                   # (160, 160, 3) around the face
    cnn = detect_all(region, backends.DlibBackend("cnn", upsample=0))  # upsample 0: ~0.2 s at this size
    assert len(cnn) == 1 and cnn[0].landmarks.shape == (68, 2)
    assert np.abs(cnn[0].landmarks - detect(region, "dlib")).max() < 4


def test_no_face_raises_the_dedicated_error_naming_the_image(tmp_path):
    path = tmp_path / "wall.png"
    Image.fromarray(np.full((96, 128, 3), 90, np.uint8)).save(path)
    with pytest.raises(NoFaceError, match="wall.png"):
        detect(path, "dlib")
    assert detect_all(path, "dlib") == []


@pytest.mark.parametrize("image, error, words", [
    (np.zeros((0, 0, 3), np.uint8), ValueError, "too small"),
    (np.zeros((1, 1, 3), np.uint8), ValueError, "too small"),
    (np.zeros((64, 64, 3), np.float32), TypeError, "uint8"),
    (np.zeros((64, 64, 5), np.uint8), ValueError, "HxWx3"),
    (np.zeros(64, np.uint8), ValueError, "HxWx3"),
    ([[1, 2], [3, 4]], TypeError, "numpy HxWx3 uint8 array"),
    ("no/such/photo.jpg", FileNotFoundError, "no such image file"),
])
def test_bad_images_are_refused_clearly(image, error, words):
    with pytest.raises(error, match=words):
        load_image(image)


def test_a_file_that_is_not_an_image_is_refused(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("not a picture")
    with pytest.raises(ValueError, match="not a readable image"):
        load_image(path)


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="choose one of"):
        get_backend("opencv")


def test_detect_video_follows_the_face_and_reports_missing_frames(faces):
    image, face = faces["astronaut"]
    region = image[40:296, 64:320]                                       # (256, 256, 3) around the face
    blank = np.full_like(region, 90)
    frames = [region, np.roll(region, 4, axis=1), blank, np.roll(region, 8, axis=1), region]
    track = detect_video(iter(frames), "dlib")
    assert track.frame_indices.tolist() == [0, 1, 3, 4] and track.missing == [2] and track.num_frames == 5
    shift = track.landmarks[[1, 2]].mean(axis=1)[:, 0] - track.landmarks[0].mean(axis=0)[0]   # x shift of frames 1, 3
    np.testing.assert_allclose(shift, [4, 8], atol=1.0)
    assert detect_video(iter(frames), "dlib", limit=2).frame_indices.tolist() == [0, 1]
    smoothed = detect_video(iter(frames), "dlib", smooth=1.0)
    np.testing.assert_allclose(smoothed.landmarks, smooth_track(track.landmarks, track.frame_indices, 1.0), atol=1e-4)


def test_follow_face_keeps_the_overlapping_face():
    points = np.zeros((68, 2), np.float32)
    big, small = Face(points, (0, 0, 100, 100), 1.0), Face(points, (200, 0, 260, 60), 1.0)
    assert follow_face([small, big], None) is big                     # most prominent first
    assert follow_face([big, small], Face(points, (190, 5, 250, 65), 1.0)) is small
    assert follow_face([], big) is None


def test_smooth_track_keeps_lines_and_handles_gaps():
    times = np.array([0, 1, 2, 5, 6, 7, 8])
    line = np.stack([times * 2.0, -times], axis=1)                     # (T, 2), linear in time
    np.testing.assert_allclose(smooth_track(line, times, sigma=0), line)
    smoothed = smooth_track(line, times, sigma=0.5)                   # window: 3 sigma = 1.5 frames
    np.testing.assert_allclose(smoothed[[1, 5]], line[[1, 5]], atol=1e-4)   # symmetric windows keep a line
    noise = np.random.default_rng(0).normal(size=(200, 3))
    assert smooth_track(noise, sigma=3).std() < 0.5 * noise.std()
    with pytest.raises(ValueError, match="increasing"):
        smooth_track(line, times[::-1])


def test_crop_moves_the_landmarks_with_the_pixels(faces):
    image, face = faces["grace_hopper"]
    x, y = face.landmarks[30].astype(int)                            # the nose tip (dlib: whole pixels)
    marked = image.copy()
    marked[y - 2:y + 3, x - 2:x + 3] = (0, 255, 0)                   # a 5x5 mark centred on it
    for size in (64, 256):
        crop, points = crop_face(image, face.landmarks, size=size)
        assert crop.shape == (size, size, 3) and crop.dtype == np.uint8 and points.dtype == np.float32
        mark = np.abs(crop_face(marked, face.landmarks, size=size)[0].astype(float) - crop).sum(axis=2)   # (S, S)
        ys, xs = np.mgrid[:size, :size]
        centre = np.array([(mark * xs).sum(), (mark * ys).sum()]) / mark.sum()
        np.testing.assert_allclose(centre, points[30], atol=0.5)
    box = face_box(face.landmarks)
    low, high = face.landmarks.min(0), face.landmarks.max(0)
    assert box.left < low[0] and box.top < low[1] and box.left + box.side > high[0] and box.top + box.side > high[1]


def test_crop_outside_the_image_is_black():
    image = np.full((100, 100, 3), 200, np.uint8)
    points = np.random.default_rng(0).uniform(60, 99, (68, 2))       # a "face" in the bottom-right corner
    crop, _ = crop_face(image, points, size=64)
    assert crop[-1, -1].max() == 0 and crop[0, 0].min() == 200


def test_video_boxes_are_smoothed():
    rng = np.random.default_rng(0)
    base = rng.uniform(100, 200, (68, 2))
    jitter = base + rng.normal(0, 3, (60, 1, 2))                      # (T, 68, 2): the whole face shakes
    raw = np.array([b.as_list() for b in face_boxes(jitter, sigma=0)], float)
    smooth = np.array([b.as_list() for b in face_boxes(jitter, sigma=5)], float)
    assert np.abs(np.diff(smooth, axis=0)).mean() < 0.3 * np.abs(np.diff(raw, axis=0)).mean()


# --- face-alignment, without downloads -------------------------------------------------------------

@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch hub folder; any download attempt fails the test; backend caches cleared."""
    import face_alignment.utils
    import torch.hub

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)

    def no_download(url, *args, **kwargs):
        raise urllib.error.URLError(f"test: no network for {url}")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    monkeypatch.setattr(face_alignment.utils, "download_url_to_file", no_download)
    get_backend.cache_clear()
    yield tmp_path / "hub" / "checkpoints"
    get_backend.cache_clear()


def _offline(monkeypatch, offline: bool):
    monkeypatch.setattr(backends, "CONFIG", dataclasses.replace(backends.CONFIG, offline=offline))


@pytest.mark.parametrize("offline, why", [(True, "FEWSHOT_OFFLINE=1"), (False, "download failed")])
def test_face_alignment_without_weights_says_what_to_do(hub, monkeypatch, offline, why):
    _offline(monkeypatch, offline)
    with pytest.raises(BackendUnavailableError) as error:
        backends.FaceAlignmentBackend(device="cpu")
    message = str(error.value)
    for needed in (why, "s3fd-619a316812.pth", "2DFAN4-11f355bf06.pth.tar", str(hub), "backend='dlib'"):
        assert needed in message


def test_auto_falls_back_to_dlib_and_says_so(hub, monkeypatch, capsys):
    _offline(monkeypatch, True)
    assert get_backend("auto").name == "dlib"
    assert "chose dlib" in capsys.readouterr().err


def test_face_alignment_adapter_with_stand_in_weights(hub, monkeypatch, capsys):
    """Randomly initialised S3FD and FAN saved where face-alignment looks: loads, no download, right shapes."""
    import face_alignment.utils
    import torch
    from face_alignment.detection.sfd.net_s3fd import s3fd
    from face_alignment.models import FAN

    for jitted in ("_get_preds_fromhm", "transform_np"):   # skip numba's one-off compilation (~18 s here)
        monkeypatch.setattr(face_alignment.utils, jitted, getattr(face_alignment.utils, jitted).py_func)
    hub.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(s3fd().state_dict(), hub / "s3fd-619a316812.pth")
    torch.save(FAN(4).state_dict(), hub / "2DFAN4-11f355bf06.pth.tar")
    _offline(monkeypatch, True)                                      # cached weights need no network

    backend = get_backend("auto")
    assert backend.name == "face_alignment" and "chose face_alignment" in capsys.readouterr().err
    box = (64.0, 48.0, 192.0, 176.0)
    monkeypatch.setattr(backend.model.face_detector, "detect_from_image",
                        lambda image: [np.array([*box, 0.9])])   # a stand-in S3FD detection (float64, like S3FD's)
    image = np.random.default_rng(0).integers(0, 256, (224, 256, 3), dtype=np.uint8)
    (face,) = detect_all(image, backend)
    assert face.landmarks.dtype == np.float32 and face.landmarks.shape == (68, 2)
    assert face.box == box and face.score == pytest.approx(0.9)
    # FAN looks at a square crop around the box, about 1.6x its size: every point lies in it
    centre, half = np.array([128.0, 112.0]), 0.8 * 1.6 * 128
    assert np.all(np.abs(face.landmarks - centre) <= half)


def _write_reference() -> None:
    import dlib

    landmarks = {name: detect(load_portrait(name), "dlib").tolist() for name in PORTRAITS}
    REFERENCE.parent.mkdir(exist_ok=True)
    header = {"command": ".venv/bin/python tests/test_landmarks.py --write-reference",
              "backend": "dlib (HOG, upsample 1, shape_predictor_68_face_landmarks.dat)",
              "dlib_version": dlib.__version__}
    rows = {name: ",\n   ".join(json.dumps(point) for point in points) for name, points in landmarks.items()}
    body = ",\n  ".join(f'"{name}": [\n   {text}\n  ]' for name, text in rows.items())   # one point per line
    REFERENCE.write_text(json.dumps(header, indent=1)[:-2] + ',\n "landmarks": {\n  ' + body + "\n }\n}\n")
    print(f"wrote {REFERENCE}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write-reference"]:
        sys.exit(f"usage: python {sys.argv[0]} --write-reference")
    _write_reference()
