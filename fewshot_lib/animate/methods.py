"""The rendering methods: how the source is drawn with the driving landmarks, R × R frames.

:data:`METHODS` by name: ``"tps"`` warps the source's pixels with a thin-plate spline (notebook 10);
``"paper"`` is the paper's person model (notebook 07), drawn at its 64² and resized; ``"warp"`` is the
learned warping generator (notebook 10). A new method subclasses :class:`Method` and is added to
:data:`METHODS`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..data import to_tensor
from .motion import keep_open, nearest_reference, openings
from .source import Source


@dataclass(frozen=True)
class MethodOptions:
    """What a method may need besides the source: the device, the paper model's checkpoint and epochs."""

    device: torch.device = torch.device("cpu")
    finetune_epochs: int = 0
    checkpoint: str | Path | None = None
    progress: bool = True


def _to_uint8(images: torch.Tensor) -> np.ndarray:
    """Images ``(B, 3, H, W)`` in [-1, 1] → uint8 ``(B, H, W, 3)``."""
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


class Method:
    """One way to draw the source with new landmarks.

    A method is made once per animation, ``Method(source, options)``, then asked for frames:
    ``render(landmarks)``: float ``(B, 68, 2)`` pixels of the source's R × R crop → uint8
    ``(B, R, R, 3)``. Register a new one in :data:`METHODS` under its ``name``. ``model_file``: the
    checkpoint that draws (its hash goes into the videos' watermark, notebook 11), None for a method without one.
    """

    name = "method"
    description = ""

    def __init__(self, source: Source, options: MethodOptions = MethodOptions()):
        self.source, self.options = source, options
        self.model_file: Path | None = None

    def render(self, landmarks: np.ndarray) -> np.ndarray:
        raise NotImplementedError


MIN_OPENING = 0.5
"""The TPS method keeps each eyelid and lip gap at least this fraction of the source's.

A warp moves pixels, it cannot draw a lid over an eye: closing an eye means squeezing the
eye's pixels into a line and stretching the skin above it (and a pair of glasses' rims) down
by the eye's height. Past about half closed this pulls the brows and the forehead into
streaks, and a fully closed pair (two source points on one target point) makes the spline's
weights explode. So with the TPS a blink is a squint."""


class TPSMethod(Method):
    """The source's own pixels moved by a thin-plate spline from its landmarks to the driving ones, at R × R.

    With T source frames, each driving frame warps the reference nearest in pose
    (:func:`nearest_reference`). Introduced in notebook 10.
    """

    name = "tps"
    description = "thin-plate-spline warp of the source crop"

    def __init__(self, source: Source, options: MethodOptions = MethodOptions()):
        super().__init__(source, options)
        self.images = to_tensor(source.crops).to(options.device)             # (T, 3, R, R) in [-1, 1]
        self.references = torch.from_numpy(source.landmarks).to(options.device)   # (T, 68, 2)

    def render(self, landmarks: np.ndarray) -> np.ndarray:
        from ..warping import tps_grid, warp

        points = np.asarray(landmarks, np.float32).reshape(-1, 68, 2)       # (B, 68, 2)
        nearest = nearest_reference(self.source.landmarks, points)          # (B,)
        # Closed eyes or mouth: squeezing a gap to nothing tears the spline (see MIN_OPENING).
        points = keep_open(points, MIN_OPENING * openings(self.source.landmarks[nearest]))
        nearest = torch.from_numpy(nearest).to(self.images.device)
        target = torch.from_numpy(points).to(self.images.device)
        grid = tps_grid(self.references[nearest], target, self.source.size)  # (B, R, R, 2)
        return _to_uint8(warp(self.images[nearest], grid))                   # (B, R, R, 3)


