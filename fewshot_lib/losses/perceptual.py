"""The perceptual networks of L_CNT: VGG19 (ImageNet) and VGG-Face (a VGG16), and their weights.

The content loss compares real and generated frames through two frozen classifiers, at the
ReLU after conv1_1, conv2_1, conv3_1, conv4_1 and conv5_1 (paper, Section 3.2)::

    L_VGG(x, x̂) = Σ_l ‖φ_l(x) − φ_l(x̂)‖₁ / |φ_l|        (φ_l: the features at layer l)

Both networks are short enough to write out (no torchvision: it does not import beside the
course's torch build), so this module defines them as plain conv stacks cut after conv5_1,
and loads published weights into them through an explicit table of tensor names.

Both were trained on 0–255 images with a mean colour subtracted, and each expects the channel
order it was trained with (:func:`caffe_preprocess`). Feeding them [0, 1] or [-1, 1] images
makes every activation ~255× too small, and L_CNT with it: a known reproduction failure.

Weight files (details, sizes and licences in ``data/README.md``):

* VGG19: Simonyan & Zisserman's Caffe model, converted to PyTorch by Justin Johnson
  (``vgg19-d01eb7cb.pth``, github.com/jcjohnson/pytorch-vgg). Caffe convention: BGR, 0–255,
  minus the ImageNet mean pixel (B, G, R) = (103.939, 116.779, 123.68). Tensor names follow
  torchvision's ``features.N`` layout.
* VGG-Face: Oxford VGG's face-recognition VGG16 (Parkhi et al., BMVC 2015), imported from
  MatConvNet by Samuel Albanie (``vgg_face_dag.pth``, pytorch-mcn). The paper calls it a Caffe
  model (BGR), but this conversion went through MatConvNet, which reads images as RGB: its
  first layer takes **RGB**, 0–255, minus (R, G, B) = (129.186, 104.762, 93.594), the mean
  listed in ``meta`` of the ``vgg_face_dag.py`` that accompanies the file (red is largest:
  skin). Feeding it BGR would swap its red and blue filters. Tensor names: ``conv1_1`` …

Neither file's SHA-256 could be checked where this was written (no internet), so ``sha256``
is ``None`` and the loader prints the hash it computes: compare it with a trusted copy and pin
it (``dataclasses.replace(VGG19, sha256=...)`` or edit the constant). Files are cached under
``CONFIG.home / "weights"``; ``FEWSHOT_OFFLINE=1`` never downloads. ``fewshot weights`` shows
what is present (``--download`` fetches the rest). Introduced in notebook 05.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import FewshotError, MissingFileError
from ..config import CONFIG

LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
"""The paper's layers: the ReLU after the first conv of each of VGG's five blocks."""
WIDTHS = (64, 128, 256, 512, 512)
"""Output channels of every conv in VGG's blocks 1–5."""


class WeightsNotFound(FileNotFoundError):
    """No weights file in the cache, and it could not (or may not) be downloaded."""


class WeightsError(FewshotError, ValueError):
    """A weights file is unreadable, truncated, holds the wrong tensors, or fails its checksum."""


class ChecksumError(WeightsError):
    """A weights file's SHA-256 differs from the pinned one."""


@dataclass(frozen=True)
class PerceptualSpec:
    """One perceptual network: its architecture, input convention and published weights."""

    name: str
    blocks: tuple[int, ...]           # convs built per block, up to conv5_1 (the last layer used)
    channel_order: str                # "BGR" or "RGB": what the first conv was trained on
    mean: tuple[float, float, float]  # subtracted on the 0–255 scale, in channel_order
    keys: Mapping[str, str]           # our conv name → prefix of its tensors in the published file
    url: str
    sha256: str | None                # None: not verified yet (the loader prints the actual hash)
    licence: str

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[1]

    @property
    def conv_names(self) -> list[str]:
        return [f"conv{b}_{i}" for b, n in enumerate(self.blocks, start=1) for i in range(1, n + 1)]


VGG19 = PerceptualSpec(
    name="VGG19",
    blocks=(2, 2, 4, 4, 1),
    channel_order="BGR",
    mean=(103.939, 116.779, 123.68),
    # torchvision's layout: features.N counts every layer (conv, ReLU, max-pool) of VGG19.
    keys={"conv1_1": "features.0", "conv1_2": "features.2",
          "conv2_1": "features.5", "conv2_2": "features.7",
          "conv3_1": "features.10", "conv3_2": "features.12", "conv3_3": "features.14", "conv3_4": "features.16",
          "conv4_1": "features.19", "conv4_2": "features.21", "conv4_3": "features.23", "conv4_4": "features.25",
          "conv5_1": "features.28"},
    url="https://web.eecs.umich.edu/~justincj/models/vgg19-d01eb7cb.pth",
    sha256=None,  # unverified offline; by torch.hub's naming convention it should start with d01eb7cb
    licence="CC BY 4.0 (the VGG team's release of the ILSVRC-2014 models)",
)

