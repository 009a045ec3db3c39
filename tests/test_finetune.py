"""Fine-tuning: the paper's initialisation, what it trains, person models on disk, shots, the CLI."""
import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from fewshot_lib.cli import main
from fewshot_lib.data import SyntheticHeads, VideoDataset
from fewshot_lib.finetune import FinetuneConfig, FineTuner, PersonModel, PersonModelError, Shots, finetune
from fewshot_lib.landmarks import load_portrait
from fewshot_lib.models import Discriminator, Embedder, Generator, get_preset
from fewshot_lib.train.meta import MetaTrainer, TrainConfig

TINY = get_preset("tiny")


def networks(seed=0):
    """Untrained tiny E, G, D in eval mode, as load_networks returns them."""
    torch.manual_seed(seed)
    return Embedder(TINY).eval(), Generator(TINY).eval(), Discriminator(TINY, num_videos=3).eval()


def video(identity=0, frames=6):
    return SyntheticHeads(seed=0).video(identity=identity, video=0, num_frames=frames, size=32)


def tiny_checkpoint(folder, **overrides):
    """A meta-learning checkpoint of the tiny preset after one training step (a few seconds)."""
    heads = SyntheticHeads(seed=0)
    dataset = VideoDataset([heads.video(identity=i, video=0, num_frames=4, size=32) for i in range(2)], k=2)
    cfg = TrainConfig(steps=1, batch_size=2, k=2, log_every=1, sample_every=1000, checkpoint_every=1000, **overrides)
    trainer = MetaTrainer(TINY, cfg, dataset, folder / "run", log=lambda *_: None)
    trainer.train(progress=False)
    return trainer.save(folder / "meta.pt")


def test_initialisation_is_psi_equals_P_e_hat_and_w_equals_w0_plus_e_hat():
    E, G, D = networks()
    with torch.no_grad():
        D.w0.normal_()                                    # a non-zero w₀, so the sum is tested
    shots = Shots.from_video(video(), [0, 2, 4])
    with torch.no_grad():
        e = torch.stack([E(shots.frames[t:t + 1], shots.sketches[t:t + 1])[0] for t in range(3)])   # (T, N)
        e_hat = e.mean(dim=0)                                                                      # ê_NEW
        psi = G.projection(e_hat[None])[0]                                                         # P · ê_NEW
    tuner = FineTuner(E, G, D, shots, FinetuneConfig(epochs=0))
    torch.testing.assert_close(tuner.e_hat, e_hat, rtol=1e-6, atol=1e-6)
    assert torch.equal(tuner.psi.detach(), G.psi_hat(tuner.e_hat[None])[0])      # ψ′ = P · ê exactly
    torch.testing.assert_close(tuner.psi.detach(), psi, rtol=1e-6, atol=1e-6)
    assert torch.equal(tuner.w.detach(), D.w0 + tuner.e_hat)                      # w′ = w₀ + ê exactly
    assert torch.equal(tuner.D.b, D.b)                                            # b′ = b


def test_zero_epochs_is_the_feed_forward_generator():
    E, G, D = networks()
    shots = Shots.from_video(video(), [0, 1])
    person = finetune(E, G, D, shots, FinetuneConfig(epochs=0), progress=False)
    target = Shots.from_video(video(), [5])
    with torch.no_grad():
        e_hat, _ = E.embed_frames(shots.frames[None], shots.sketches[None])
        expected = G(target.sketches, e_hat)
    assert torch.equal(person(target.sketches), expected)


def test_fine_tuning_trains_G_psi_D_and_w_but_not_the_meta_networks():
    E, G, D = networks()
    before = {name: [p.detach().clone() for p in net.parameters()] for name, net in (("E", E), ("G", G), ("D", D))}
    tuner = FineTuner(E, G, D, Shots.from_video(video(), [0, 1, 2]), FinetuneConfig(epochs=0, lr_g=1e-3, lr_d=1e-3))
    psi, w = tuner.psi.detach().clone(), tuner.w.detach().clone()
    conv = next(tuner.G.encoder.parameters()).detach().clone()
    d_conv, W = next(tuner.D.down.parameters()).detach().clone(), tuner.D.W.weight.detach().clone()
    rows = tuner.train(epochs=2, progress=False)
    assert [r["epoch"] for r in rows] == [1, 2] and {"L_CNT", "L_ADV", "L_DSC"} <= set(rows[0])
    assert "L_MCH" not in rows[0], "fine-tuning has no embedding-match loss"
    assert not torch.equal(tuner.psi, psi) and not torch.equal(tuner.w, w)
    assert not torch.equal(next(tuner.G.encoder.parameters()), conv), "G's person-generic weights train too"
    assert not torch.equal(next(tuner.D.down.parameters()), d_conv), "D's conv weights train too"
    assert torch.equal(tuner.D.W.weight, W), "the training videos' columns W play no part"
    assert tuner.G.projection is None, "P is dropped: psi' is trained directly"
    for name, net in (("E", E), ("G", G), ("D", D)):
        assert all(torch.equal(a, b) for a, b in zip(before[name], net.parameters())), f"meta-learned {name} changed"


