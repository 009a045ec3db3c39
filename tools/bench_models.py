"""Forward / backward time of E, G and D per model preset, and of one meta-learning-shaped iteration.

    OMP_NUM_THREADS=2 .venv/bin/python tools/bench_models.py --presets tiny cpu64 cpu128 --batch 2 --k 8

"iteration" = what one meta-learning step costs apart from the perceptual loss (VGG19 and
VGGFace are not part of the models): one Adam step on E, G, P with a stand-in loss
(L1 pixel + adversarial + feature matching + embedding match), then two D steps on
detached fakes (hinge), as in PAPER.md's schedule. Times are medians after one warm-up, as
wall-clock seconds and as CPU seconds of this process (all threads together): on a machine
shared with other jobs the wall clock grows with the load, the CPU time much less.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from fewshot_lib.models import Discriminator, Embedder, Generator, get_preset


def median_seconds(step, repeats: int) -> tuple[float, float]:
    """Median (wall-clock, CPU) seconds of ``step()``."""
    step()                                                        # warm-up (allocations, kernels)
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        step()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def bench(preset: str, batch: int, k: int, repeats: int, device: torch.device) -> dict[str, tuple[float, float]]:
    cfg = get_preset(preset)
    E, G, D = Embedder(cfg).to(device), Generator(cfg).to(device), Discriminator(cfg, num_videos=16).to(device)
    S = cfg.image_size
    frames = torch.rand(batch, k, 3, S, S, device=device) * 2 - 1      # (B, K, 3, S, S)
    sketches = torch.rand(batch, k, 3, S, S, device=device) * 2 - 1
    x, y = frames[:, 0], sketches[:, 0]                                 # targets (B, 3, S, S)
    idx = torch.arange(batch, device=device)
    opt_g = torch.optim.Adam([*E.parameters(), *G.parameters()], lr=5e-5, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def forward_only():
        with torch.no_grad():
            e_hat, _ = E.embed_frames(frames, sketches)
            D(G(y, e_hat), y, idx)

    def forward_backward():
        e_hat, _ = E.embed_frames(frames, sketches)
        r, _ = D(G(y, e_hat), y, idx)
        r.mean().backward()

    def iteration():
        e_hat, e = E.embed_frames(frames, sketches)
        x_hat = G(y, e_hat)
        r_fake, f_fake = D(x_hat, y, idx)
        _, f_real = D(x, y, idx)
        fm = sum(F.l1_loss(a, b.detach()) for a, b in zip(f_fake, f_real))
        mch = (D.W(idx)[:, None] - e).abs().mean()
        loss = F.l1_loss(x_hat, x) - r_fake.mean() + 10 * fm + 10 * mch
        opt_g.zero_grad(set_to_none=True)
        opt_d.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()
        for _ in range(2):
            r_real, _ = D(x, y, idx)
            r_fake, _ = D(x_hat.detach(), y, idx)
            loss_d = F.relu(1 + r_fake).mean() + F.relu(1 - r_real).mean()
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()

    return {"forward": median_seconds(forward_only, repeats),
            "forward+backward": median_seconds(forward_backward, repeats),
            "iteration": median_seconds(iteration, repeats)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=["tiny", "cpu64", "cpu128"])
    parser.add_argument("--batch", type=int, default=2, help="videos per batch (B)")
    parser.add_argument("--k", type=int, default=8, help="frames per video for the embedder (K)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, device {device}, {torch.get_num_threads()} threads, "
          f"B = {args.batch}, K = {args.k}; median of {args.repeats} after one warm-up")
    print(f"{'preset':<8}{'size':>6}" + "".join(f"{name + ' wall / CPU':>27}" for name in ("forward", "fwd+bwd", "iteration")))
    for preset in args.presets:
        times = bench(preset, args.batch, args.k, args.repeats, device)
        size = get_preset(preset).image_size
        print(f"{preset:<8}{size:>6}" + "".join(f"{wall:>17.3f}s /{cpu:>6.2f}s" for wall, cpu in times.values()),
              flush=True)


if __name__ == "__main__":
    main()
