"""Evaluation: metrics against references, the protocol's splits and table, quality-bar probes, the CLI."""
import json
import sys
import types
from dataclasses import replace

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from fewshot_lib.cli import main
from fewshot_lib.evaluate import metrics
from fewshot_lib.evaluate import (BASELINES, EvalConfig, EvaluationError, IdentityNetwork, csim, format_table,
                                  frechet_distance, heldout_videos, identity_swap, optional_metrics, plot_summary,
                                  psnr, quality_bar, reference_frames, reference_settings, self_reenactment,
                                  shape_error, split_frames, ssim, ssim_map, summarize)
from fewshot_lib.finetune import FinetuneConfig
from fewshot_lib.landmarks import crop_face, detect, load_portrait
from fewshot_lib.models import Discriminator, Embedder, Generator, get_preset
from test_finetune import tiny_checkpoint

TINY = get_preset("tiny")


def networks():
    torch.manual_seed(0)
    return Embedder(TINY).eval(), Generator(TINY).eval(), Discriminator(TINY, 2).eval()


def test_ssim_matches_scikit_image():
    rng = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 32, 32, generator=rng) * 2 - 1
    y = (x + 0.3 * torch.randn(2, 3, 32, 32, generator=rng)).clamp(-1, 1)
    ours = ssim(y, x)
    for b in range(2):
        a, c = ((x[b] + 1) / 2).permute(1, 2, 0).numpy(), ((y[b] + 1) / 2).permute(1, 2, 0).numpy()
        reference = structural_similarity(a, c, channel_axis=2, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                          use_sample_covariance=False)
        assert ours[b].item() == pytest.approx(reference, abs=1e-5)
    assert torch.allclose(ssim(x, x), torch.ones(2))


def test_ssim_map_is_local():
    """The map has one value per valid 11 × 11 window; a change in one corner lowers only the windows that see it."""
    rng = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 32, 32, generator=rng) * 2 - 1
    y = x.clone()
    y[..., :8, :8] = -x[..., :8, :8]                                     # corrupt the top-left 8 × 8 pixels
    local = ssim_map(y, x)
    assert local.shape == (1, 22, 22)
    assert local[0, :4, :4].max() < 0.9                                  # windows centred on the corruption
    assert (local[0, 8:, :] == 1).all() and (local[0, :, 8:] == 1).all()  # windows that do not see it
    assert ssim(y, x).item() == pytest.approx(local.mean().item(), abs=1e-6)


def test_psnr_of_a_known_error():
    x = torch.zeros(1, 3, 8, 8)
    assert psnr(x + 0.2, x).item() == pytest.approx(20.0, abs=1e-4)     # error 0.1 on [0, 1]: MSE 0.01 → 20 dB


def test_frechet_distance_of_known_gaussians():
    mu, sigma = np.zeros(2), np.diag([1.0, 4.0])
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0, abs=1e-8)
    # ‖μ₁−μ₂‖² + Σ_i (σ₁ᵢ + σ₂ᵢ − 2√(σ₁ᵢσ₂ᵢ)) for diagonal covariances
    assert frechet_distance(mu, sigma, np.array([3.0, 0]), np.diag([4.0, 1.0])) == pytest.approx(9 + 1 + 1)


def test_optional_metrics_say_why_they_are_skipped():
    available, skipped = optional_metrics()            # tests run with FEWSHOT_OFFLINE=1
    assert not available and set(skipped) == {"FID", "LPIPS"}
    assert all("FEWSHOT_OFFLINE" in reason for reason in skipped.values())


def test_fid_and_lpips_are_reported_when_their_networks_load(monkeypatch):
    """Stand-ins for the `lpips` and `pytorch-fid` packages (no weights offline) check the wiring."""
    class LPIPS(torch.nn.Module):
        def __init__(self, net, verbose):
            super().__init__()

        def forward(self, x, y):                                         # (B, 1, 1, 1), like lpips
            return (x - y).abs().mean(dim=(1, 2, 3), keepdim=True)

    class InceptionV3(torch.nn.Module):
        BLOCK_INDEX_BY_DIM = {2048: 3}

        def __init__(self, blocks):
            super().__init__()

        def forward(self, x):                                            # [(B, C, 1, 1)], like pool3
            return [torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], dim=1)[:, :, None, None]]

    monkeypatch.setitem(sys.modules, "lpips", types.SimpleNamespace(LPIPS=LPIPS))
    monkeypatch.setitem(sys.modules, "pytorch_fid", types.ModuleType("pytorch_fid"))
    monkeypatch.setitem(sys.modules, "pytorch_fid.inception", types.SimpleNamespace(InceptionV3=InceptionV3))
    monkeypatch.setattr(metrics, "CONFIG", replace(metrics.CONFIG, offline=False))
    available, skipped = optional_metrics()
    assert set(available) == {"LPIPS", "FID features"} and not skipped
    E, G, D = networks()
    cfg = EvalConfig(shots=(1,), test_frames=4, variants=("FF",))
    rows = self_reenactment(E, G, D, heldout_videos(32, 5, 2), cfg, progress=False, log=lambda _: None)
    assert all(r["LPIPS"] > 0 and np.isfinite(r["FID"]) for r in rows)
    assert "LPIPS FF" in format_table(summarize(rows))


