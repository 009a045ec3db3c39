"""Several training processes (torchrun, DDP over gloo on the CPU) take the steps of one process."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fewshot_lib.cli import main
from fewshot_lib.models import Discriminator, get_preset
from fewshot_lib.train.batches import StepBatchSampler
from fewshot_lib.train.distributed import Distributed, all_reduce_rows, data_parallel

REPO = Path(__file__).resolve().parents[1]
# One D step per iteration, so that every gradient of a step is taken at the checkpoint's weights.
TRAIN = ["train", "--preset", "tiny", "--k", "2", "--batch-size", "4", "--d-steps", "1",
         "--log-every", "1", "--sample-every", "1000", "--checkpoint-every", "1"]


def test_each_process_takes_its_contiguous_share_of_the_global_batch():
    one = list(StepBatchSampler(12, 4, seed=0, start=3, stop=7))
    two = [list(StepBatchSampler(12, 4, seed=0, start=3, stop=7, dist=Distributed(rank, 2))) for rank in (0, 1)]
    assert [a + b for a, b in zip(*two)] == one
    with pytest.raises(ValueError, match="multiple of 3"):
        StepBatchSampler(12, 4, seed=0, start=0, stop=1, dist=Distributed(0, 3))


@pytest.fixture
def process_group(tmp_path):
    """A one-process gloo group in this process: enough to build DDP and watch what it sends."""
    torch.distributed.init_process_group("gloo", rank=0, world_size=1, init_method=f"file://{tmp_path}/store")
    yield
    torch.distributed.destroy_process_group()


def test_W_stays_out_of_DDPs_all_reduce_and_only_used_rows_are_sent(process_group):
    D = Discriminator(get_preset("tiny"), num_videos=50)
    wrapped = data_parallel(D, Distributed(rank=0, world_size=2), torch.device("cpu"), ignore=("W.weight",))
    sent = []

    def record(state, bucket):                                   # DDP's all-reduce, replaced by a recorder
        sent.append(sum(p.numel() for p in bucket.parameters()))
        done = torch.futures.Future()
        done.set_result(bucket.buffer())
        return done

    wrapped.register_comm_hook(None, record)
    x, videos = torch.rand(2, 3, 32, 32) * 2 - 1, torch.tensor([7, 30])
    r, _ = wrapped(x, x, videos)
    r.sum().backward()
    assert sum(sent) == sum(p.numel() for p in D.parameters()) - D.W.weight.numel()

    grad = D.W.weight.grad.clone()
    assert set(grad.abs().sum(1).nonzero().flatten().tolist()) == {7, 30}   # only the batch's rows are non-zero
    all_reduce_rows(D.W, videos, Distributed(rank=0, world_size=1))        # one process: nothing to do
    assert torch.equal(D.W.weight.grad, grad)


def log(run: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"}
            for line in (run / "log.jsonl").read_text().splitlines()]


def gradients(before: dict, after: dict, optimizer: str, beta1: float = 0.5) -> torch.Tensor:
    """The gradient of the step between two checkpoints, read off Adam's first moment:
    m_after = β₁ m_before + (1 − β₁) g, all parameters of ``optimizer`` as one vector."""
    old, new = before[optimizer]["state"], after[optimizer]["state"]
    return torch.cat([((new[i]["exp_avg"] - beta1 * old[i]["exp_avg"]) / (1 - beta1)).flatten() for i in sorted(new)])


def torchrun(processes: int, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           f"--nproc_per_node={processes}", "-m", "fewshot_lib", *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_two_processes_equal_one_and_resume_with_another_count(tmp_path):
    """From one step-2 checkpoint (written by 1 process), step 3 with 1 process and with 2
    processes (torchrun, gloo), global batch 4 both times; then steps 4-5 in 1 process each."""
    one, two = tmp_path / "one", tmp_path / "two"
    assert main([*TRAIN, "--out", str(one), "--steps", "2"]) == 0
    shutil.copytree(one, two)
    at_2 = torch.load(one / "checkpoint.pt", weights_only=True)
    assert main([*TRAIN, "--out", str(one), "--steps", "3", "--resume"]) == 0
    torchrun(2, *TRAIN, "--out", str(two), "--steps", "3", "--resume")               # 1 → 2 processes
    one_3, two_3 = (torch.load(run / "checkpoint.pt", weights_only=True) for run in (one, two))

    assert [row["step"] for row in log(two)] == [1, 2, 3], "rank 0 alone writes the log"
    assert log(two)[2] == pytest.approx(log(one)[2], rel=1e-5, abs=1e-6)     # the losses of all 4 episodes
    for optimizer in ("opt_G", "opt_D"):                                       # E, G, P; D with W
        g_one, g_two = gradients(at_2, one_3, optimizer), gradients(at_2, two_3, optimizer)
        assert (g_two - g_one).norm() < 1e-4 * g_one.norm(), f"{optimizer}: 2 processes took another step"
    torch.testing.assert_close(two_3["D"]["W.weight"], one_3["D"]["W.weight"], rtol=0, atol=1e-6)

    assert main([*TRAIN, "--out", str(one), "--steps", "5", "--resume"]) == 0
    assert main([*TRAIN, "--out", str(two), "--steps", "5", "--resume"]) == 0       # 2 → 1 process
    for mine, theirs in zip(log(two)[3:], log(one)[3:], strict=True):
        assert mine == pytest.approx(theirs, rel=1e-3, abs=1e-3)
