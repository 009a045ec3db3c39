"""The three networks (fewshot_lib.models): shapes, gradients, the projection score, ψ̂, presets."""
import json
import time

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import _SpectralNorm

from fewshot_lib import cli
from fewshot_lib.models import (PAPER_COUNTS, PRESETS, AdaIN, Discriminator, Embedder, Generator, ModelConfig,
                                ModelConfigError, SelfAttention, architecture_summary, fold_spectral_norms, get_preset,
                                instance_norm, parameter_counts, parameter_table)

NUM_VIDEOS = 5


def images(rng: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=rng) * 2 - 1       # uniform in [-1, 1]


@pytest.fixture(scope="module")
def tiny():
    """The tiny preset's E, G, D (eval mode: spectral norm's weights stay fixed between calls)."""
    torch.manual_seed(0)
    cfg = get_preset("tiny")
    return cfg, Embedder(cfg).eval(), Generator(cfg).eval(), Discriminator(cfg, NUM_VIDEOS).eval()


@pytest.mark.parametrize("preset", list(PRESETS))
def test_shapes_of_every_preset(preset):
    cfg = get_preset(preset)
    start = time.perf_counter()
    E, G, D = Embedder(cfg), Generator(cfg), Discriminator(cfg, NUM_VIDEOS)
    assert time.perf_counter() - start < 20, "building the networks should take seconds on a CPU"
    g = torch.Generator().manual_seed(0)
    B, K, S, N = 1 if preset == "paper" else 2, 2, cfg.image_size, cfg.embed_dim
    frames, sketches = images(g, B, K, 3, S, S), images(g, B, K, 3, S, S)
    with torch.no_grad():
        e_hat, e = E.embed_frames(frames, sketches)
        x_hat = G(sketches[:, 0], e_hat)
        r, features = D(x_hat, sketches[:, 0], torch.arange(B))
    assert e_hat.shape == (B, N) and e.shape == (B, K, N)
    assert G.psi_hat(e_hat).shape == (B, G.n_psi)
    assert x_hat.shape == (B, 3, S, S) and x_hat.abs().max() <= 1, "G ends in tanh: images in [-1, 1]"
    assert r.shape == (B,)
    side = S >> len(cfg.down_channels)                                 # 4 in every preset, as in the paper
    assert features[-1].shape == (B, N, side, side)
    assert len(features) == len(D.down) + 1


def test_paper_preset_parameter_counts_match_the_paper():
    counts = parameter_counts("paper")
    for name, paper in PAPER_COUNTS.items():
        assert abs(counts[name] / paper - 1) <= 0.10, f"{name}: {counts[name]:,} vs the paper's {paper:,.0f}"
    assert abs((counts["generator"] + counts["projection"]) / 38e6 - 1) <= 0.10
    assert counts["projection"] == 13_184 * 512, "P is 13,184 × 512 for the paper's layout"
    assert counts["total"] == sum(v for k, v in counts.items() if k != "total")


def test_parameter_table_compares_the_paper_architecture_with_the_paper():
    table = parameter_table(ModelConfig())                  # the defaults are the paper's architecture
    assert table.count("✓") == 6 and "✗" not in table and "13,184 × 512" in table
    assert "ratio" not in parameter_table("cpu64")


def test_cpu_presets_are_small():
    for name in ("tiny", "cpu64"):
        assert parameter_counts(name)["total"] < 3_000_000, f"{name} must stay a CPU preset"


def test_gradients_reach_every_parameter(tiny):
    cfg, *_ = tiny
    torch.manual_seed(1)
    E, G, D = Embedder(cfg), Generator(cfg), Discriminator(cfg, NUM_VIDEOS)
    for module in [*E.modules(), *G.modules(), *D.modules()]:
        if isinstance(module, SelfAttention):
            nn.init.constant_(module.gamma, 0.5)       # γ starts at 0, which blocks q, k, v's gradients
    g = torch.Generator().manual_seed(1)
    S, idx = cfg.image_size, torch.tensor([1, 3])
    frames, sketches = images(g, 2, 3, 3, S, S), images(g, 2, 3, 3, S, S)
    e_hat, e = E.embed_frames(frames, sketches)
    r, _ = D(G(sketches[:, 0], e_hat), sketches[:, 0], idx)
    loss = r.sum() + (D.W(idx)[:, None] - e).abs().mean()         # adversarial + L_MCH-shaped terms
    loss.backward()
    for net, module in {"E": E, "G": G, "D": D}.items():
        for name, p in module.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, f"no gradient reaches {net}.{name}"
    assert D.W.weight.grad[idx].abs().sum(dim=1).gt(0).all(), "the used columns W_i get gradients"
    assert D.W.weight.grad[[0, 2, 4]].abs().sum() == 0, "unused columns W_j get none"


