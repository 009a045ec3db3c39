"""The shared GAN step: the trainer's fast path computes what the plain step computes."""
import copy

import pytest
import torch

from fewshot_lib.losses import build_content_loss
from fewshot_lib.train.step import GAN, gan_step

from test_train import make


def plain_copy(trainer):
    """E, G and D of ``trainer`` copied before any step, with plain (non-fused, non-foreach) Adam."""
    E, G, D = (copy.deepcopy(net).to(memory_format=torch.contiguous_format) for net in (trainer.E, trainer.G, trainer.D))
    cfg = trainer.cfg
    content, _ = build_content_loss(trainer.weights, cfg.content_fallback)
    gan = GAN(D, content, trainer.weights,
              torch.optim.Adam([*E.parameters(), *G.parameters()], lr=cfg.lr_g, betas=cfg.betas),
              torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=cfg.betas))
    return E, G, gan


@pytest.mark.parametrize("variant", ["FT", "FF"])
def test_the_fast_path_gives_the_plain_steps_losses_and_updates(tmp_path, variant):
    """The trainer (multi-tensor Adam, D's wrapped handles, the W-row hook: the CPU's share of the fast path)
    against :func:`gan_step` with the networks, D and Adam as they are. Channels-last tensors change float
    rounding only: test_train checks their losses (parameters with a zero gradient, e.g. a conv bias before
    instance norm, get rounding noise that Adam's normalisation turns into whole steps)."""
    trainer = make(tmp_path, variant=variant, steps=3)
    E, G, gan = plain_copy(trainer)
    for batch in trainer.loader(3):
        fast = trainer.train_step(batch)
        plain = gan_step(gan, lambda: (lambda e_hat, e: (G(batch["target_sketch"], e_hat), e))(
                             *E.embed_frames(batch["frames"], batch["sketches"])),
                         batch["target"], batch["target_sketch"], {"video_idx": batch["video"]}, trainer.cfg.d_steps)
        assert set(fast) == set(plain) and ("L_MCH" in plain) == (variant == "FT")
        for key in plain:
            torch.testing.assert_close(fast[key], plain[key], rtol=1e-6, atol=1e-7, msg=f"{key} differs")
    for fast_net, plain_net in ((trainer.E, E), (trainer.G, G), (trainer.D, gan.D)):
        for (name, a), b in zip(fast_net.named_parameters(), plain_net.parameters()):
            torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7, msg=f"{name} was updated differently")


def test_each_update_moves_only_its_own_networks(tmp_path):
    """gan_step with d_steps=0 moves E and G only; its x̂ reaches D's updates detached (test_train checks
    the same through the trainer's handles)."""
    trainer = make(tmp_path)
    E, G, gan = plain_copy(trainer)
    batch = next(iter(trainer.loader(1)))
    before = [p.detach().clone() for p in gan.D.parameters()]
    gan_step(gan, lambda: (G(batch["target_sketch"], E.embed_frames(batch["frames"], batch["sketches"])[0]),
                           E.embed_frames(batch["frames"], batch["sketches"])[1]),
             batch["target"], batch["target_sketch"], {"video_idx": batch["video"]}, d_steps=0)
    assert all(torch.equal(a, b) for a, b in zip(before, gan.D.parameters())), "the E/G update moved D"
    assert all(p.grad is None for p in gan.D.parameters()), "D was not frozen during the E/G update"


class NoTruthValue(torch.nn.Module):
    """D behind a wrapper that, like torch.compile's, raises when truth-tested (it forwards len())."""

    def __init__(self, D):
        super().__init__()
        self.D = D

    def forward(self, *args, **kwargs):
        return self.D(*args, **kwargs)

    def __len__(self):
        raise TypeError("NoTruthValue does not support len()")


def test_the_step_calls_a_wrapped_d_it_cannot_truth_test(tmp_path):
    """A compiled D (fewshot bench --compile, fewshot train --compile) is used as given, never tested with `or`."""
    trainer = make(tmp_path)
    trainer.gan.fast.score = trainer.gan.fast.score_frozen = NoTruthValue(trainer.D)
    losses = trainer.train_step(next(iter(trainer.loader(1))))
    assert all(torch.isfinite(value).all() for value in losses.values())
