"""Test-wide settings, applied before any notebook kernel starts (kernels inherit them)."""
import os
import tempfile

# Notebooks and library run in smoke mode under pytest unless the caller says otherwise.
os.environ.setdefault("FEWSHOT_SMOKE", "1")
# Tests never download weights or data: they run on what packages ship and what the project makes.
os.environ.setdefault("FEWSHOT_OFFLINE", "1")
# Outputs of notebooks run by nbval go to a scratch folder, never into the repository.
os.environ.setdefault("FEWSHOT_RUNS", tempfile.mkdtemp(prefix="fewshot_runs_"))
# Two notebooks run side by side on 2 cores: one thread each is ~4x faster than contention.
os.environ.setdefault("OMP_NUM_THREADS", "1")
