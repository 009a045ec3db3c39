"""Issue 15: no NaN "good" checkpoint, never two runs in one log, torn logs and orphans survived,
settings checked before any work, outputs never replaced unasked, and one-line CLI errors."""
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import torch

from fewshot_lib.cli import main
from fewshot_lib.errors import FewshotError, OutputExistsError, output_path
from fewshot_lib.finetune import FinetuneConfig
from fewshot_lib.flags import ConfigError
from fewshot_lib.train.checkpoint import load_checkpoint
from fewshot_lib.train.meta import TrainConfig, TrainingDiverged, resume_or_start
from test_train import TINY, make, tiny_dataset

QUIET = dict(log=lambda *_: None)


def logged_steps(run):
    return [json.loads(line)["step"] for line in (run / "log.jsonl").read_text().splitlines()]


def test_a_diverged_update_never_becomes_the_last_good_checkpoint(tmp_path):
    # Finite losses at step 1, but an update with lr 1e10 that turns weights to NaN: the losses are
    # computed before the update, so only a look at the weights catches it.
    trainer = make(tmp_path, steps=3, checkpoint_every=1, lr_g=1e10, lr_d=1e10)
    with pytest.raises(TrainingDiverged, match="NaN or infinite"):
        trainer.train(progress=False)
    checkpoint = trainer.out_dir / "checkpoint.pt"
    if checkpoint.exists():                                  # whatever was saved before the divergence is finite
        state = load_checkpoint(checkpoint)
        for name in ("E", "G", "D"):
            assert all(torch.isfinite(v).all() for v in state[name].values() if v.is_floating_point()), name


def test_weights_turned_nan_are_caught_before_a_checkpoint_is_written(tmp_path):
    trainer = make(tmp_path, steps=2, checkpoint_every=1)
    trainer.train(steps=1, progress=False)
    good = (trainer.out_dir / "checkpoint.pt").read_bytes()
    with torch.no_grad():
        next(trainer.D.parameters()).fill_(float("nan"))    # losses of the last step were finite
    with pytest.raises(TrainingDiverged, match="D's weights"):
        trainer.save()
    assert (trainer.out_dir / "checkpoint.pt").read_bytes() == good


def test_a_fresh_run_never_appends_to_an_earlier_log(tmp_path):
    crashed = make(tmp_path, steps=3)                        # crashed before its first checkpoint: a log, no checkpoint
    crashed.train(progress=False)
    (crashed.out_dir / "checkpoint.pt").unlink()
    assert logged_steps(crashed.out_dir) == [1, 2, 3]
    with pytest.raises(OutputExistsError, match="--overwrite"):
        resume_or_start(TINY, crashed.cfg, tiny_dataset(), crashed.out_dir, resume=False, **QUIET)
    again = resume_or_start(TINY, crashed.cfg, tiny_dataset(), crashed.out_dir, resume=False, overwrite=True, **QUIET)
    assert not (crashed.out_dir / "log.jsonl").exists()
    again.train(steps=2, progress=False)
    assert logged_steps(crashed.out_dir) == [1, 2]
    fresh = make(tmp_path, steps=1)                          # a trainer from step 0 in the same folder: its own log
    fresh.train(progress=False)
    assert logged_steps(fresh.out_dir) == [1]


def test_resume_survives_a_torn_log_line_and_removes_orphaned_temporary_files(tmp_path):
    trainer = make(tmp_path, steps=2, checkpoint_every=2)
    trainer.train(progress=False)
    with open(trainer.out_dir / "log.jsonl", "a") as f:
        f.write('{"step": 3, "loss_G": 1.2')                 # killed in the middle of an append
    orphan = trainer.out_dir / ".checkpoint.pt.abc123.tmp"   # killed in the middle of a checkpoint write
    orphan.write_bytes(b"half a checkpoint")
    said = []
    resumed = resume_or_start(TINY, trainer.cfg, tiny_dataset(), trainer.out_dir, resume=True, log=said.append)
    assert resumed.step == 2 and logged_steps(trainer.out_dir) == [1, 2]
    assert not orphan.exists()
    assert any("line 3" in line for line in said) and any("abc123" in line for line in said)


@pytest.mark.parametrize("config, field", [(lambda: TrainConfig(log_every=0), "--log-every"),
                                           (lambda: TrainConfig(checkpoint_every=0), "--checkpoint-every"),
                                           (lambda: TrainConfig(sample_every=-1), "--sample-every"),
                                           (lambda: TrainConfig(steps=-1), "--steps"),
                                           (lambda: TrainConfig(match_weight=-1.0), "--match-weight"),
                                           (lambda: FinetuneConfig(epochs=-1), "--epochs"),
                                           (lambda: FinetuneConfig(batch_size=0), "--batch-size")])
