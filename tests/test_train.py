"""The meta-learning trainer: update separation, learning, checkpoints, resume, divergence."""
import json

import pytest
import torch

from fewshot_lib.data import SyntheticHeads, VideoDataset
from fewshot_lib.models import get_preset
from fewshot_lib.train.batches import StepBatchSampler
from fewshot_lib.train.checkpoint import CheckpointError
from fewshot_lib.train.meta import MetaTrainer, TrainConfig, TrainingDiverged, resume_or_start
from fewshot_lib.train.networks import export_weights, load_networks

TINY = get_preset("tiny")


def tiny_dataset(size=32, videos=3, frames=6, k=2):
    """Three synthetic talking-head videos, small enough for a unit test."""
    heads = SyntheticHeads(seed=0)
    return VideoDataset([heads.video(identity=i, video=0, num_frames=frames, size=size) for i in range(videos)], k=k)


def make(tmp_path, **overrides):
    cfg = TrainConfig(**{"steps": 4, "batch_size": 2, "k": 2, "log_every": 1, "sample_every": 1000,
                         "checkpoint_every": 1000, **overrides})
    return MetaTrainer(TINY, cfg, tiny_dataset(), tmp_path / "run", log=lambda *_: None)


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_batches_depend_on_seed_and_step_only():
    dataset = tiny_dataset(frames=4)
    full = list(StepBatchSampler(len(dataset), 2, seed=0, start=0, stop=6))
    assert list(StepBatchSampler(len(dataset), 2, seed=0, start=4, stop=6)) == full[4:]
    assert full != list(StepBatchSampler(len(dataset), 2, seed=1, start=0, stop=6))
    for indices in full:
        for item in (dataset[i] for i in indices):
            assert int(item["target_index"]) not in item["frame_indices"].tolist()


def test_generator_step_leaves_D_alone_and_D_step_leaves_E_G_alone(tmp_path):
    trainer = make(tmp_path)
    batch = {k: v[None] for k, v in trainer.dataset.episode(0, 3, [0, 1]).items()}
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
        losses = trainer.train_step(next(iter(trainer.loader(1))))
        assert ("L_MCH" in losses) == moves
        # Only videos in the batch get a gradient; with L_MCH their columns move towards e.
        assert not torch.equal(W, trainer.D.W.weight)


def test_a_few_steps_reduce_reconstruction_error(tmp_path):
    trainer = make(tmp_path, lr_g=5e-3, steps=30, batch_size=3)
    batch = trainer.preview_batch()

    def error():
        out = trainer.generate(batch)
        return (out["x_hat"] - out["target"]).abs().mean().item()

    before = error()
    trainer.train(progress=False)
    assert error() < 0.9 * before          # measured: 0.83 → 0.64


def test_resume_equals_uninterrupted(tmp_path):
    straight = make(tmp_path / "a", steps=6)
    rows = straight.train(progress=False)
    interrupted = make(tmp_path / "b", steps=6)
    interrupted.train(steps=3, progress=False)                      # writes its checkpoint at step 3
    resumed = resume_or_start(TINY, interrupted.cfg, tiny_dataset(), interrupted.out_dir, resume=True,
                              log=lambda *_: None)
    assert resumed.step == 3
    rest = resumed.train(progress=False)
    strip = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]
    assert strip(rows[3:]) == strip(rest)
    logged = [json.loads(line)["step"] for line in (tmp_path / "b" / "run" / "log.jsonl").read_text().splitlines()]
    assert logged == [1, 2, 3, 4, 5, 6]