def test_generator_output_depends_on_e_hat_and_on_the_sketch(tiny):
    cfg, _, G, _ = tiny
    g = torch.Generator().manual_seed(2)
    S, N = cfg.image_size, cfg.embed_dim
    y, y_other = images(g, 1, 3, S, S), images(g, 1, 3, S, S)
    e_hat, e_other = torch.rand(1, N, generator=g) * 10, torch.rand(1, N, generator=g) * 10
    with torch.no_grad():
        x_hat = G(y, e_hat)
        assert (G(y, e_other) - x_hat).abs().max() > 1e-3, "a different person must change the image"
        assert (G(y_other, e_hat) - x_hat).abs().max() > 1e-3, "a different pose must change the image"
        torch.testing.assert_close(G(y, e_hat), x_hat)
        torch.testing.assert_close(G.forward_from_psi(y, G.psi_hat(e_hat)), x_hat)
        torch.testing.assert_close(G.forward_from_psi(y, G.psi_hat(e_hat)[0]), x_hat)   # one ψ for all


def test_adain_sets_each_channels_mean_to_the_bias_and_std_to_the_scale():
    g = torch.Generator().manual_seed(6)
    x = torch.randn(2, 4, 8, 8, generator=g) * 3 + 5                     # (B, C, H, W)
    scale, bias = torch.rand(2, 4, generator=g) + 0.5, torch.randn(2, 4, generator=g)
    normalised = instance_norm(x)
    torch.testing.assert_close(normalised.mean(dim=(2, 3)), torch.zeros(2, 4), atol=1e-5, rtol=0)
    torch.testing.assert_close(normalised.std(dim=(2, 3), unbiased=False), torch.ones(2, 4), atol=1e-3, rtol=0)
    out = AdaIN(4)(x, torch.cat([scale, bias], dim=1))                    # ψ = [scale | bias]
    torch.testing.assert_close(out.mean(dim=(2, 3)), bias, atol=1e-5, rtol=0)
    torch.testing.assert_close(out.std(dim=(2, 3), unbiased=False), scale, atol=1e-3, rtol=0)


def test_instance_norm_is_the_formula():
    x = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(7)) * 3 + 5   # (B, C, H, W)
    mean, var = x.mean(dim=(2, 3), keepdim=True), x.var(dim=(2, 3), keepdim=True, unbiased=False)
    torch.testing.assert_close(instance_norm(x, eps=1e-3), (x - mean) / torch.sqrt(var + 1e-3))


def test_self_attention_on_a_cpu_is_the_fused_kernels_formula():
    torch.manual_seed(8)
    attention = SelfAttention(16).eval()
    nn.init.constant_(attention.gamma, 0.7)
    x = torch.randn(2, 16, 8, 8)                                              # (B, C, H, W)
    q, k, v = (layer(x).flatten(2).transpose(1, 2) for layer in (attention.query, attention.key, attention.value))
    fused = F.scaled_dot_product_attention(q, k, v, scale=1.0)               # (B, HW, C)
    with torch.no_grad():
        torch.testing.assert_close(attention(x), x + 0.7 * fused.transpose(1, 2).reshape(2, 16, 8, 8))


def test_folding_spectral_norms_draws_the_same_and_leaves_the_original_whole(tiny):
    cfg, _, G, _ = tiny
    g = torch.Generator().manual_seed(9)
    y, psi = images(g, 2, 3, cfg.image_size, cfg.image_size), torch.randn(2, G.n_psi, generator=g)
    names = set(G.state_dict())
    folded = fold_spectral_norms(G)
    assert not any(parametrize.is_parametrized(m) for m in folded.modules()), "every σ(W) is folded"
    with torch.no_grad():
        torch.testing.assert_close(folded.forward_from_psi(y, psi), G.forward_from_psi(y, psi))
        G.forward_from_psi(y, psi)                                 # the original still computes W / σ(W) ...
    assert set(G.state_dict()) == names                            # ... and still saves under its own names
    assert fold_spectral_norms(folded) is folded, "nothing left to fold: no copy"


