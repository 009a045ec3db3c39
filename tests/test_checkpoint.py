"""Checkpoints: round trip, atomic writes, safe loading, clear errors."""
import pytest
import torch

from fewshot_lib.train import checkpoint
from fewshot_lib.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint


def _state(step=3):
    model = torch.nn.Linear(4, 2)
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(5, 4)).sum().backward()
    opt.step()
    return {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
            "rng": torch.get_rng_state(), "model_config": {"size": 64, "channels": [8, 16]}, "version": "0.1.0"}


def test_round_trip(tmp_path):
    state = _state()
    loaded = load_checkpoint(save_checkpoint(tmp_path / "ckpt.pt", state))
    assert loaded["step"] == 3 and loaded["model_config"] == state["model_config"]
    assert all(torch.equal(loaded["model"][k], v) for k, v in state["model"].items())
    assert loaded["optimizer"]["state"][0]["exp_avg"].shape == (2, 4)


def test_crash_mid_write_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "ckpt.pt", _state(step=1))

    def crash(obj, f):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(checkpoint.torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, _state(step=2))
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"], "the temporary file was left behind"


def test_truncated_checkpoint_gives_clear_error(tmp_path):
    path = save_checkpoint(tmp_path / "ckpt.pt", _state())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def test_code_in_a_checkpoint_is_never_executed(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("executed!",))

    path = tmp_path / "evil.pt"
    torch.save({"payload": Evil()}, path)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_config_mismatch_names_the_fields(tmp_path):
    path = save_checkpoint(tmp_path / "ckpt.pt", _state())
    with pytest.raises(CheckpointError, match=r"model_config does not match:\n  size: checkpoint has 64, you asked for 128"):
        load_checkpoint(path, expect={"model_config": {"size": 128, "channels": [8, 16]}})
    assert load_checkpoint(path, expect={"model_config": {"size": 64, "channels": [8, 16]}})["step"] == 3
