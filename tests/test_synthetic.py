"""The built-in synthetic talking heads: determinism, exact landmarks, variety, splits, `fewshot synth`."""
import hashlib
import json
import subprocess
import sys
from dataclasses import replace

import cv2
import numpy as np
import pytest

from fewshot_lib.cli import main
from fewshot_lib.data import Record, VideoDataset
from fewshot_lib.data.synthetic import (HELDOUT_FIRST, VAL_FIRST, Expression, Pose, SyntheticConfig, SyntheticHeads,
                                        render_frame, split_keys, synthetic_split)
from fewshot_lib.data.synthetic.motion import PITCH_LIMIT, ROLL_LIMIT, YAW_LIMIT
from fewshot_lib.data.synthetic.render import part_mask, smooth_curve

HEADS = SyntheticHeads(seed=0)


def frame_hash(seed, identity, video, t, size):
    return hashlib.sha256(SyntheticHeads(seed).video(identity, video, t + 1, size).frame(t).tobytes()).hexdigest()


def test_same_seed_identity_video_frame_gives_the_same_pixels():
    short, long = SyntheticHeads(0).video(3, 1, 12, 64), SyntheticHeads(0).video(3, 1, 40, 64, cache=True)
    for t in (11, 0, 7):            # any order, any video length, cached or not
        assert np.array_equal(short.frame(t), long.frame(t))
        assert np.array_equal(long.frame(t), long.frame(t))
    np.testing.assert_array_equal(short.landmarks, long.landmarks[:12])
    np.testing.assert_array_equal(short.poses, long.poses[:12])


def test_a_fresh_process_renders_the_same_pixels():
    code = ("from fewshot_lib.data.synthetic import SyntheticHeads; import hashlib; "
            "print(hashlib.sha256(SyntheticHeads(5).video(2, 0, 4, 64).frame(3).tobytes()).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "123", "OMP_NUM_THREADS": "2", "PATH": ""})
    assert out.stdout.strip() == frame_hash(5, 2, 0, 3, 64)


def test_seed_identity_video_and_frame_each_change_the_pixels():
    base = frame_hash(0, 1, 0, 5, 64)
    others = [frame_hash(1, 1, 0, 5, 64), frame_hash(0, 2, 0, 5, 64), frame_hash(0, 1, 1, 5, 64),
              frame_hash(0, 1, 0, 6, 64)]
    assert len({base, *others}) == 5


def test_one_geometry_at_every_resolution():
    small, large = HEADS.video(4, 0, 6, 64), HEADS.video(4, 0, 6, 256)
    # Pixel centres at integers: p -> (p + 0.5) * scale - 0.5 (the landmark sketch's convention).
    np.testing.assert_allclose((small.landmarks + 0.5) * 4 - 0.5, large.landmarks, atol=1e-3)
    shrunk = cv2.resize(large.frame(3), (64, 64), interpolation=cv2.INTER_AREA).astype(int)
    assert np.abs(shrunk - small.frame(3).astype(int)).mean() < 8     # the same picture, finer detail


def test_video_landmarks_are_the_rendered_frames_landmarks():
    video = HEADS.video(6, 2, 10, 64)
    for t in (0, 9):
        pose, expression, shift = video.state(t)
        image, landmarks = render_frame(video.identity, pose, expression, video.scene, 64, shift=shift)
        assert np.array_equal(image, video.frame(t))
        np.testing.assert_array_equal(landmarks, video.landmarks[t])
    assert video.landmarks.dtype == np.float32 and video.landmarks.shape == (10, 68, 2)


def _pixel(image, point):
    """The pixel of ``image`` under a point (x, y), clipped to the image."""
    x, y = np.clip(np.round(point).astype(int), 0, np.array(image.shape[1::-1]) - 1)
    return image[y, x]


def _distance_to(mask):
    """Distance (pixels) from every pixel to the nearest pixel of ``mask``."""
    return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5)


def _outside(mask, polygons):
    """How far (pixels) the farthest pixel of ``mask`` lies outside the filled polygons."""
    region = np.zeros(mask.shape, np.uint8)
    for polygon in polygons:
        cv2.fillPoly(region, [np.round(polygon * 16).astype(np.int32)], 255, cv2.LINE_8, 4)
    return float(_distance_to(region > 0)[mask].max()) if mask.any() else 0.0