VGGFACE = PerceptualSpec(
    name="VGGFace",
    blocks=(2, 2, 3, 3, 1),
    channel_order="RGB",
    mean=(129.186279296875, 104.76238250732422, 93.59396362304688),
    keys={"conv1_1": "conv1_1", "conv1_2": "conv1_2",
          "conv2_1": "conv2_1", "conv2_2": "conv2_2",
          "conv3_1": "conv3_1", "conv3_2": "conv3_2", "conv3_3": "conv3_3",
          "conv4_1": "conv4_1", "conv4_2": "conv4_2", "conv4_3": "conv4_3",
          "conv5_1": "conv5_1"},
    url="https://www.robots.ox.ac.uk/~albanie/models/pytorch-mcn/vgg_face_dag.pth",
    sha256=None,  # unverified offline
    licence="non-commercial research use (Oxford VGG's terms for VGG-Face)",
)

SPECS = {"vgg19": VGG19, "vggface": VGGFACE}


def caffe_preprocess(x: torch.Tensor, channel_order: str, mean) -> torch.Tensor:
    """Course images (RGB in [-1, 1]) → what a Caffe-era network expects: 0–255, its channel order, mean-free."""
    x = (x + 1) * 127.5                                  # (B, 3, H, W) RGB in [0, 255]
    if channel_order == "BGR":
        x = x.flip(1)                                    # RGB → BGR
    elif channel_order != "RGB":
        raise ValueError(f"channel_order={channel_order!r}: use 'BGR' or 'RGB'")
    return x - torch.as_tensor(mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)   # mean: 3 numbers


class PerceptualNetwork(nn.Module):
    """A VGG conv stack cut after conv5_1, frozen; returns the features at :data:`LAYERS`.

    Built with random He-initialised weights from ``seed`` (the "random twin" used when no
    published weights are available); :meth:`load_weights` replaces them.
    """

    def __init__(self, spec: PerceptualSpec, seed: int = 0):
        super().__init__()
        self.spec = spec
        self.register_buffer("mean", torch.tensor(spec.mean).view(1, 3, 1, 1), persistent=False)
        rng = torch.Generator().manual_seed(seed)
        convs, channels = {}, 3
        for name in spec.conv_names:
            width = WIDTHS[int(name[4]) - 1]                     # conv{block}_{i}
            conv = nn.Conv2d(channels, width, kernel_size=3, padding=1)
            with torch.no_grad():                                # He init: w ~ N(0, 2 / fan_in), b = 0
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=rng) * (2 / (channels * 9)) ** 0.5)
                conv.bias.zero_()
            convs[name], channels = conv, width
        self.convs = nn.ModuleDict(convs)
        self.requires_grad_(False)                               # frozen: gradients flow to the input only
        self.eval()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``x``: (B, 3, H, W) RGB in [-1, 1] → 5 feature maps, (B, 64, H, W) … (B, 512, H/16, W/16)."""
        h = caffe_preprocess(x, self.spec.channel_order, self.mean)
        features = []
        for name, conv in self.convs.items():
            if name.endswith("_1") and name != "conv1_1":
                h = F.max_pool2d(h, 2)                           # every block after the first halves H, W
            h = F.relu(conv(h))
            if name.endswith("_1"):
                features.append(h)                               # relu{block}_1: the paper's layers
        return features

    def load_weights(self, path: str | Path) -> "PerceptualNetwork":
        """Copy the conv tensors of a published weights file into this stack (extra tensors are ignored)."""
        path = Path(path)
        state = read_state_dict(path)
        ours = self.convs.state_dict()                           # "conv3_1.weight" → tensor
        mapped, problems = {}, []
        for name, prefix in self.spec.keys.items():              # e.g. "conv3_1" → "features.10"
            for kind in ("weight", "bias"):
                key, expected = f"{prefix}.{kind}", ours[f"{name}.{kind}"]
                if key not in state:
                    problems.append(f"no tensor {key!r} (for {name})")
                elif tuple(state[key].shape) != tuple(expected.shape):
                    problems.append(f"{key!r} has shape {tuple(state[key].shape)}, "
                                    f"{name} needs {tuple(expected.shape)}")
                else:
                    mapped[f"{name}.{kind}"] = state[key]
        if problems:
            listed = "; ".join(problems[:4]) + (f"; … ({len(problems)} problems)" if len(problems) > 4 else "")
            raise WeightsError(f"{path} is not a {self.spec.name} weights file like {self.spec.url}: {listed}. "
                               "Pass the right file, or delete it to download it again.")
        self.convs.load_state_dict(mapped)
        return self


def perceptual_loss(network: PerceptualNetwork, x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """L_VGG(x, x̂) = Σ_l ‖φ_l(x) − φ_l(x̂)‖₁ / |φ_l|, summed over the paper's 5 layers.

    ``x_hat``, ``x``: (B, 3, H, W) in [-1, 1]. The real image's features need no gradient.
    """
    with torch.no_grad():
        real = network(x)                                        # 5 × (B, C_l, H_l, W_l)
    fake = network(x_hat)
    return sum(F.l1_loss(f, r) for f, r in zip(fake, real))


# ---- weight files -------------------------------------------------------------------------

def weights_path(spec: PerceptualSpec) -> Path:
    """Where the library caches ``spec``'s weights file."""
    return CONFIG.home / "weights" / spec.filename


