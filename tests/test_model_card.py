"""The measurement commands: `fewshot model-card` (a checkpoint's quality table) and `fewshot identity-leak`."""
import json

import numpy as np
import pytest
import torch

from fewshot_lib.cli import main
from fewshot_lib.evaluate import (METHODS, REGIONS, EvaluationError, adaptation_leak, format_leak, format_model_card,
                                  heldout_videos, make_model_card, mean_colour, nearest_pose_frames, person_mask,
                                  region_scores, tps_nearest_frame)
from fewshot_lib.finetune import Shots
from test_finetune import tiny_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_checkpoint(tmp_path_factory.mktemp("card"))


def test_baselines_without_a_model():
    video = heldout_videos(32, 6, 1)[0]
    shots = Shots.from_video(video, [0, 2, 4])
    target = shots.landmarks[1:2]                                         # exactly shot 1's landmarks
    assert torch.equal(nearest_pose_frames(shots, target), shots.frames[1:2])
    torch.testing.assert_close(tps_nearest_frame(shots, target), shots.frames[1:2], atol=1e-5, rtol=0)
    flat = mean_colour(shots, 2)
    assert flat.shape == (2, 3, 32, 32) and torch.allclose(flat[:, :, 0, 0], shots.frames.mean(dim=(0, 2, 3)))


def test_region_scores_split_the_frame_into_person_and_background():
    video = heldout_videos(32, 2, 1)[0]
    person = person_mask(video, 0)
    assert 0 < person.mean() < 1                                          # some person, some room
    truth = Shots.from_video(video, [0]).frames
    same = region_scores(truth, truth, person)
    assert all(same[f"SSIM {r}"] == pytest.approx(1) and same[f"PSNR {r}"] == pytest.approx(100) for r in REGIONS)
    changed = truth.clone()
    changed[..., torch.from_numpy(~person)] = 0                           # only the background changes
    scores = region_scores(changed, truth, person)
    assert scores["PSNR person"] == pytest.approx(100) and scores["PSNR background"] < 40


def test_model_card_of_a_tiny_checkpoint(checkpoint):
    card = make_model_card(checkpoint, targets=1, k=2, videos=2)
    assert card["videos"] == 2 and card["k"] == 2
    assert list(card["table"]) == [f"{s} / {m}" for s in ("random", "pose-distant") for m in METHODS]
    text = format_model_card(card)
    assert text.splitlines()[0] == "2 held-out videos × 1 targets, K = 2"
    assert len(text.splitlines()) == 3 + 2 * len(METHODS) and "| pose-distant | tps |" in text
    with pytest.raises(EvaluationError, match="k=0"):
        make_model_card(checkpoint, k=0)


def test_validation_people_are_other_held_out_people(checkpoint):
    test, validation = (make_model_card(checkpoint, targets=1, k=2, videos=1, validation=v) for v in (False, True))
    assert (test["people"], validation["people"]) == ("test", "validation")
    assert test["table"]["random / tps"] != validation["table"]["random / tps"]
    assert format_model_card(validation).startswith("1 held-out videos (validation people) × 1 targets")


def test_a_large_k_gets_longer_videos_so_pose_distant_is_not_all_the_others(checkpoint):
    card = make_model_card(checkpoint, targets=1, k=20, videos=1)
    assert card["frames_per_video"] == 40 and card["k"] == 20
    assert card["table"]["random / mean frame"] != card["table"]["pose-distant / mean frame"]


def test_the_warp_rows_draw_from_all_k_references_or_from_the_nearest(checkpoint, tmp_path):
    warp = tiny_checkpoint(tmp_path, model="warp")
    every, one = (make_model_card(checkpoint, targets=1, k=3, videos=1, warp=warp, nearest=n) for n in (3, 1))
    assert every["table"]["random / warp, 3 nearest"] == pytest.approx(every["table"]["random / warp"])  # 3 of 3
    assert one["table"]["random / warp, 1 nearest"] != pytest.approx(one["table"]["random / warp"])
    assert one["nearest"] == 1 and "| pose-distant | warp, 1 nearest |" in format_model_card(one)
    with pytest.raises(EvaluationError, match="nearest=1"):
        make_model_card(checkpoint, targets=1, k=2, videos=1, nearest=1)       # no warping generator to draw


def test_model_card_command_writes_json_and_never_overwrites_by_accident(checkpoint, tmp_path, capsys):
    out = tmp_path / "card.json"
    args = ["model-card", str(checkpoint), "--videos", "1", "--targets", "1", "--k", "2", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    card = json.loads(out.read_text())
    assert "| random | model |" in printed and f"{card['table']['random / model']['SSIM frame']:.3f}" in printed
    out.write_text("keep me")
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"fewshot model-card: {out} already exists; choose another name, or pass --overwrite to replace it"
    assert out.read_text() == "keep me"
    assert main(args + ["--overwrite"]) == 0 and json.loads(out.read_text())["videos"] == 1


@pytest.mark.parametrize("content", [None, b"not a checkpoint"])
def test_model_card_of_a_missing_or_corrupt_checkpoint_fails_in_one_line(tmp_path, capsys, content):
    path = tmp_path / "meta.pt"
    if content is not None:
        path.write_bytes(content)
    assert main(["model-card", str(path), "--videos", "1", "--targets", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"fewshot model-card: {path}: ") and err.count("\n") == 1


def test_identity_leak_command_matches_the_library(tmp_path, capsys):
    out = tmp_path / "leak.json"
    assert main(["identity-leak", "--pairs", "2", "--frames", "6", "--shots", "3", "--size", "32",
                 "--json", str(out)]) == 0
    pairs = adaptation_leak(pairs=2, frames=6, shots=3, size=32)
    assert capsys.readouterr().out == format_leak(pairs, 6, 3, 32) + "\n"
    assert json.loads(out.read_text()) == pairs and set(pairs[0]) == {"raw", "adapted"}
    assert np.isfinite([pair[mode]["shape error"] for pair in pairs for mode in pair]).all()
    with pytest.raises(SystemExit):                          # refused by argparse, before any work
        main(["identity-leak", "--pairs", "0"])
    assert "argument --pairs: must be at least 1; got 0" in capsys.readouterr().err