def test_fine_tuning_trains_inside_no_grad():
    """An evaluation runs under torch.no_grad(); fine-tuning inside it must still train ψ′."""
    E, G, D = networks()
    tuner = FineTuner(E, G, D, Shots.from_video(video(), [0, 1]), FinetuneConfig(epochs=0, lr_g=1e-3))
    psi = tuner.psi.detach().clone()
    with torch.no_grad():
        tuner.train(epochs=1, progress=False)
    assert not torch.equal(tuner.psi, psi)


def test_fine_tuning_fits_the_shots():
    E, G, D = networks()
    shots = Shots.from_video(video(), [0, 1])
    tuner = FineTuner(E, G, D, shots, FinetuneConfig(lr_g=3e-3, lr_d=1e-3))

    def error():
        return (tuner.person_model()(shots.sketches) - shots.frames).abs().mean().item()

    before = error()
    tuner.train(epochs=15, progress=False)
    assert error() < 0.8 * before            # measured: 0.40 → 0.23


def test_person_model_round_trips_and_drives_identically(tmp_path):
    E, G, D = networks()
    tuner = FineTuner(E, G, D, Shots.from_video(video(), [0, 1]), FinetuneConfig(lr_g=1e-3))
    tuner.train(epochs=1, progress=False)
    person = tuner.person_model({"source": "test"})
    path = person.save(tmp_path / "person.safetensors")
    loaded = PersonModel.load(path)
    saved, restored = person.state_dict(), loaded.state_dict()
    assert saved.keys() == restored.keys() and all(torch.equal(saved[k], restored[k]) for k in saved)
    landmarks = video().landmarks[2:5]
    # the same weights give the same frames (up to the CPU kernels' float round-off between two calls)
    torch.testing.assert_close(loaded.render(landmarks), person.render(landmarks), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(loaded.landmarks, person.landmarks)
    assert loaded.info["source"] == "test" and loaded.info["epochs"] == 1 and loaded.cfg == TINY
    assert not any("projection" in key for key in loaded.generator.state_dict()), "P is not part of a person model"


def test_person_model_file_errors(tmp_path):
    with pytest.raises(PersonModelError, match="no such file; make it again with `fewshot finetune`"):
        PersonModel.load(tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file at all")
    with pytest.raises(PersonModelError, match="not a readable safetensors"):
        PersonModel.load(tmp_path / "junk.safetensors")
    save_file({"x": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(PersonModelError, match="not a fewshot_lib person model"):
        PersonModel.load(tmp_path / "other.safetensors")


def test_shots_from_a_photo_and_bad_input():
    shots = Shots.from_photo(load_portrait("grace_hopper"), size=32)
    assert shots.frames.shape == (1, 3, 32, 32) and shots.sketches.shape == (1, 3, 32, 32)
    assert shots.landmarks.shape == (1, 68, 2) and (shots.landmarks > 0).all() and (shots.landmarks < 32).all()
    assert -1 <= shots.frames.min() < shots.frames.max() <= 1
    with pytest.raises(ValueError, match="square"):
        Shots.from_images([np.zeros((32, 40, 3), np.uint8)], np.zeros((1, 68, 2)), 32)
    with pytest.raises(ValueError, match="one \\(68, 2\\) landmark set per image"):
        Shots.from_images([np.zeros((32, 32, 3), np.uint8)] * 2, np.zeros((1, 68, 2)), 32)


def test_finetune_command(tmp_path):
    checkpoint = tiny_checkpoint(tmp_path)
    out = tmp_path / "person.safetensors"
    assert main(["finetune", "--checkpoint", str(checkpoint), "--synthetic", "1", "--shots", "2",
                 "--epochs", "1", "--out", str(out)]) == 0
    person = PersonModel.load(out)
    assert person.info["source"] == "synthetic" and person.info["shots"] == 2 and len(person.landmarks) == 2
    photo = tmp_path / "hopper.png"
    Image.fromarray(load_portrait("grace_hopper")).save(photo)
    assert main(["finetune", "--checkpoint", str(checkpoint), "--photo", str(photo), "--epochs", "0",
                 "--out", str(out)]) == 1, "an existing --out is refused"
    assert main(["finetune", "--checkpoint", str(checkpoint), "--photo", str(photo), "--epochs", "0",
                 "--out", str(out), "--overwrite"]) == 0
    person = PersonModel.load(out)
    assert person.info["source"] == "photo" and person.info["epochs"] == 0 and person.landmarks.shape == (1, 68, 2)
