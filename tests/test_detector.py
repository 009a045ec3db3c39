"""The fake-frame detector: ROC/AUC by hand, training on a tiny split, and `fewshot detect`'s refusals."""
import numpy as np
import pytest
import torch
from PIL import Image

from fewshot_lib.cli import main
from fewshot_lib.detector import (SHIPPED, DetectorConfig, FakeDetector, FramesConfig,
                                  PERTURBATIONS, augment, build_frames, generator_aucs, load_detector, make_fakes,
                                  clips, roc_auc, roc_curve, train_detector)
from fewshot_lib.video import write_video


def rank_auc(scores, labels):
    """P(a random positive scores above a random negative), ties counting ½: every pair compared."""
    scores, labels = np.asarray(scores, float), np.asarray(labels)
    pos, neg = scores[labels == 1], scores[labels == 0]
    return ((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()) / (len(pos) * len(neg))


@pytest.mark.parametrize("scores, labels, expected", [
    ([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0], 1.0),            # perfect
    ([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0], 0.0),            # perfectly wrong
    ([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0], 0.5),            # all tied: a coin
    ([0.9, 0.7, 0.7, 0.3], [1, 0, 1, 0], 0.875),          # one tie across the classes
])
def test_auc_by_hand_on_known_cases(scores, labels, expected):
    assert roc_auc(scores, labels) == pytest.approx(expected)
    assert rank_auc(scores, labels) == pytest.approx(expected)


def test_auc_by_hand_agrees_with_the_rank_based_count_on_random_scores_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        labels = rng.integers(0, 2, 60)
        labels[:2] = (0, 1)
        scores = rng.integers(0, 8, 60) / 8 + 0.1 * labels          # few distinct values: many ties
        assert roc_auc(scores, labels) == pytest.approx(rank_auc(scores, labels))
        fpr, tpr, thresholds = roc_curve(scores, labels)
        assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
        assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0) and np.all(np.diff(thresholds) < 0)


def test_roc_needs_both_classes():
    with pytest.raises(ValueError, match="both classes"):
        roc_curve([0.1, 0.2], [1, 1])


def test_augmentation_and_round_trips_keep_shapes_and_ranges():
    x = torch.rand(5, 3, 64, 64) * 2 - 1
    y = augment(x, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1 and not torch.equal(x, y)
    frames = np.random.default_rng(0).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    for name, change in PERTURBATIONS.items():
        out = change(frames)
        assert out.shape == frames.shape and out.dtype == np.uint8, name


def test_fakes_are_uint8_frames_of_the_targets_size():
    clip = clips("heldout", FramesConfig(people=1, heldout_people=1, targets=2, references=2, photo_crops=0))[0]
    fakes = make_fakes("tps", clip)
    assert fakes.shape == clip.targets.shape == (2, 64, 64, 3) and fakes.dtype == np.uint8


def test_the_detector_trains_on_a_tiny_split_and_beats_chance_on_held_out_people():
    cfg = FramesConfig(people=12, heldout_people=5, targets=8, references=2, photo_crops=8)
    train = build_frames("train", cfg, generators=("paper",))
    test = build_frames("heldout", cfg, generators=("paper",))
    detector = train_detector(*train.labelled(), DetectorConfig(epochs=10), log=None)
    assert generator_aucs(detector, test)["paper"] > 0.75


@pytest.fixture(scope="module")
def detector_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("detector") / "detector.safetensors"
    torch.manual_seed(0)
    return FakeDetector().save(path, {"note": "untrained, for the command-line tests"})


def test_detect_scores_images_and_videos(detector_file, tmp_path, capsys):
    frames = np.random.default_rng(0).integers(0, 256, (4, 48, 80, 3), dtype=np.uint8)
    Image.fromarray(frames[0]).save(tmp_path / "a.png")
    write_video(tmp_path / "b.mp4", frames)
    assert main(["detect", str(tmp_path / "a.png"), str(tmp_path / "b.mp4"), "--detector", str(detector_file)]) == 0
    out = capsys.readouterr().out
    assert "a.png: p(fake) = " in out and "(1 frame)" in out and "(4 frames)" in out and "Limits:" in out


@pytest.mark.parametrize("name, content", [("broken.png", b"not a png"), ("broken.mp4", b"\x00" * 100),
                                           ("notes.txt", b"hello"), ("missing.jpg", None)])
def test_detect_on_a_bad_file_says_so_in_one_line(detector_file, tmp_path, capsys, name, content):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    assert main(["detect", str(path), "--detector", str(detector_file)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"fewshot detect: {path}") and len(err.splitlines()) == 1


def test_a_damaged_detector_file_is_refused_in_one_line(tmp_path, capsys):
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "a.png")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"garbage")
    assert main(["detect", str(tmp_path / "a.png"), "--detector", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert str(bad) in err and "detector-train" in err and len(err.splitlines()) == 1


def test_the_shipped_detector_loads_and_knows_how_it_was_measured():
    detector, info = load_detector(SHIPPED)
    assert isinstance(detector, FakeDetector) and SHIPPED.stat().st_size < 1_000_000
    assert set(info["heldout_auc"]["clean"]) == {"paper", "tps", "warp"}


def test_detector_train_refuses_an_existing_output_before_any_work(tmp_path, capsys):
    out = tmp_path / "d.safetensors"
    out.write_bytes(b"keep me")
    assert main(["detector-train", "--out", str(out)]) == 1
    assert "already exists" in capsys.readouterr().err and out.read_bytes() == b"keep me"