def _outwards(points, j):
    """The unit normal of the jaw contour at point ``j``, pointing away from the nose tip."""
    tangent = points[j + 1] - points[j - 1]
    normal = np.array([tangent[1], -tangent[0]]) / np.linalg.norm(tangent)
    return normal if np.dot(normal, points[j] - points[30]) > 0 else -normal


@pytest.mark.parametrize("size", [64, 128])
def test_every_part_lies_under_its_landmarks(size):
    """Leave a part out of the frame: the pixels that change are the part. Its landmarks must lie
    on it (within 1.5 px), the open eyes' and the lips' insides must be it, and it must not spill
    beyond its contour by more than its anti-aliased edge (and the eyes' lashes and creases)."""
    groups = {"eyes": range(36, 48), "mouth": range(48, 68), "brows": range(17, 27), "nose": range(31, 36),
              ("skin", "facial hair"): range(4, 13)}                       # the face's outline: the lower jaw
    for identity in range(10 if size == 64 else 4):
        video = HEADS.video(identity, 0, 24, size)
        for t in (0, 13, 23):
            pose, expression, shift = video.state(t)
            points, unit = video.landmarks[t], video.scene.scale * size
            where = f"identity {identity} frame {t}"

            def shown(parts, min_change):
                return part_mask(video.identity, pose, expression, video.scene, size, parts, shift, min_change)

            visible = {parts: shown(parts, min_change=2) for parts in groups}       # any visible change
            for parts, indices in groups.items():
                distance = _distance_to(visible[parts])
                for j in indices:
                    assert _pixel(distance, points[j]) <= 1.5, f"{where}: point {j} is not on the {parts}"
            if expression.blink < 0.5:
                assert all(_pixel(visible["eyes"], points[i:i + 6].mean(0)) for i in (36, 42)), f"{where}: eyes"
            assert all(_pixel(visible["mouth"], (points[a] + points[b]) / 2) for a, b in ((51, 62), (57, 66))), where
            eyes, mouth, face = (shown(parts, min_change=16) for parts in ("eyes", "mouth", ("skin", "facial hair")))
            eye_outlines = [smooth_curve(points[36:42], True), smooth_curve(points[42:48], True)]
            assert _outside(eyes, eye_outlines) <= 0.16 * unit + 1.5, f"{where}: eyes drawn off their points"
            assert _outside(mouth, [smooth_curve(points[48:60], True)]) <= 3, f"{where}: mouth drawn off its points"
            for j in range(4, 13):
                assert not _pixel(face, points[j] + 2.5 * _outwards(points, j)), f"{where}: face beyond jaw point {j}"


def test_poses_and_expressions_vary_within_limits():
    videos = [HEADS.video(i, v, 1, 64) for i in range(12) for v in range(2)]
    states = [video.motion.at(t / video.fps) for video in videos for t in range(64)]
    poses = np.array([s[0].as_array() for s in states])
    assert np.all(np.abs(poses) <= [YAW_LIMIT, PITCH_LIMIT, ROLL_LIMIT])
    assert np.ptp(poses[:, 0]) > 50 and np.ptp(poses[:, 1]) > 15 and np.ptp(poses[:, 2]) > 15
    mouth = np.array([s[1].mouth_open for s in states])
    blinks = np.array([s[1].blink for s in states])
    assert 0.2 < np.mean(mouth > 0.3) < 0.8, "talking: the mouth is open in some frames, closed in others"
    assert 0.01 < np.mean(blinks > 0.5) < 0.2, "blinks are short and occasional"
    assert np.ptp([s[1].smile for s in states]) > 0.5 and np.ptp([s[1].brow_raise for s in states]) > 0.5


def skin_chromaticity(frame, points):
    """A simple appearance statistic: the median (r, g) chromaticity, ``rgb / (r + g + b)``, inside
    the face's outline (jaw + brows). Shading scales all three channels, so it cancels out."""
    mask = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(np.concatenate([points[0:17], points[26:16:-1]])).astype(np.int32)], 1)
    pixels = frame[mask > 0].astype(np.float64)
    return np.median(pixels / (pixels.sum(axis=1, keepdims=True) + 1), axis=0)[:2]