def test_csim_tells_two_real_people_apart():
    network = IdentityNetwork()
    faces = {}
    for name in ("grace_hopper", "astronaut"):
        image = load_portrait(name)
        faces[name] = crop_face(image, detect(image, "dlib"), size=64)
    (hopper, p_h), (astronaut, _) = faces["grace_hopper"], faces["astronaut"]
    same = csim(network, hopper[None], np.ascontiguousarray(hopper[:, ::-1])[None], p_h[None])   # mirrored: same person
    different = csim(network, hopper[None], astronaut[None], p_h[None])
    # measured: mirrored 0.994, the other person 0.869
    assert same[0] > different[0] + 0.05


def test_frames_split_into_nested_shots_and_unseen_test_frames():
    order, test = split_frames(20, 8, 4, seed=0)
    assert len(order) == 8 and len(test) == 4 and not set(order) & set(test)
    with pytest.raises(EvaluationError, match="cannot give"):
        split_frames(10, 8, 4, seed=0)


def test_self_reenactment_on_a_tiny_split_makes_the_table():
    E, G, D = networks()
    cfg = EvalConfig(shots=(1, 2), test_frames=2, finetune=FinetuneConfig(epochs=1, batch_size=2))
    videos = heldout_videos(32, cfg.frames_needed(), 2)
    messages = []
    rows = self_reenactment(E, G, D, videos, cfg, progress=False, log=messages.append)
    assert len(rows) == 2 * 2 * (2 + len(BASELINES))                    # videos × T × (FF, FT, baselines)
    assert all(0 < r["SSIM"] <= 1 and np.isfinite(r["PSNR"]) and "CSIM" not in r for r in rows)
    assert any("CSIM skipped" in m and "synthetic" in m for m in messages)
    assert any(m.startswith("FID skipped") for m in messages) and any(m.startswith("LPIPS skipped") for m in messages)
    summary = summarize(rows)
    table = format_table(summary)
    for heading in ("SSIM FF", "SSIM FT", "PSNR FT", "SSIM nearest pose", "SSIM mean frame"):
        assert heading in table
    assert [line.split("|")[1].strip() for line in table.splitlines()[2:4]] == ["1", "2"]
    assert set(quality_bar(rows)) == {"T=2 beats T=1 (FF)", "T=2 beats T=1 (FT)", "FT beats FF at T=1",
                                         "FT beats FF at T=2"}
    assert len(plot_summary(summary).axes) == 2


def test_quality_bar_is_a_paired_comparison_with_ties():
    def rows_of(variant, T, values):
        return [{"video": v, "variant": variant, "T": T, "SSIM": value} for v, value in enumerate(values)]

    noise = [0.01, -0.02, 0.015, -0.005, 0.0]
    base = [0.5 + n for n in noise]
    rows = (rows_of("FF", 1, base) + rows_of("FF", 8, [b + 0.05 for b in base])       # a clear, consistent gain
            + rows_of("FF", 32, [b + 0.05 for b in base])                              # equal: at least as good
            + rows_of("FT", 1, [b + 0.001 + n for b, n in zip(base, noise)])          # +0.001 ± noise: a tie
            + rows_of("FT", 8, [b + 0.051 for b in base])
            + rows_of("FT", 32, [b - 0.01 for b in base]))                             # a consistent loss
    checks = quality_bar(rows)
    assert checks["T=8 beats T=1 (FF)"] == "✓" and checks["T=32 at least as good as T=8 (FF)"] == "✓"
    assert checks["FT beats FF at T=1"] == "tie", "a gain of 0.001 inside the noise is not a win"
    assert checks["T=32 at least as good as T=8 (FT)"] == "✗"
    assert checks["FT beats FF at T=32"] == "✗" and checks["T=8 beats T=1 (FT)"] == "✓"


def test_pose_distant_references_are_the_farthest_frames():
    video = heldout_videos(32, 16, 1)[0]
    chosen = reference_frames(video, 0, 4, "pose-distant")
    distance = np.linalg.norm(video.poses - video.poses[0], axis=1)
    assert set(chosen) == set(np.argsort(-distance)[:4]) and 0 not in chosen
    assert len(reference_frames(video, 0, 4, "random")) == 4


def test_reference_and_identity_swap_probes_run():
    E, G, _ = networks()
    videos = heldout_videos(32, 12, 2)
    rows = reference_settings(E, G, videos, k=2, targets=1)
    assert {r["setting"] for r in rows} == {"random", "pose-distant"} and len(rows) == 4
    swaps = identity_swap(E, G, videos, k=2, targets=1)
    assert len(swaps) == 2 and all(0 < r["SSIM swap vs other person's truth"] <= 1 for r in swaps)


def test_shape_error_ignores_position_scale_and_rotation():
    face = heldout_videos(32, 1, 1)[0].landmarks                          # (1, 68, 2)
    turned = face @ np.array([[0.8, -0.6], [0.6, 0.8]]) * 1.5 + 7
    assert shape_error(turned, face)[0] == pytest.approx(0, abs=1e-6)
    squashed = face * np.array([1.2, 1.0])
    assert shape_error(squashed, face)[0] > 0.02


def test_evaluate_command(tmp_path):
    checkpoint = tiny_checkpoint(tmp_path)
    out = tmp_path / "eval"
    assert main(["evaluate", "--checkpoint", str(checkpoint), "--videos", "2", "--shots", "1", "2",
                 "--test-frames", "2", "--epochs", "1", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert len(results["rows"]) == 2 * 2 * 4 and (out / "results.png").stat().st_size > 0
    assert "SSIM FT" in (out / "table.md").read_text()
    before = (out / "results.json").read_bytes()
    assert main(["evaluate", "--checkpoint", str(checkpoint), "--videos", "2", "--out", str(out)]) == 1, \
        "earlier results in --out are kept unless --overwrite"
    assert (out / "results.json").read_bytes() == before
