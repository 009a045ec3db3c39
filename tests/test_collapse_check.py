"""fewshot_lib.checks.check_not_collapsed (notebook 06): it rejects what a collapsed meta-learning run draws
(one flat colour, the same frame for everyone, a generator blind to ê) and accepts frames that vary as real ones do."""
import pytest
import torch
import torch.nn.functional as F

from fewshot_lib.checks import CheckFailed, check_not_collapsed


def people(P: int = 6, S: int = 16, seed: int = 0) -> torch.Tensor:
    """P smooth, different 'frames' (P, 3, S, S) in [-1, 1]."""
    rng = torch.Generator().manual_seed(seed)
    return F.interpolate(torch.rand(P, 3, 4, 4, generator=rng) * 2 - 1, size=S, mode="bilinear")


def test_accepts_frames_that_vary_like_real_ones(capsys):
    real = people()
    generated = 0.7 * real + 0.1 * people(seed=1)                  # blurred-looking, but each person's own
    swapped = 0.7 * real.roll(1, dims=0) + 0.1 * people(seed=1)    # another person's ê: another look
    ratios = check_not_collapsed(generated, real, swapped)
    assert set(ratios) == {"within a frame", "across people", "ê matters"}
    assert min(ratios.values()) > 0.5
    printed = capsys.readouterr().out
    assert "all 3 properties hold" in printed and "✗" not in printed


def test_rejects_one_flat_colour():
    real = people()
    flat = torch.full_like(real, 0.2)                               # the grey-brown square of a collapsed run
    with pytest.raises(CheckFailed, match=r"(?s)3 of 3 properties failed:.*not flat.*same frame.*blind"):
        check_not_collapsed(flat, real, flat)


def test_rejects_the_same_textured_frame_for_everyone(capsys):
    real = people()
    same = real[:1].expand_as(real).clone()                          # not flat, but identical for all people
    with pytest.raises(CheckFailed, match=r"1 of 2 properties failed:\n  ✗ not the same frame for everyone"):
        check_not_collapsed(same, real)
    assert "  ✓ not flat" in capsys.readouterr().out


def test_rejects_a_generator_blind_to_the_embedding():
    real = people()
    from_sketch_only = 0.8 * real                                    # varies, but ê changes nothing
    with pytest.raises(CheckFailed, match=r"1 of 3 properties failed:\n  ✗ not blind to the person"):
        check_not_collapsed(from_sketch_only, real, swapped=from_sketch_only.clone())


def test_rejects_non_finite_frames():
    real = people()
    with pytest.raises(CheckFailed):
        check_not_collapsed(torch.full_like(real, float("nan")), real)


def test_min_ratio_sets_how_much_spread_is_enough():
    real = people()
    faint = 0.1 * real                                               # a tenth of the real spreads
    assert check_not_collapsed(faint, real, min_ratio=0.05)["across people"] == pytest.approx(0.1, rel=1e-4)
    with pytest.raises(CheckFailed):
        check_not_collapsed(faint, real, min_ratio=0.2)


def test_wrong_shapes_say_what_is_expected():
    real = people()
    with pytest.raises(ValueError, match=r"\(P, 3, S, S\) with P ≥ 2"):
        check_not_collapsed(real[:1], real[:1])
    with pytest.raises(ValueError, match="one shape"):
        check_not_collapsed(real, real[:, :, :8])
    with pytest.raises(ValueError, match="swapped must have the shape"):
        check_not_collapsed(real, real, swapped=real[:3])
