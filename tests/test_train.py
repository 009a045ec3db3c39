"""The meta-learning trainer: update separation, learning, checkpoints, resume, divergence."""
import json

import numpy as np
import pytest
import torch

from fewshot_lib.models import get_preset
from fewshot_lib.train.checkpoint import CheckpointError
from fewshot_lib.train.meta import (MetaTrainer, TrainConfig, TrainingDiverged, resume_or_start,
                                    sample_episodes)

TINY = get_preset("tiny")


class ColourVideos:
    """A stand-in episode dataset: each video is one colour with a moving square, its sketch the square."""

    def __init__(self, videos=3, frames=6, size=32, k=2):
        self.k, self.size, self.frames = k, size, frames
        rng = np.random.default_rng(0)
        self.colours = rng.uniform(-0.8, 0.8, size=(videos, 3)).astype(np.float32)

    def __len__(self):
        return len(self.colours)

    def num_frames(self, video):
        return self.frames

    def _frame(self, video, t):
        x = np.broadcast_to(self.colours[video][:, None, None], (3, self.size, self.size)).copy()
        y = -np.ones_like(x)
        x[:, 4 + t:12 + t, 4:12] = y[:, 4 + t:12 + t, 4:12] = 1.0
        return x, y

    def episode(self, video, target, k_indices):
        frames, sketches = zip(*(self._frame(video, t) for t in k_indices))
        x_t, y_t = self._frame(video, target)
        return {"frames": np.stack(frames), "sketches": np.stack(sketches), "target": x_t,
                "target_sketch": y_t, "video": np.int64(video)}


def make(tmp_path, **overrides):
    cfg = TrainConfig(**{"steps": 4, "batch_size": 2, "k": 2, "log_every": 1, "sample_every": 1000,
                         "checkpoint_every": 1000, **overrides})
    return MetaTrainer(TINY, cfg, ColourVideos(), tmp_path / "run", log=lambda *_: None)


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_episodes_never_use_the_target_as_a_reference():
    for step in range(50):
        for video, target, k_indices in sample_episodes(ColourVideos(frames=4), step, 4, seed=0):
            assert target not in k_indices and len(set(k_indices)) == 2 and 0 <= video < 3


def test_generator_step_leaves_D_alone_and_D_step_leaves_E_G_alone(tmp_path):
    trainer = make(tmp_path)
    batch = {k: torch.as_tensor(np.stack([v])) for k, v in trainer.dataset.episode(0, 3, [0, 1]).items()}
    E, G, D = params(trainer.E), params(trainer.G), params(trainer.D)
    _, x_hat, e = trainer.generator_step(batch)
    assert not same(E, params(trainer.E)) and not same(G, params(trainer.G))
    assert same(D, params(trainer.D)), "the E/G step changed D"
    assert not x_hat.requires_grad and not e.requires_grad, "fakes must reach D detached"

    E, G = params(trainer.E), params(trainer.G)
    trainer.opt_G.zero_grad(set_to_none=True)
    trainer.discriminator_step(batch, x_hat, e)
    assert not same(D, params(trainer.D))
    assert same(E, params(trainer.E)) and same(G, params(trainer.G)), "the D step changed E or G"
    assert all(p.grad is None for p in [*trainer.E.parameters(), *trainer.G.parameters()]), "D's loss reached E/G"


def test_matching_loss_moves_W_in_the_D_step_only_in_FT(tmp_path):
    for variant, moves in (("FT", True), ("FF", False)):
        trainer = make(tmp_path / variant, variant=variant, d_steps=1)
        W = trainer.D.W.weight.detach().clone()
        losses = trainer.train_step()
        assert ("L_MCH" in losses) == moves
        # Only videos in the batch get a gradient; with L_MCH their columns move towards e.
        assert not torch.equal(W, trainer.D.W.weight)


def test_a_few_steps_reduce_reconstruction_error(tmp_path):
    trainer = make(tmp_path, lr_g=5e-3, steps=30, batch_size=3)
    episodes = sample_episodes(trainer.dataset, 10**6, 3, seed=1)

    def error():
        out = trainer.generate(episodes)
        return (out["x_hat"] - out["target"]).abs().mean().item()

    before = error()
    trainer.train(progress=False)
    assert error() < 0.9 * before          # measured: 0.83 → 0.64


def test_resume_equals_uninterrupted(tmp_path):
    straight = make(tmp_path / "a", steps=6)
    rows = straight.train(progress=False)
    interrupted = make(tmp_path / "b", steps=6)
    interrupted.train(steps=3, progress=False)                      # writes its checkpoint at step 3
    resumed = resume_or_start(TINY, interrupted.cfg, ColourVideos(), interrupted.out_dir, resume=True,
                              log=lambda *_: None)
    assert resumed.step == 3
    rest = resumed.train(progress=False)
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]
    assert strip(rows[3:]) == strip(rest)
    logged = [json.loads(line)["step"] for line in (tmp_path / "b" / "run" / "log.jsonl").read_text().splitlines()]
    assert logged == [1, 2, 3, 4, 5, 6]


def test_checkpoint_of_another_preset_or_setting_is_refused(tmp_path):
    trainer = make(tmp_path)
    trainer.train(steps=1, progress=False)
    other = MetaTrainer(get_preset("cpu64"), trainer.cfg, ColourVideos(size=64), tmp_path / "x", log=lambda *_: None)
    with pytest.raises(CheckpointError, match="image_size: checkpoint has 32, you asked for 64"):
        other.load(trainer.out_dir / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="variant"):
        make(tmp_path, variant="FF").load(trainer.out_dir / "checkpoint.pt")
    with pytest.raises(FileExistsError, match="--resume"):
        resume_or_start(TINY, trainer.cfg, ColourVideos(), trainer.out_dir, resume=False)


def test_divergence_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    trainer = make(tmp_path, steps=2, checkpoint_every=1)
    trainer.train(progress=False)
    good = (trainer.out_dir / "checkpoint.pt").read_bytes()
    with torch.no_grad():
        next(trainer.G.parameters()).fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="NaN or infinite.*last good checkpoint"):
        trainer.train(steps=4, progress=False)
    assert (trainer.out_dir / "checkpoint.pt").read_bytes() == good


def test_training_writes_samples_and_curves(tmp_path):
    trainer = make(tmp_path, steps=2, sample_every=2)
    trainer.train(progress=False)
    assert (trainer.out_dir / "samples" / "step_000002.png").is_file()
    assert (trainer.out_dir / "losses.png").is_file()
    assert json.loads((trainer.out_dir / "config.json").read_text())["model_config"]["name"] == "tiny"