def test_settings_out_of_range_name_their_flag(config, field):
    with pytest.raises(ConfigError, match=f"{field} .* must be at least"):
        config()


def test_output_path_refuses_existing_files_folders_and_unwritable_places(tmp_path):
    existing = tmp_path / "person.safetensors"
    existing.write_text("the user's file")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        output_path(existing)
    assert output_path(existing, overwrite=True) == existing
    with pytest.raises(OutputExistsError, match="folder"):
        output_path(tmp_path)
    assert output_path(tmp_path / "new" / "deeper" / "x.pt") == tmp_path / "new" / "deeper" / "x.pt"
    with pytest.raises(FewshotError, match="cannot be written"):
        output_path("/proc/fewshot_test/x.pt")
    assert existing.read_text() == "the user's file"


def test_cli_errors_are_one_line_without_traceback(tmp_path, capsys):
    existing = tmp_path / "mine.txt"
    existing.write_text("the user's file")
    assert main(["finetune", "--synthetic", "0", "--out", str(existing)]) == 1   # refused before any work
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"fewshot finetune: {existing} already exists; choose another name, or pass --overwrite to replace it"]
    assert existing.read_text() == "the user's file"
    assert main(["train", "--log-every", "0", "--out", str(tmp_path / "run")]) == 1
    assert capsys.readouterr().err.strip() == "fewshot train: --log-every (log_every) must be at least 1; got 0"
    assert not (tmp_path / "run").exists(), "a bad setting must stop the command before it writes anything"
    with pytest.raises(ConfigError):                            # --debug: the traceback, for a bug report
        main(["--debug", "train", "--log-every", "0", "--out", str(tmp_path / "run")])