def download_weights(url: str, destination: Path) -> None:
    """Download ``url`` to ``destination`` (via a temporary file, so a broken download leaves nothing)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    torch.hub.download_url_to_file(url, str(destination), progress=True)


def find_weights(spec: PerceptualSpec, path: str | Path | None = None, download: bool = True) -> Path:
    """The weights file for ``spec``: ``path`` if given, else the cached file, else a download.

    Never downloads when ``download`` is False or ``CONFIG.offline`` is set. Raises
    :class:`WeightsNotFound` (saying where it looked and why nothing was downloaded) when
    there is no file, and ``FileNotFoundError`` when an explicit ``path`` does not exist.
    """
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise MissingFileError(f"{spec.name} weights: no file at {path}; download {spec.url} there, "
                                    f"or leave the path out to use the cache ({weights_path(spec)})")
        return path
    cached = weights_path(spec)
    if cached.is_file():
        return cached
    if CONFIG.offline or not download:
        why = "offline mode, FEWSHOT_OFFLINE=1" if CONFIG.offline else "downloads turned off"
        raise WeightsNotFound(f"{spec.name} weights not found at {cached} ({why}; the file is {spec.url})")
    try:
        download_weights(spec.url, cached)
    except Exception as error:  # no network, moved file, interrupted transfer: all mean "not available"
        raise WeightsNotFound(f"{spec.name} weights not found at {cached}, and downloading {spec.url} failed "
                              f"({type(error).__name__}: {error})") from error
    return cached


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_checksum(path: str | Path, expected: str | None) -> str:
    """Return ``path``'s SHA-256; raise :class:`ChecksumError` if it differs from ``expected``.

    With ``expected=None`` (nothing pinned) it prints the hash, so you can compare and pin it.
    """
    actual = sha256_of(path)
    if expected is None:
        print(f"{Path(path).name}: SHA-256 {actual} (no pinned checksum to compare with; "
              "check it against a trusted copy, then pin it)")
    elif actual != expected.lower():
        raise ChecksumError(f"{path}: SHA-256 is {actual}, expected {expected}. The file is corrupt or not the "
                            "published one: delete it and download it again.")
    return actual


def read_state_dict(path: Path) -> Mapping[str, torch.Tensor]:
    """Tensors of a ``.safetensors`` file or a torch file, read without executing code from it."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated zip, bad pickle, unsupported object: all unreadable
        raise WeightsError(f"{path}: cannot read it as a weights file ({type(error).__name__}: {error}). "
                           "It may be truncated by an interrupted download: delete it and download it "
                           "again, or pass another file.") from error
    if not isinstance(state, Mapping):
        raise WeightsError(f"{path} holds a {type(state).__name__}, not a dict of tensors (a state dict)")
    return state


def load_perceptual_network(spec: PerceptualSpec, path: str | Path | None = None,
                            download: bool = True) -> PerceptualNetwork:
    """``spec``'s network with its published weights: found (:func:`find_weights`), checked, loaded."""
    path = find_weights(spec, path, download)
    verify_checksum(path, spec.sha256)
    return PerceptualNetwork(spec).load_weights(path)


def weights_report(download: bool = False) -> str:
    """One line per perceptual network: where its weights are, or why they are missing."""
    lines = []
    for spec in SPECS.values():
        try:
            path = find_weights(spec, download=download)
            lines.append(f"✓ {spec.name}: {path} (SHA-256 {verify_checksum(path, spec.sha256)})")
        except ChecksumError as wrong:
            lines.append(f"✗ {wrong}")
        except WeightsNotFound as missing:
            lines.append(f"✗ {missing}\n  → run `fewshot weights --download` where there is internet, "
                         "or put the file there yourself")
    return "\n".join(lines)


def add_weights_command(subcommands) -> None:
    p = subcommands.add_parser("weights", help="show (and download) the VGG19 / VGGFace perceptual-loss weights")
    p.add_argument("--download", action="store_true", help="download missing files (never in offline mode)")
    p.set_defaults(run=lambda a: print(weights_report(download=a.download)))
