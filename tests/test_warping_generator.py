"""The learned warping generator: starts from the TPS solution, blends by confidences, trains, resumes, saves."""
import numpy as np
import pytest
import torch

from fewshot_lib.data import SyntheticHeads, VideoDataset
from fewshot_lib.finetune import FinetuneConfig, Shots, WarpFineTuner
from fewshot_lib.models import Embedder, Generator, get_preset
from fewshot_lib.train.checkpoint import CheckpointError
from fewshot_lib.train.meta import resume_or_start
from fewshot_lib.train.networks import export_weights, load_networks, load_warping_generator
from fewshot_lib.warping import tps_warp
from fewshot_lib.warping.generator import WarpConfig, WarpingGenerator, compose_high_res
from fewshot_lib.warping.person import WarpPerson, WarpPersonError

from test_train import make

TINY = get_preset("tiny")


def episode_batch(trainer, target=3, references=(0, 1)):
    return {k: v[None] for k, v in trainer.dataset.episode(0, target, list(references)).items()}


def inputs(batch):
    return [batch[key] for key in WarpingGenerator.inputs]


def test_an_untrained_warping_generator_is_the_tps_warp_of_its_reference():
    """F's last layer starts at zero: with one reference, x_w is exactly that reference's TPS warp."""
    torch.manual_seed(0)
    warper = WarpingGenerator(Embedder(TINY), Generator(TINY)).eval()
    heads = SyntheticHeads(seed=0)
    dataset = VideoDataset([heads.video(identity=0, video=0, num_frames=6, size=32)], k=1)
    batch = {k: v[None] for k, v in dataset.episode(0, 4, [1]).items()}
    parts = warper.parts(*inputs(batch))
    expected = tps_warp(batch["frames"][:, 0], batch["landmarks"][0, 0], batch["target_landmarks"][0])
    torch.testing.assert_close(parts["warped"], expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(parts["confidence"], torch.ones_like(parts["confidence"]))


def test_the_blend_weights_sum_to_one_and_prefer_the_nearest_pose(tmp_path):
    trainer = make(tmp_path, model="warp")
    batch = episode_batch(trainer, target=3, references=(0, 1, 2, 4))
    with torch.no_grad():
        c = trainer.model.parts(*inputs(batch))["confidence"]                 # (1, K, S, S)
    torch.testing.assert_close(c.sum(1), torch.ones_like(c[:, 0]))
    distance = (batch["landmarks"][0] - batch["target_landmarks"][0]).norm(dim=-1).mean(-1)    # (K,)
    assert int(c.mean((2, 3))[0].argmax()) == int(distance.argmin()), "the pose prior must favour the nearest pose"


def test_gradients_reach_the_flow_network_and_a_step_trains_it(tmp_path):
    trainer = make(tmp_path, model="warp")
    head = trainer.model.F.head.weight.detach().clone()
    trainer.generator_step(episode_batch(trainer))
    assert trainer.model.F.head.weight.grad is not None and trainer.model.F.head.weight.grad.abs().sum() > 0
    assert not torch.equal(head, trainer.model.F.head.weight), "F's head did not move"


def test_a_warp_run_resumes_bit_for_bit(tmp_path):
    straight = make(tmp_path / "a", model="warp", checkpoint_every=2)
    rows = straight.train(steps=4, progress=False)
    stopped = make(tmp_path / "b", model="warp", checkpoint_every=2)
    stopped.train(steps=2, progress=False)
    resumed = resume_or_start(TINY, stopped.cfg, stopped.dataset, tmp_path / "b" / "run", resume=True,
                              log=lambda *_: None)
    again = resumed.train(steps=4, progress=False)
    without_time = [{k: v for k, v in row.items() if k != "seconds"} for row in (*rows[2:], *again)]
    assert without_time[:2] == without_time[2:], "the resumed run logged other losses"
    for a, b in zip(straight.model.parameters(), resumed.model.parameters()):
        assert torch.equal(a, b)


def test_a_warp_run_starts_from_a_paper_checkpoint_and_loads_back(tmp_path):
    paper = make(tmp_path / "paper")
    paper.train(steps=1, progress=False)
    warp = resume_or_start(TINY, make(tmp_path / "w", model="warp", init=str(paper.out_dir / "checkpoint.pt")).cfg,
                           paper.dataset, tmp_path / "warp", resume=False, log=lambda *_: None)
    assert all(torch.equal(a, b) for a, b in zip(warp.G.parameters(), paper.G.parameters()))
    warp.train(steps=1, progress=False)
    _, warper, _ = load_warping_generator(warp.out_dir / "checkpoint.pt")
    batch = episode_batch(warp)
    with torch.no_grad():
        warp.model.eval()
        torch.testing.assert_close(warper(*inputs(batch))[0], warp.model(*inputs(batch))[0])
    with pytest.raises(CheckpointError, match="not a warping-generator checkpoint"):
        load_warping_generator(paper.out_dir / "checkpoint.pt")
    assert load_networks(warp.out_dir / "checkpoint.pt")[0] == TINY       # the painter alone still loads
    longer = resume_or_start(TINY, make(tmp_path / "w2", model="warp", init=str(warp.out_dir / "checkpoint.pt")).cfg,
                             paper.dataset, tmp_path / "longer", resume=False, log=lambda *_: None)
    for a, b in zip(longer.model.parameters(), warp.model.parameters()):     # F and β too: a longer run goes on
        assert torch.equal(a, b)


def test_max_flow_zero_keeps_the_tps_warps_through_training_and_the_checkpoint(tmp_path):
    """``max_flow=0``: F still learns confidences and the mask, but every reference moves by its TPS warp alone."""
    trainer = make(tmp_path, model="warp", max_flow=0.0)
    trainer.train(steps=2, progress=False)
    with torch.no_grad():                                                 # F's head moved, Δ did not appear
        trainer.model.F.head.weight.add_(0.5)
        parts = trainer.model.eval().parts(*inputs(episode_batch(trainer)))
    torch.testing.assert_close(parts["grid"], parts["tps_grid"], atol=0, rtol=0)
    trainer.save()
    _, warper, _ = load_warping_generator(trainer.out_dir / "checkpoint.pt")
    assert warper.cfg.max_flow == 0.0, "the run's flow bound must come back with its checkpoint"
    with pytest.raises(ValueError, match="max_flow"):
        WarpConfig(max_flow=-0.1)


def test_an_exported_copy_can_switch_the_flow_off_and_keeps_every_weight(tmp_path):
    trainer = make(tmp_path, model="warp")
    trainer.train(steps=1, progress=False)
    checkpoint = trainer.save()
    off = export_weights(checkpoint, tmp_path / "off.pt", max_flow=0.0)
    _, flowing, _ = load_warping_generator(checkpoint)
    _, still, _ = load_warping_generator(off)
    assert (flowing.cfg.max_flow, still.cfg.max_flow) == (0.25, 0.0)
    assert all(torch.equal(a, b) for a, b in zip(flowing.parameters(), still.parameters()))
    with pytest.raises(CheckpointError, match="max_flow"):
        export_weights(make(tmp_path / "paper").save(), tmp_path / "paper.pt", max_flow=0.0)


def test_a_warp_person_model_fine_tunes_and_round_trips(tmp_path):
    trainer = make(tmp_path, model="warp")
    video = trainer.dataset.videos[0]
    shots = Shots.from_video(video, [0, 2])
    tuner = WarpFineTuner(trainer.model, trainer.D, shots, FinetuneConfig(epochs=1, batch_size=2))
    rows = tuner.train(progress=False)
    assert np.isfinite(rows[-1]["L_CNT"])
    person = tuner.person_model({"source": "test"})
    path = person.save(tmp_path / "person.safetensors")
    loaded = WarpPerson.load(path)
    target = Shots.from_video(video, [4])
    landmarks = torch.from_numpy(target.landmarks)
    torch.testing.assert_close(loaded(target.sketches, landmarks), person(target.sketches, landmarks))
    big = torch.nn.functional.interpolate(shots.frames, size=64, mode="bilinear")
    assert loaded.forward_high_res(target.sketches, landmarks, big).shape == (1, 3, 64, 64)
    (tmp_path / "odd.safetensors").write_bytes(b"not a model")
    with pytest.raises(WarpPersonError, match="not a readable safetensors"):
        WarpPerson.load(tmp_path / "odd.safetensors")


def test_a_warp_person_draws_from_its_nearest_references_when_asked(tmp_path):
    trainer = make(tmp_path, model="warp")
    video = trainer.dataset.videos[0]
    person = WarpFineTuner(trainer.model, trainer.D, Shots.from_video(video, [0, 1, 2]),
                           FinetuneConfig(epochs=0)).person_model()
    target = Shots.from_video(video, [3])
    landmarks = torch.from_numpy(target.landmarks)                          # (1, 68, 2)
    every = person.parts(target.sketches, landmarks)
    person.nearest = 3                                                      # as many as it has: all of them
    torch.testing.assert_close(person.parts(target.sketches, landmarks)["x_hat"], every["x_hat"], atol=0, rtol=0)
    person.nearest = 1
    one = person.parts(target.sketches, landmarks)
    closest = int((person.reference_landmarks - landmarks).norm(dim=-1).mean(-1).argmin())
    assert one["references"].tolist() == [[closest]]
    alone = WarpFineTuner(trainer.model, trainer.D, Shots.from_video(video, [closest]),
                          FinetuneConfig(epochs=0)).person_model()           # a person model of that shot only
    torch.testing.assert_close(one["warped"], alone.parts(target.sketches, landmarks)["warped"])
    big = torch.nn.functional.interpolate(person.frames, size=64, mode="bilinear")
    assert person.forward_high_res(target.sketches, landmarks, big).shape == (1, 3, 64, 64)


def test_the_high_resolution_path_of_an_identity_warp_returns_the_sharp_reference(tmp_path):
    trainer = make(tmp_path, model="warp")
    batch = episode_batch(trainer, target=3, references=(3 - 1,))
    batch["target_landmarks"] = batch["landmarks"][:, 0]                  # the reference's own pose
    with torch.no_grad():
        parts = trainer.model.eval().parts(*inputs(batch))
        parts["mask"] = torch.ones_like(parts["mask"])                    # all warped (the painter aside)
        parts["grid"] = parts["tps_grid"]                                 # Δ aside: the TPS identity
        sharp = torch.rand(1, 1, 3, 128, 128) * 2 - 1
        torch.testing.assert_close(compose_high_res(parts, sharp), sharp[:, 0], atol=1e-4, rtol=0)