def test_resume_forgets_log_rows_logged_after_the_checkpoint(tmp_path):
    trainer = make(tmp_path, steps=4)
    trainer.train(steps=2, progress=False)                       # checkpoint at step 2
    at_step_2 = (trainer.out_dir / "checkpoint.pt").read_bytes()
    trainer.train(steps=4, progress=False)                       # logs steps 3 and 4 ...
    (trainer.out_dir / "checkpoint.pt").write_bytes(at_step_2)   # ... but is "killed" before checkpointing them
    resumed = resume_or_start(TINY, trainer.cfg, tiny_dataset(), trainer.out_dir, resume=True, log=lambda *_: None)
    assert resumed.step == 2
    logged = [json.loads(line)["step"] for line in (trainer.out_dir / "log.jsonl").read_text().splitlines()]
    assert logged == [1, 2]


def test_checkpoint_of_another_preset_or_setting_is_refused(tmp_path):
    trainer = make(tmp_path)
    trainer.train(steps=1, progress=False)
    other = MetaTrainer(get_preset("cpu64"), trainer.cfg, tiny_dataset(size=64), tmp_path / "x", log=lambda *_: None)
    with pytest.raises(CheckpointError, match="image_size: checkpoint has 32, you asked for 64"):
        other.load(trainer.out_dir / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="variant"):
        make(tmp_path, variant="FF").load(trainer.out_dir / "checkpoint.pt")
    with pytest.raises(FileExistsError, match="--resume"):
        resume_or_start(TINY, trainer.cfg, tiny_dataset(), trainer.out_dir, resume=False)


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


def test_exported_weights_rebuild_the_same_networks(tmp_path):
    trainer = make(tmp_path, steps=1)
    trainer.train(progress=False)
    exported = export_weights(trainer.out_dir / "checkpoint.pt", tmp_path / "release.pt")
    assert exported.stat().st_size < (trainer.out_dir / "checkpoint.pt").stat().st_size / 2
    cfg, E, G, D = load_networks(exported)
    assert cfg == TINY and D.W.num_embeddings == len(trainer.dataset)
    batch = trainer.preview_batch(2)
    assert torch.equal(trainer.generate(batch)["x_hat"], G(batch["target_sketch"], E.embed_frames(
        batch["frames"], batch["sketches"])[0]).detach())
    with pytest.raises(CheckpointError, match="meta-learning checkpoint"):
        torch.save({"E": {}}, tmp_path / "odd.pt")
        load_networks(tmp_path / "odd.pt")


def test_D_gets_no_weight_gradients_in_the_generator_step(tmp_path):
    trainer = make(tmp_path)
    batch = {k: v[None] for k, v in trainer.dataset.episode(0, 3, [0, 1]).items()}
    trainer.generator_step(batch)
    assert all(p.grad is None for p in trainer.D.parameters()), "D was not frozen during the E/G step"
    assert all(p.requires_grad for p in trainer.D.parameters()), "D must be trainable again afterwards"


def test_channels_last_trains_like_contiguous(tmp_path):
    """The GPU memory layout, run on the CPU: same losses, within float rounding."""
    runs = {fmt: make(tmp_path / fmt, memory_format=fmt, steps=3) for fmt in ("contiguous", "channels_last")}
    conv = runs["channels_last"].G.decoder[0].conv1.parametrizations.weight.original
    assert conv.is_contiguous(memory_format=torch.channels_last)
    for batch in runs["contiguous"].loader(3):
        a, b = ({k: float(v) for k, v in trainer.train_step(batch).items()} for trainer in runs.values())
        assert b == pytest.approx(a, rel=1e-4, abs=1e-4)


def test_speed_settings_are_checked():
    with pytest.raises(ValueError, match="memory_format='nhwc'"):
        TrainConfig(memory_format="nhwc")


def test_a_checkpoint_older_than_a_config_field_still_resumes(tmp_path):
    trainer = make(tmp_path)
    trainer.train(steps=1, progress=False)
    path = trainer.out_dir / "checkpoint.pt"
    state = torch.load(path, weights_only=True)
    for field in ("match_weight", "memory_format", "compile"):      # fields added after the first checkpoints
        del state["train_config"][field]
    torch.save(state, path)
    resumed = make(tmp_path)
    resumed.load(path)
    assert resumed.step == 1