def test_identity_is_stable_within_and_distinct_across_people():
    stats = np.array([[skin_chromaticity(video.frame(t), video.landmarks[t]) for video in
                       (HEADS.video(i, v, 24, 64) for v in range(2)) for t in (0, 8, 16, 23)] for i in range(10)])
    within = stats.std(axis=1).mean()                 # (10 people, 8 frames of 2 videos, 2): over a person's frames
    across = stats.mean(axis=1).std(axis=0).mean()    # over the people's means
    assert across > 20 * within, (within, across)


def test_splits_are_fixed_and_disjoint():
    small, big = SyntheticConfig(identities=3, videos=2, heldout_identities=2), SyntheticConfig(identities=5, videos=3)
    keys = {split: set(split_keys(split, small)) for split in ("train", "val", "heldout")}
    assert len(keys["train"]) == 6 and len(keys["val"]) == 3 and len(keys["heldout"]) == 4
    assert not (keys["train"] & keys["val"]) and not (keys["train"] & keys["heldout"])
    assert {i for i, _ in keys["val"]} <= {i for i, _ in keys["train"]}, "val: new videos of training people"
    assert all(i >= HELDOUT_FIRST for i, _ in keys["heldout"]) and all(v >= VAL_FIRST for _, v in keys["val"])
    for split in ("train", "val", "heldout"):          # a bigger dataset keeps the smaller one's videos
        assert keys[split] <= set(split_keys(split, big)) or split == "heldout"
        assert all(i < HELDOUT_FIRST for i, _ in split_keys(split, big)) == (split != "heldout")
    videos = synthetic_split("heldout", replace(small, frames=3))
    assert [(v.identity.index, v.video, v.meta["split"]) for v in videos][:1] == [(HELDOUT_FIRST, 0, "heldout")]
    with pytest.raises(ValueError, match="unknown split"):
        split_keys("test", small)


def test_bad_requests_raise_clear_errors():
    video = HEADS.video(0, 0, 5, 32)
    with pytest.raises(IndexError, match="out of range"):
        video.frame(5)
    with pytest.raises(ValueError, match="numbered from 0"):
        HEADS.identity(-1)
    with pytest.raises(ValueError, match="num_frames"):
        HEADS.video(0, 0, 0, 64)
    with pytest.raises(ValueError, match="unknown part"):
        part_mask(video.identity, Pose(), Expression(), video.scene, 32, "ears and nose")


def test_smooth_curve_passes_through_its_points():
    points = np.random.default_rng(0).normal(size=(7, 2))
    for closed in (True, False):
        np.testing.assert_allclose(smooth_curve(points, closed, steps=4)[::4][:7], points, atol=1e-12)


def test_synth_command_writes_records_the_dataset_reads(tmp_path, capsys):
    out = tmp_path / "synth"
    assert main(["synth", "--out", str(out), "--identities", "2", "--videos", "1", "--frames", "5", "--size", "32",
                 "--heldout-identities", "1", "--seed", "3"]) == 0
    assert "train: 2 records" in capsys.readouterr().out.replace("   ", " ").replace("  ", " ")
    paths = sorted((out / "train").glob("*.npz"))
    assert [len(list((out / split).glob("*.npz"))) for split in ("train", "val", "heldout")] == [2, 2, 1]
    record, video = Record(paths[1]), SyntheticHeads(3).video(1, 0, 5, 32)
    assert np.array_equal(record.frames(), video.frames())          # PNG is lossless
    np.testing.assert_array_equal(record.landmarks, video.landmarks)
    meta = record.meta
    assert (meta["identity"], meta["video"], meta["split"], meta["seed"]) == (1, 0, "train", 3)
    assert meta["generator"]["fps"] == 8.0 and meta["generator"]["version"] >= 1
    np.testing.assert_allclose(meta["poses"], video.poses, atol=1e-3)
    assert json.loads((out / "synthetic.json").read_text())["splits"] == {"train": 2, "val": 2, "heldout": 1}
    assert len(VideoDataset(out / "train", k=3)) == 2
    with pytest.raises(SystemExit) as refused:              # argparse: "argument --frames: must be at least 1"
        main(["synth", "--out", str(out), "--frames", "0"])
    assert refused.value.code == 2
    assert main(["synth", "--out", str(out), "--identities", "1", "--videos", "1", "--frames", "5", "--size", "32",
                 "--heldout-identities", "0", "--val-videos", "0"]) == 1, "a dataset in --out is kept unless --overwrite"
    assert len(list((out / "train").glob("*.npz"))) == 2
