"""Notebook 04 · AdaIN, ψ̂ = P ê and the projection discriminator."""
from __future__ import annotations

import torch

from ..models import AdaIN, Discriminator, Generator, get_preset, instance_norm
from .check import Check, seeded_rng


def check_instance_norm(instance_norm_by_hand) -> None:
    """Exercise 4.1: ``instance_norm_by_hand(x (B, C, H, W)) → IN(x)``."""
    with Check("check_instance_norm", "IN(x) = (x − μ) / σ per channel of each image, μ and σ over its pixels",
               hint="x.mean(dim=(2, 3), keepdim=True) and x.var(dim=(2, 3), keepdim=True, unbiased=False); "
                    "divide by sqrt(var + eps), eps = 1e-5") as check:
        g = seeded_rng(0)
        x = torch.randn(3, 8, 16, 16, generator=g) * 3 + torch.randn(3, 8, 1, 1, generator=g)
        y = instance_norm_by_hand(x)
        check.close("equals fewshot_lib.models.instance_norm", y, instance_norm(x), atol=1e-4)
        check.close("every channel of every image has mean 0", y.mean(dim=(2, 3)), torch.zeros(3, 8), atol=1e-4)
        check.close("… and standard deviation 1", y.std(dim=(2, 3), unbiased=False), torch.ones(3, 8), atol=1e-3)
        check.close("each image on its own: no statistics shared across the batch", instance_norm_by_hand(x[:1]), y[:1],
                    atol=1e-5)
        scale, shift = torch.rand(1, 8, 1, 1, generator=g) + 0.5, torch.randn(1, 8, 1, 1, generator=g)
        check.close("a channel's scale (> 0) and shift change nothing", instance_norm_by_hand(scale * x + shift), y,
                    atol=1e-3)


def check_adain(adain_by_hand) -> None:
    """Exercise 4.2: ``adain_by_hand(x (B, C, H, W), psi (B, 2C)) → ψ_scale · IN(x) + ψ_bias``."""
    with Check("check_adain", "AdaIN(x, ψ) = ψ_scale · IN(x) + ψ_bias, with ψ = [scale | bias]",
               hint="ψ holds C scales then C biases (C = x's channels); normalise x per image and channel first, then "
                    "each channel is scaled and shifted by its own pair, the same at every pixel") as check:
        g = seeded_rng(0)
        x = torch.randn(2, 8, 16, 16, generator=g) * 3 + 1                   # (B, C, H, W)
        scale, bias = torch.rand(2, 8, generator=g) + 0.5, torch.randn(2, 8, generator=g)
        psi = torch.cat([scale, bias], dim=1)                                 # (B, 2C)
        y = adain_by_hand(x, psi)
        check.close("equals fewshot_lib.models.AdaIN", y, AdaIN(8)(x, psi), atol=1e-4)
        check.close("each channel's mean is its ψ bias", y.mean(dim=(2, 3)), bias, atol=1e-4)
        check.close("each channel's standard deviation is its ψ scale", y.std(dim=(2, 3), unbiased=False), scale,
                    atol=1e-3)
        check.close("the input's own channel statistics are wiped out", adain_by_hand(5 * x - 2, psi), y, atol=1e-3)


def check_adain_params(adain_params) -> None:
    """Exercise 4.3: ``adain_params(psi_hat (B, n_psi), layout, layer) → (scale (B, C), bias (B, C))``."""
    with Check("check_adain_params", "the slice of ψ̂ = P ê that each AdaIN layer of G reads",
               hint="the layout lists PsiSlice(layer, what, start, stop): find the 'scale' and 'bias' entries of "
                    "`layer` and return psi_hat[:, piece.start:piece.stop] for each") as check:
        torch.manual_seed(0)
        G = Generator(get_preset("tiny")).eval()
        seen = {}                                                             # AdaIN layer → the ψ it received
        hooks = [module.register_forward_pre_hook(lambda m, args, name=name: seen.__setitem__(name, args[1]))
                 for name, module in G.decoder.named_modules(prefix="decoder") if isinstance(module, AdaIN)]
        g = seeded_rng(0)
        psi_hat = torch.randn(2, G.n_psi, generator=g)                        # (B, n_psi)
        with torch.no_grad():
            G.forward_from_psi(torch.rand(2, 3, 32, 32, generator=g) * 2 - 1, psi_hat)
        for hook in hooks:
            hook.remove()
        mine = {layer: adain_params(psi_hat, G.psi_layout, layer) for layer in seen}
        check.holds("(B, C) scales and biases for a C-channel layer",
                    all(tuple(s.shape) == tuple(b.shape) == (2, psi.shape[1] // 2) for (s, b), psi in
                        zip(mine.values(), seen.values())))
        worst = max((torch.cat(mine[layer], dim=1) - psi).abs().max().item() for layer, psi in seen.items())
        check.holds(f"all {len(seen)} AdaIN layers of G get exactly the [scale | bias] you slice", worst == 0,
                    f"max |diff| {worst:.2g}")


def check_projection_score(projection_score) -> None:
    """Exercise 4.4: ``projection_score(h (B, N, H, W), W_i (B, N), w0 (N,), b) → r (B,)``."""
    with Check("check_projection_score",
               "v = ReLU(Σ_hw h), r = vᵀ(W_i + w₀) + b: the projection discriminator's score",
               hint="pool D's last feature map to one N-vector per image (sum over positions, then ReLU), take its dot "
                    "product with the video's column W_i + w0 and add b; the score is a raw number, no "
                    "sigmoid") as check:
        torch.manual_seed(0)
        D = Discriminator(get_preset("tiny"), num_videos=5).eval()
        g = seeded_rng(0)
        with torch.no_grad():
            D.w0.normal_(generator=g)
            D.b.fill_(0.5)
            x, y = torch.rand(3, 3, 32, 32, generator=g) * 2 - 1, torch.rand(3, 3, 32, 32, generator=g) * 2 - 1
            i = torch.tensor([0, 3, 4])
            r, features = D(x, y, i)
            h, W_i = features[-1], D.W(i)                                     # (B, N, 4, 4), (B, N)
            mine = projection_score(h, W_i, D.w0, D.b)
            check.close("equals D(x, y, i) on three frames", mine, r)
            e_new = torch.rand(32, generator=g)
            check.close("with w′ = w₀ + ê_NEW (fine-tuning): equals D(x, y, w=w′)",
                        projection_score(h, e_new.expand(3, -1), D.w0, D.b), D(x, y, w=D.w0 + e_new)[0])
            check.close("no sigmoid: r − b is linear in the column (10 × (W_i + w₀) → 10 × (r − b))",
                        projection_score(h, 10 * (W_i + D.w0), torch.zeros_like(D.w0), D.b) - D.b, 10 * (r - D.b),
                        atol=1e-4)