def test_a_command_whose_package_is_missing_says_so_and_the_others_still_work(tmp_path, monkeypatch, capsys):
    """A GPU machine with torch but not the notebook tools: `fewshot site` names the package, `fewshot train` runs."""
    from fewshot_lib import cli

    (tmp_path / "needs_missing.py").write_text("import no_such_package_for_fewshot\n\ndef add(subcommands): ...\n")
    (tmp_path / "broken_inside.py").write_text("import fewshot_lib.no_such_module\n\ndef add(subcommands): ...\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cli, "COMMANDS", {**cli.COMMANDS, "gone": "needs_missing:add"})
    assert main(["gone", "--any", "argument"]) == 1
    assert "'no_such_package_for_fewshot'" in capsys.readouterr().err
    assert main(["train", "--log-every", "0", "--out", str(tmp_path / "run")]) == 1     # parsed: its own error
    assert "--log-every" in capsys.readouterr().err
    monkeypatch.setattr(cli, "COMMANDS", {**cli.COMMANDS, "bug": "broken_inside:add"})
    with pytest.raises(ModuleNotFoundError):                   # a missing module of ours is a bug: not hidden
        main(["train", "--help"])


def test_cli_process_prints_no_traceback_for_a_missing_photo(tmp_path):
    done = subprocess.run([sys.executable, "-m", "fewshot_lib", "finetune", "--photo", str(tmp_path / "no.jpg"),
                           "--out", str(tmp_path / "p.safetensors")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert done.stderr.strip() == f"fewshot finetune: {tmp_path / 'no.jpg'}: no such image file"


def test_a_rejected_first_frame_leaves_the_file_at_the_export_path_alone(tmp_path):
    from fewshot_lib.video import VideoExportError, write_video

    mine = tmp_path / "holiday.mp4"
    mine.write_bytes(b"the user's own video")
    with pytest.raises(VideoExportError, match="uint8"):
        write_video(mine, [torch.zeros(8, 8, 3).numpy()])                 # a float frame
    assert mine.read_bytes() == b"the user's own video"
    assert [p.name for p in tmp_path.iterdir()] == ["holiday.mp4"], "no partial file may be left behind"


KILLED_WRITER = """
import sys, time, numpy as np
from fewshot_lib.video import VideoWriter
with VideoWriter(sys.argv[1], fps=8) as video:
    for i in range(10_000):
        video.write(np.full((64, 64, 3), i % 255, np.uint8))
        if i == 20:
            print("writing", flush=True)
        time.sleep(0.005)
"""


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_an_export_killed_half_way_leaves_nothing_at_the_final_name(tmp_path, suffix):
    import signal
    import time

    from fewshot_lib.video import PROVENANCE, read_metadata, write_video

    out = tmp_path / f"talking{suffix}"
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(out)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "writing"
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=60)
    time.sleep(1.0)                                      # the orphaned ffmpeg finishes what it was given
    assert not out.exists(), "a killed export must not leave a playable, unmarked video at the final name"
    write_video(out, [np.full((32, 32, 3), 90, np.uint8)] * 3)        # a finished export is there and marked
    assert PROVENANCE in read_metadata(out).get("comment", "")


def test_train_and_evaluate_write_under_FEWSHOT_RUNS(tmp_path):
    code = ("from fewshot_lib.cli import build_parser; p = build_parser(); "
            "print(p.parse_args(['train']).out); print(p.parse_args(['evaluate']).out)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "FEWSHOT_RUNS": str(tmp_path)})
    assert done.stdout.split() == [str(tmp_path / "meta"), str(tmp_path / "evaluate")], done.stderr


@pytest.mark.parametrize("argv, says", [
    (["bench", "--steps", "-1"], "argument --steps: must be at least 1; got -1"),
    (["prepare", "SRC", "OUT", "--margin", "-1"], "--margin (margin) must be at least 0; got -1"),
    (["prepare", "SRC", "OUT", "--box-sigma", "-3"], "--box-sigma (box_sigma) must be at least 0; got -3"),
    (["train", "--sample-every", "0"], "--sample-every (sample_every) must be at least 1; got 0"),
    (["finetune", "--synthetic", "-1", "--out", "OUT/p.safetensors"], "argument --synthetic: must be at least 0"),
    (["finetune", "--synthetic", "0", "--shots", "0", "--out", "OUT/p.safetensors"], "argument --shots: must be"),
    (["synth", "--out", "OUT", "--frames", "0"], "argument --frames: must be at least 1; got 0"),
    (["model-card", "x.pt", "--targets", "0"], "argument --targets: must be at least 1; got 0"),
])
def test_numeric_arguments_are_checked_before_any_work(tmp_path, capsys, argv, says):
    argv = [a.replace("SRC", str(tmp_path)).replace("OUT", str(tmp_path / "out")) for a in argv]
    try:
        status = main(argv)
    except SystemExit as exit:                              # argparse's own refusal: usage line + one error line
        status = exit.code
    assert status in (1, 2)
    assert says in capsys.readouterr().err
    assert not (tmp_path / "out").exists(), "nothing may be written for a refused command"


def test_prepare_explains_a_file_given_for_a_folder_and_fails_when_every_video_is_dropped(tmp_path, capsys):
    from fewshot_lib.data.prepare import PrepareError, find_videos

    videos = tmp_path / "videos"
    videos.mkdir()
    broken = videos / "clip.mp4"
    broken.write_bytes(b"not a video")
    with pytest.raises(PrepareError, match="is a file; .* give the folder"):
        find_videos(broken)
    (videos / "moved.mp4").symlink_to(tmp_path / "gone.mp4")             # a broken link
    assert main(["prepare", str(videos), str(tmp_path / "records"), "--backend", "dlib"]) == 1
    said = capsys.readouterr()
    assert "every video in" in said.err
    assert "dropped videos: unreadable 2" in said.out, said.out


def damaged_files(folder, good_checkpoint):
    """Files shaped like a checkpoint or a person model that cannot be used: {name: path}."""
    from safetensors.torch import save_file

    files = {"empty.pt": b"", "truncated.pt": good_checkpoint.read_bytes()[:1000],
             "garbage.pt": bytes(range(256)) * 20, "empty.safetensors": b"",
             "bad header.safetensors": b"\x10\x00\x00\x00\x00\x00\x00\x00{\"bad json"}
    paths = {}
    for name, data in files.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    paths["no metadata.safetensors"] = folder / "no metadata.safetensors"
    save_file({"x": torch.zeros(2)}, str(paths["no metadata.safetensors"]))
    paths["garbled metadata.safetensors"] = folder / "garbled metadata.safetensors"
    save_file({"psi": torch.zeros(4), "landmarks": torch.zeros(1, 68, 2)}, str(paths["garbled metadata.safetensors"]),
              metadata={"format": "fewshot_lib person model", "format_version": "1", "model_config": "{not json"})
    state = torch.load(good_checkpoint, weights_only=True)
    next(iter(state["D"].values())).fill_(float("nan"))
    paths["nan.pt"] = folder / "nan.pt"
    torch.save(state, paths["nan.pt"])
    return paths


def test_every_unusable_checkpoint_or_person_model_gets_the_course_error_naming_the_file(tmp_path):
    from fewshot_lib.finetune import PersonModel, PersonModelError
    from fewshot_lib.train.checkpoint import CheckpointError
    from fewshot_lib.train.networks import load_networks
    from fewshot_lib.warping.person import WarpPerson, WarpPersonError

    trainer = make(tmp_path, steps=1)
    trainer.train(progress=False)
    for name, path in damaged_files(tmp_path, trainer.out_dir / "checkpoint.pt").items():
        if name.endswith(".pt"):
            with pytest.raises(CheckpointError, match=str(path)):
                load_networks(path)
        else:
            for cls, error in ((PersonModel, PersonModelError), (WarpPerson, WarpPersonError)):
                with pytest.raises(error, match=str(path)):
                    cls.load(path)


def test_course_outside_a_checkout_says_what_to_do_and_leaves_no_empty_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)                               # as after `pip install fewshot_lib`, in any folder
    assert main(["course", "--out", str(tmp_path / "build")]) == 1
    err = capsys.readouterr().err
    assert "run this from a checkout" in err and "--notebooks" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "build").exists()
    assert main(["student"]) == 1


def test_a_corrupt_record_is_found_before_training_starts(tmp_path, capsys):
    from fewshot_lib.data import SyntheticHeads
    from fewshot_lib.data.records import write_record

    heads = SyntheticHeads(seed=0)
    for i in range(3):
        video = heads.video(identity=i, video=0, num_frames=6, size=32)
        write_record(tmp_path / "records" / f"id{i}.npz", video.frames(), video.landmarks, video.meta)
    bad = tmp_path / "records" / "id1.npz"
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF                              # one flipped byte inside the frames
    bad.write_bytes(bytes(data))
    assert main(["train", "--data", str(tmp_path / "records"), "--preset", "tiny", "--k", "2", "--batch-size", "2",
                 "--steps", "2", "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"fewshot train: {bad}: corrupt or truncated record") and len(err.splitlines()) == 1
    assert not (tmp_path / "run" / "checkpoint.pt").exists(), "found before the first step"


def test_a_fork_changes_the_repository_address_in_one_place(tmp_path):
    import shutil

    from fewshot_lib.config import REPOSITORY, colab_url
    from fewshot_lib.repository import sync_repository, written_repository

    root = pathlib.Path(__file__).resolve().parents[1]
    for name in ("README.md", "pyproject.toml", "docs/STYLE.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / name, tmp_path / name)
    shutil.copytree(root / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns("student"))
    assert written_repository(tmp_path) == REPOSITORY
    changed = sync_repository(tmp_path, tmp_path / "notebooks", new="someone/my-fork")
    assert tmp_path / "README.md" in changed and tmp_path / "notebooks" / "07_fine_tuning.ipynb" in changed
    assert written_repository(tmp_path) == "someone/my-fork"
    for path in [tmp_path / "README.md", tmp_path / "pyproject.toml", *(tmp_path / "notebooks").glob("*.ipynb")]:
        text = path.read_text()
        assert f"github.com/{REPOSITORY}" not in text and f"github/{REPOSITORY}" not in text, path
    badge = colab_url("notebooks/03_embedder.ipynb").replace(REPOSITORY, "someone/my-fork")
    assert badge in (tmp_path / "notebooks" / "03_embedder.ipynb").read_text()
    assert sync_repository(tmp_path, tmp_path / "notebooks", new="someone/my-fork") == []    # nothing left to change


def test_finetune_names_the_photo_without_a_face(tmp_path, capsys):
    from PIL import Image

    from fewshot_lib.landmarks import load_portrait

    face, blank = tmp_path / "a.jpg", tmp_path / "b.png"
    Image.fromarray(load_portrait("grace_hopper")).save(face)
    Image.fromarray(np.full((200, 200, 3), 128, np.uint8)).save(blank)
    assert main(["finetune", "--frames", str(face), str(blank), "--epochs", "0",
                 "--out", str(tmp_path / "p.safetensors")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"fewshot finetune: {blank}: ") and len(err.splitlines()) <= 2, err


def test_conda_files_install_the_tested_torch_line_cpu_or_gpu():
    import yaml

    root = pathlib.Path(__file__).resolve().parents[1]
    cpu, gpu = (yaml.safe_load((root / name).read_text()) for name in ("environment.yml", "environment-gpu.yml"))
    pip = lambda env: next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in pip(cpu) and "torch==2.13.*" in pip(cpu)
    assert "torch==2.13.*" in pip(gpu) and not any("whl/cpu" in line for line in pip(gpu))
    assert all('-e ".[course,test,offline]"' in pip(env) for env in (cpu, gpu))
    assert cpu["name"] != gpu["name"]


def test_the_wheel_carries_the_licence(tmp_path):
    import zipfile

    root = pathlib.Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(root), "--no-deps", "-q",
                    "-w", str(tmp_path)], check=True, capture_output=True, timeout=600)
    (wheel,) = tmp_path.glob("fewshot_lib-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(name.endswith("licenses/LICENSE") for name in names), names[-5:]
    assert "fewshot_lib/errors.py" in names and "fewshot_lib/checks/puppeteering.py" in names