class PaperMethod(Method):
    """The paper's person model (notebook 07): G with ψ′ from the source's T frames, from the shipped checkpoint.

    ``options.finetune_epochs`` = 0 is the feed-forward model (ê from the embedder, nothing
    trained), more is the FT variant. It draws at the model's side (64² for the shipped
    ``meta_cpu64``) and the frames are resized up to R: that is why they look blurry next to
    the warps, which move the R × R crop's own pixels.
    """

    name = "paper"
    description = "the paper's generator (feed-forward or fine-tuned person model)"

    def __init__(self, source: Source, options: MethodOptions = MethodOptions()):
        super().__init__(source, options)
        from ..finetune import FinetuneConfig, Shots, finetune
        from ..pretrained import pretrained_checkpoint
        from ..train.networks import load_networks

        checkpoint = self.model_file = Path(options.checkpoint or pretrained_checkpoint())
        model_cfg, E, G, D = load_networks(checkpoint, options.device)
        shots = Shots.from_images(source.crops, source.landmarks, model_cfg.image_size)
        cfg = FinetuneConfig.from_checkpoint(checkpoint, epochs=options.finetune_epochs)
        self.person = finetune(E, G, D, shots, cfg, options.progress,        # 0 epochs: no loss is loaded
                               {"source": source.name, "checkpoint": str(checkpoint)})

    def render(self, landmarks: np.ndarray) -> np.ndarray:
        from ..finetune import resize_landmarks

        R, S = self.source.size, self.person.size
        frames = self.person.render(resize_landmarks(landmarks, R, S))      # (B, 3, S, S)
        frames = F.interpolate(frames, size=(R, R), mode="bicubic", align_corners=False)   # (B, 3, R, R)
        return _to_uint8(frames)


class WarpMethod(Method):
    """The learned warping generator (notebook 10) as a person model of the source: its own T frames warped,
    blended and, where none shows the pixel, painted by the paper's G with ψ′ (shipped ``warp_cpu64``).

    The warp is computed at the model's side (64²) and applied to the R × R crop (the high-resolution
    path, :func:`~fewshot_lib.warping.generator.compose_high_res`); only the painted pixels are 64² ones.
    ``options.finetune_epochs`` > 0 fine-tunes it on the T frames (:class:`~fewshot_lib.finetune.WarpFineTuner`).
    Eyelid and lip gaps are kept as the TPS method keeps them (:data:`MIN_OPENING`): the warps are TPS warps.
    """

    name = "warp"
    description = "the learned warping generator (references warped by TPS + flow, the rest painted)"

    def __init__(self, source: Source, options: MethodOptions = MethodOptions()):
        super().__init__(source, options)
        from ..finetune import FinetuneConfig, Shots, finetune_warp
        from ..pretrained import pretrained_checkpoint
        from ..train.networks import load_warping_generator

        checkpoint = self.model_file = Path(options.checkpoint or pretrained_checkpoint("warp_cpu64"))
        model_cfg, warper, D = load_warping_generator(checkpoint, options.device)
        shots = Shots.from_images(source.crops, source.landmarks, model_cfg.image_size)
        cfg = FinetuneConfig.from_checkpoint(checkpoint, epochs=options.finetune_epochs)
        self.person = finetune_warp(warper, D, shots, cfg, options.progress,   # 0 epochs: no loss is loaded
                                    {"source": source.name, "checkpoint": str(checkpoint)})
        self.crops = to_tensor(source.crops).to(options.device)              # (T, 3, R, R) in [-1, 1]

    def render(self, landmarks: np.ndarray) -> np.ndarray:
        from ..finetune import resize_landmarks
        from ..landmarks import draw_sketches

        R, S = self.source.size, self.person.size
        points = np.asarray(landmarks, np.float32).reshape(-1, 68, 2)       # (B, 68, 2) pixels of R
        points = keep_open(points, MIN_OPENING * openings(self.source.landmarks[nearest_reference(
            self.source.landmarks, points)]))
        small = resize_landmarks(points, R, S)                              # (B, 68, 2) pixels of S
        sketches = to_tensor(draw_sketches(small, S)).to(self.crops.device)
        frames = self.person.forward_high_res(sketches, torch.from_numpy(small).to(self.crops.device), self.crops)
        return _to_uint8(frames)                                            # (B, R, R, 3)


METHODS: dict[str, type[Method]] = {"warp": WarpMethod, "tps": TPSMethod, "paper": PaperMethod}
"""The methods by name; ``METHODS[name](source, options)`` makes one. Add new ones here."""
