"""`fewshot bench`: its JSON lines, the FLOP count, the peak table, the person model, the data pipeline."""
import json

import pytest
import torch
from torch.nn.utils import parametrize

from fewshot_lib.bench import (BASELINE, Setting, bench_data, inference_generator, peak_tflops, run_bench,
                               settings_to_run)
from fewshot_lib.cli import main
from fewshot_lib.models import Generator, get_preset

FIELDS = {"kind", "device", "preset", "image_size", "batch", "k", "videos", "precision", "memory_format", "compile",
          "steps", "ms_per_step", "samples_per_s", "peak_memory_gib", "finite", "content", "gflop_per_step", "tflops",
          "peak_tflops", "fraction_of_peak", "infer_batch1_ms", "infer_fps", "g_gflop_per_frame", "infer_batch",
          "speedup", "infer_speedup", "cpu_load_1min", "cpu_ms_per_step", "infer_batch1_cpu_ms"}


def test_cli_prints_one_json_line_per_configuration(capsys):
    assert main(["bench", "--preset", "tiny", "--batch", "2", "--k", "2", "--steps", "2", "--warmup", "1",
                 "--infer-batch", "4", "--device", "cpu"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 1, "on a CPU, precision auto is fp32: the baseline alone"
    line = lines[0]
    assert set(line) == FIELDS
    assert (line["precision"], line["memory_format"], line["compile"]) == ("fp32", "contiguous_format", False)
    assert line["speedup"] == line["infer_speedup"] == 1.0
    assert line["samples_per_s"] == pytest.approx(2 / (line["ms_per_step"] / 1e3))
    assert line["tflops"] == pytest.approx(line["gflop_per_step"] / line["ms_per_step"])   # GFLOP/ms = TFLOP/s
    assert line["peak_tflops"] is None and line["fraction_of_peak"] is None               # no peak for CPUs
    assert line["finite"] and line["content"] == ["pixel"] and line["peak_memory_gib"] > 0
    assert line["infer_batch1_ms"] > 0 and line["infer_fps"] > 0


def test_flops_grow_with_the_batch_and_G_costs_the_same_per_frame():
    small, large = run_bench(["tiny"], [1, 2], k=2, steps=1, warmup=0, infer_batch=2, infer_calls=2)
    assert small["gflop_per_step"] > 0
    # Everything in a step is per episode, except spectral norm's power iterations (a few mat-vec products).
    assert large["gflop_per_step"] == pytest.approx(2 * small["gflop_per_step"], rel=0.02)
    assert large["g_gflop_per_frame"] == small["g_gflop_per_frame"] > 0


def test_the_baseline_comes_first_and_duplicates_are_dropped():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert settings_to_run(["auto", "fp32"], compile=False, device=cpu) == [BASELINE]
    assert settings_to_run(["auto"], compile=True, device=cpu) == [BASELINE, Setting("auto", "auto", True)]
    # On CUDA, fp32 with channels-last (the "auto" memory format there) is a configuration of its own.
    assert settings_to_run(["fp32"], compile=False, device=cuda) == [BASELINE, Setting("fp32", "auto", False)]


def test_peak_table_matches_gpu_names():
    assert peak_tflops("NVIDIA H100 80GB HBM3", "bf16") == 989.4
    assert peak_tflops("NVIDIA H100 PCIe", "bf16") == 756.0          # not the SXM card's figure
    assert peak_tflops("NVIDIA H200", "tf32") == 494.7
    assert (peak_tflops("NVIDIA L40S", "bf16"), peak_tflops("NVIDIA L40", "bf16"), peak_tflops("NVIDIA L4", "bf16")) \
        == (362.1, 181.0, 121.0)
    assert peak_tflops("Tesla T4", "fp16") == 65.0
    assert peak_tflops("Tesla T4", "bf16") is None                   # T4 has no bf16
    assert peak_tflops("Some Future GPU", "bf16") is None


def test_the_person_model_draws_what_G_draws_with_its_spectral_norms_baked():
    cfg = get_preset("tiny")
    G = Generator(cfg)
    fast = inference_generator(G)
    assert not any(parametrize.is_parametrized(m) for m in fast.modules())
    assert any(parametrize.is_parametrized(m) for m in G.modules()), "G itself must stay trainable"
    assert G.training and not fast.training and not any(p.requires_grad for p in fast.parameters())
    G.eval()
    psi = G.psi_hat(torch.randn(3, cfg.embed_dim)).detach()
    y = torch.rand(3, 3, cfg.image_size, cfg.image_size) * 2 - 1
    torch.testing.assert_close(fast.forward_from_psi(y, psi), G.forward_from_psi(y, psi).detach())


def test_person_only_lines_time_G_without_training(capsys):
    assert main(["bench", "--preset", "tiny", "--person-only", "--infer-batch", "2", "--device", "cpu"]) == 0
    line, = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert line["kind"] == "person" and "ms_per_step" not in line
    assert line["infer_batch1_ms"] > 0 and line["infer_speedup"] == 1.0


def test_data_pipeline_line_counts_episodes_and_frames():
    line = bench_data("tiny", k=2, batch=2, workers=0, steps=2)
    assert line["kind"] == "data" and line["episodes_per_s"] > 0
    assert line["frames_per_s"] == pytest.approx(3 * line["episodes_per_s"])   # K + 1 frames per episode
