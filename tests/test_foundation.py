"""The course foundation: config, CLI, the headless course runner and the notebook harness."""
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from fewshot_lib import config
from fewshot_lib.cli import build_parser, main
from fewshot_lib.course import course_notebooks, run_course

ROOT = Path(__file__).resolve().parents[1]


def test_config_reads_environment():
    cfg = config.load_config({"FEWSHOT_SMOKE": "1", "FEWSHOT_OFFLINE": "yes", "FEWSHOT_HOME": "~/x",
                              "FEWSHOT_DEVICE": "CPU", "FEWSHOT_THREADS": "3", "FEWSHOT_RUNS": "out"})
    assert (cfg.smoke, cfg.offline, cfg.device, cfg.threads) == (True, True, "cpu", 3)
    assert cfg.home == Path("~/x").expanduser() and cfg.runs == Path("out")
    assert config.load_config({}) == config.Config()


@pytest.mark.parametrize("name, value, words", [
    ("FEWSHOT_SMOKE", "maybe", "use 1 or 0"),
    ("FEWSHOT_DEVICE", "tpu", "choose one of"),
    ("FEWSHOT_THREADS", "-2", "whole number"),
])
def test_config_rejects_bad_values_clearly(name, value, words):
    with pytest.raises(ValueError, match=words):
        config.load_config({name: value})


def test_pick_follows_smoke_mode(monkeypatch):
    monkeypatch.setattr(config, "CONFIG", config.Config(smoke=True))
    assert config.pick(full=100, smoke=2) == 2
    monkeypatch.setattr(config, "CONFIG", config.Config(smoke=False))
    assert config.pick(full=100, smoke=2) == 100


def test_seed_everything_is_reproducible():
    import torch

    a = torch.randn(3, generator=config.seed_everything(7)), torch.randn(3)
    b = torch.randn(3, generator=config.seed_everything(7)), torch.randn(3)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_device_is_cpu_here_and_cuda_refused_without_gpu():
    import torch

    assert config.get_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA"):
            config.get_device("cuda")


def test_cli_help_lists_every_command(capsys):
    commands = build_parser()._subparsers._group_actions[0].choices
    assert {"env", "course"} <= set(commands)
    assert main([]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in commands)


def test_console_script_and_module_agree():
    out = subprocess.run([sys.executable, "-m", "fewshot_lib", "--help"], capture_output=True, text=True, check=True)
    assert "course" in out.stdout and "env" in out.stdout


def test_env_command_reports_assets(capsys):
    assert main(["env", "--no-network"]) == 0
    out = capsys.readouterr().out
    assert "torch" in out and "dlib 68-point predictor" in out and "face-alignment" in out


def test_course_runs_notebooks_in_order(tmp_path):
    names = [p.name for p in course_notebooks(ROOT / "notebooks")]
    assert names[0] == "00_overview.ipynb" and names == sorted(names)
    executed = run_course(ROOT / "notebooks", tmp_path, smoke=True, only=["00"])
    assert [p.name for p in executed] == ["00_overview.ipynb"]
    nb = nbformat.read(executed[0], as_version=4)
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code")
    assert (tmp_path / "runs" / "00_overview" / "method.png").is_file()


def test_papermill_parameters_take_effect(tmp_path):
    import papermill

    out = tmp_path / "00.ipynb"
    papermill.execute_notebook(str(ROOT / "notebooks" / "00_overview.ipynb"), str(out),
                               parameters={"probe_network": False}, cwd=str(ROOT / "notebooks"),
                               kernel_name="python3", progress_bar=False)
    text = "".join(o.get("text", "") for c in nbformat.read(out, as_version=4).cells
                   if c.cell_type == "code" for o in c.outputs)
    assert "Network probe: off" in text
    assert "not downloadable" not in text  # no URL was probed


def _run_pytest_on(tmp_path, source: str, *options: str) -> int:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell(source)],
                                  metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, path)
    # Same options as the project's pytest configuration (rootdir = this repository).
    return subprocess.run([sys.executable, "-m", "pytest", str(path), "-p", "no:xdist", "-q",
                           "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml"), *options],
                          capture_output=True, text=True).returncode


def test_harness_fails_on_a_broken_notebook(tmp_path):
    assert _run_pytest_on(tmp_path, "x = 2") == 0
    assert _run_pytest_on(tmp_path, "raise RuntimeError('broken cell')") != 0


def test_harness_fails_on_a_timed_out_cell(tmp_path):
    assert _run_pytest_on(tmp_path, "import time; time.sleep(30)", "--nbval-cell-timeout=2") != 0