def test_psi_layout_is_what_each_adain_reads(tiny):
    cfg, _, G, _ = tiny
    seen = {}
    hooks = [m.register_forward_hook(lambda m, inputs, out, name=name: seen.__setitem__(name, inputs[1]))
             for name, m in G.named_modules() if isinstance(m, AdaIN)]
    psi = torch.randn(2, G.n_psi, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        G.forward_from_psi(torch.zeros(2, 3, cfg.image_size, cfg.image_size), psi)
    for hook in hooks:
        hook.remove()
    assert sorted(seen) == sorted({s.layer for s in G.psi_layout}), "every AdaIN appears in the layout"
    for s in G.psi_layout:
        half = slice(0, s.channels) if s.what == "scale" else slice(s.channels, 2 * s.channels)
        torch.testing.assert_close(seen[s.layer][:, half], psi[:, s.slice], msg=f"{s.layer} {s.what}")
    covered = sorted((s.start, s.stop) for s in G.psi_layout)
    assert covered[0][0] == 0 and covered[-1][1] == G.n_psi
    assert all(a[1] == b[0] for a, b in zip(covered, covered[1:])), "slices tile ψ̂ without gaps"


def test_projection_score_matches_the_formula(tiny):
    cfg, _, _, D = tiny
    g = torch.Generator().manual_seed(4)
    S, idx = cfg.image_size, torch.tensor([4, 0, 2])
    x, y = images(g, 3, 3, S, S), images(g, 3, 3, S, S)
    with torch.no_grad():
        D.w0.normal_(generator=g)
        D.b.fill_(0.7)
        r, features = D(x, y, idx)
        v = F.relu(features[-1].sum(dim=(2, 3)))                               # sum pooling + ReLU (B, N)
        by_hand = torch.stack([v[n] @ (D.W.weight[i] + D.w0) + D.b for n, i in enumerate(idx)])
        torch.testing.assert_close(r, by_hand)                                 # r = vᵀ(W_i + w₀) + b
        torch.testing.assert_close(D(x, y, w=D.W.weight[idx] + D.w0)[0], r)    # the fine-tuning path
        w_new = D.w0 + torch.rand(cfg.embed_dim, generator=g)                  # w′ = w₀ + ê_NEW, one vector
        torch.testing.assert_close(D(x, y, w=w_new)[0], v @ w_new + D.b)


def test_embed_frames_averages_per_frame_embeddings(tiny):
    cfg, E, _, _ = tiny
    g = torch.Generator().manual_seed(5)
    S = cfg.image_size
    frames, sketches = images(g, 2, 4, 3, S, S), images(g, 2, 4, 3, S, S)
    with torch.no_grad():
        e_hat, e = E.embed_frames(frames, sketches)
        torch.testing.assert_close(e[1, 2], E(frames[1, 2:3], sketches[1, 2:3])[0])
    torch.testing.assert_close(e_hat, e.mean(dim=1))
    assert (e >= 0).all(), "e = ReLU(sum pooling): never negative"


def test_spectral_norm_on_every_conv_and_linear():
    cfg = get_preset("tiny")
    found = 0
    for net in (Embedder(cfg), Generator(cfg), Discriminator(cfg, NUM_VIDEOS)):
        for name, module in net.named_modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                found += 1
                assert parametrize.is_parametrized(module, "weight"), f"{name} lacks spectral norm"
                assert any(isinstance(p, _SpectralNorm) for p in module.parametrizations.weight), name
    assert found > 30


def test_clear_errors_on_bad_input(tiny):
    cfg, E, G, D = tiny
    S = cfg.image_size
    good = torch.zeros(1, 3, S, S)
    with pytest.raises(ValueError, match=r"\(B, 3, 32, 32\).*'tiny'"):
        E(torch.zeros(1, 3, 64, 64), good)
    with pytest.raises(ValueError, match="embed_frames"):
        E.embed_frames(good, good)
    with pytest.raises(ValueError, match="psi must be"):
        G.forward_from_psi(good, torch.zeros(1, G.n_psi + 1))
    with pytest.raises(ValueError, match="exactly one"):
        D(good, good)
    with pytest.raises(IndexError, match="out of range"):       # nn.Embedding's own check (CPU)
        D(good, good, torch.tensor([NUM_VIDEOS]))
    with pytest.raises(ValueError, match="num_videos"):
        Discriminator(cfg, 0)
    with pytest.raises(KeyError, match="cpu64"):
        get_preset("nope")


@pytest.mark.parametrize("change, field", [
    ({"image_size": 100}, "image_size"),
    ({"embed_dim": 256}, "down_channels"),
    ({"generator_up": (256, 128)}, "generator_up"),
    ({"attention_down": 20}, "attention_down"),
    ({"attention_up": 8}, "attention_up"),
])
def test_config_errors_name_the_field(change, field):
    with pytest.raises(ModelConfigError, match=field):
        ModelConfig(**change)


def test_config_round_trips_through_json():
    for cfg in PRESETS.values():
        assert ModelConfig(**json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_models_command_prints_counts(capsys):
    assert cli.main(["models", "--preset", "tiny", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == parameter_counts("tiny")
    assert cli.main(["models", "--preset", "tiny"]) == 0
    out = capsys.readouterr().out
    assert "ResBlockUp" in out and "generator (convs)" in out and f"{parameter_counts('tiny')['total']:,}" in out


def test_architecture_summary_shows_paper_shapes():
    text = architecture_summary("tiny")
    assert "→ 32 × 4 × 4" in text and "ToRGB" in text and "ψ̂" in text
