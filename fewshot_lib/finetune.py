"""Few-shot fine-tuning (paper, "Two variants"): a model of a new person from T frames, or one photo.

Meta-learning gave us E, G (with its projection P) and D (with w₀, b). For a new person with
T frames x_1..x_T (T = 1 works: one photo) and their landmark sketches y_1..y_T::

    ê_NEW = (1/T) Σ_t E(x_t, y_t)          embed the T frames once; E is then dropped
    ψ′    = P · ê_NEW                       G's AdaIN parameters become a free vector
    w′    = w₀ + ê_NEW,  b′ = b             D's projection column for this person

then train all of G (its person-generic weights ψ and ψ′) and all of D (θ, w′, b′) on the T
frames: G on L_CNT + L_ADV, D on L_DSC, no L_MCH, one G step then ``d_steps`` D steps, as in
meta-learning. Zero epochs is the feed-forward (FF) use of the meta-learned networks: the same
call, nothing trained. (The paper's FF *model* is also meta-trained without L_MCH; run this
with such a checkpoint and ``epochs=0`` to get exactly that.)

What comes out is a :class:`PersonModel`: G's weights without P, plus ψ′, plus the person's
own landmarks (puppeteering adapts other faces' motion onto them). It is saved as safetensors
(no code runs on loading) and draws frames from landmarks without E or D.

Introduced in notebook 07.
"""
from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np
import torch
from torch import nn

from . import __version__
from .atomic import atomic_write
from .flags import add_flags
from .data import to_tensor
from .landmarks import crop_face, detect, draw_sketches, load_image
from .losses import ContentLoss, LossWeights, build_content_loss
from .models import Discriminator, Embedder, Generator, ModelConfig
from .train.step import GAN, gan_step, generator_update

PERSON_FORMAT = "fewshot_lib person model"
PERSON_FORMAT_VERSION = "1"


class PersonModelError(ValueError):
    """A person-model file is missing, unreadable or not made by fewshot_lib."""


# --------------------------------------------------------------------------------- the T frames
def resize_landmarks(landmarks: np.ndarray, from_size: int, to_size: int) -> np.ndarray:
    """Landmarks ``(..., 68, 2)`` in pixels of a ``from_size`` square image → of a ``to_size`` one.

    Pixel centres sit at integers, so a point maps as ``(p + 0.5) · to / from − 0.5``.
    """
    return ((np.asarray(landmarks, np.float64) + 0.5) * (to_size / from_size) - 0.5).astype(np.float32)


def _resize(image: np.ndarray, size: int) -> np.ndarray:
    if image.shape[0] == size:
        return image
    interpolation = cv2.INTER_AREA if image.shape[0] > size else cv2.INTER_CUBIC
    return cv2.resize(image, (size, size), interpolation=interpolation)


@dataclass(frozen=True)
class Shots:
    """The T few-shot frames of one person, as E and G want them.

    ``frames``, ``sketches``: float32 ``(T, 3, S, S)`` in [-1, 1]; ``landmarks``: float32
    ``(T, 68, 2)`` pixels of the S × S frames.
    """

    frames: torch.Tensor
    sketches: torch.Tensor
    landmarks: np.ndarray

    def __len__(self) -> int:
        return len(self.frames)

    def to(self, device: torch.device | str) -> "Shots":
        """The same shots with their tensors on ``device``."""
        return Shots(self.frames.to(device), self.sketches.to(device), self.landmarks)

    @classmethod
    def from_images(cls, images: Sequence[np.ndarray] | np.ndarray, landmarks: np.ndarray, size: int) -> "Shots":
        """T square uint8 RGB images ``(T, H, H, 3)`` and their landmarks ``(T, 68, 2)`` (pixels of
        the H × H images), resized to the model's side ``size``."""
        images = [np.asarray(image) for image in images]
        landmarks = np.asarray(landmarks, dtype=np.float32).reshape(-1, 68, 2)
        if not images or len(images) != len(landmarks):
            raise ValueError(f"got {len(images)} images and {len(landmarks)} landmark sets: "
                             "give at least one image, and one (68, 2) landmark set per image")
        odd = [image.shape for image in images if image.ndim != 3 or image.shape[0] != image.shape[1]
               or image.shape[2] != 3 or image.dtype != np.uint8]
        if odd:
            raise ValueError(f"images must be square HxHx3 uint8 RGB crops (see landmarks.crop_face); got {odd[0]}")
        points = np.stack([resize_landmarks(p, image.shape[0], size) for p, image in zip(landmarks, images)])
        pixels = np.stack([_resize(image, size) for image in images])          # (T, S, S, 3)
        return cls(to_tensor(pixels), to_tensor(draw_sketches(points, size)), points)

    @classmethod
    def from_video(cls, video, indices: Sequence[int], size: int | None = None) -> "Shots":
        """Frames ``indices`` of a video (a record or a synthetic video), at ``size`` (default: the video's)."""
        indices = [int(t) for t in indices]
        return cls.from_images([video.frame(t) for t in indices], video.landmarks[indices], size or video.size)

    @classmethod
    def from_photo(cls, photo, size: int, backend: str = "dlib") -> "Shots":
        """One shot from a photo (array, PIL image or path): landmarks detected, face cropped, resized.

        Raises :class:`~fewshot_lib.landmarks.NoFaceError` when the detector finds no face.
        """
        image = load_image(photo)
        crop, points = crop_face(image, detect(image, backend=backend), size=size)
        return cls.from_images([crop], points[None], size)


# --------------------------------------------------------------------------------- the person model
def _without_projection(generator: Generator) -> Generator:
    """A copy of G without P: a person model has ψ′ and never computes P · ê again."""
    generator = copy.deepcopy(generator)
    generator.projection = None
    return generator


class PersonModel(nn.Module):
    """A talking-head model of one person: x̂ = G(y; ψ, ψ′), drawn from landmarks alone.

    ``generator``: G's person-generic weights (no P); ``psi``: ψ′ ``(n_psi,)``; ``landmarks``:
    the person's own landmarks ``(T, 68, 2)`` (puppeteering adapts a driver's motion onto them);
    ``info``: JSON-able notes on how it was made (source, shots, epochs, ...).
    """

    def __init__(self, generator: Generator, psi: torch.Tensor, landmarks: np.ndarray, info: dict | None = None):
        super().__init__()
        if generator.projection is not None:
            generator = _without_projection(generator)
        self.generator = generator.eval()
        self.psi = nn.Parameter(psi.detach().clone().reshape(-1), requires_grad=False)   # ψ′ (n_psi,)
        self.landmarks = np.asarray(landmarks, dtype=np.float32).reshape(-1, 68, 2)
        self.info = dict(info or {})

    @property
    def cfg(self) -> ModelConfig:
        return self.generator.cfg

    @property
    def size(self) -> int:
        return self.cfg.image_size

    @torch.no_grad()
    def forward(self, sketches: torch.Tensor) -> torch.Tensor:
        """Frames ``(B, 3, S, S)`` in [-1, 1] from sketches ``(B, 3, S, S)``."""
        return self.generator.forward_from_psi(sketches.to(self.psi.device), self.psi)

    def draw(self, sketches: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        """Frames for sketches (B, 3, S, S) and their landmarks (B, 68, 2): the call every person model
        answers (the paper's G reads only the sketches; a warping person model also the landmarks)."""
        return self(sketches)

    @torch.no_grad()
    def render(self, landmarks: np.ndarray) -> torch.Tensor:
        """Frames ``(B, 3, S, S)`` for landmarks ``(B, 68, 2)`` (or one ``(68, 2)``) in pixels of S × S."""
        points = np.asarray(landmarks, dtype=np.float32).reshape(-1, 68, 2)
        return self(to_tensor(draw_sketches(points, self.size)))

    # ------------------------------------------------------------------ safetensors file
    def save(self, path: str | Path) -> Path:
        """Write the model as one safetensors file, atomically; returns ``path``."""
        from safetensors.torch import save

        tensors = {f"generator.{k}": v.detach().cpu().contiguous() for k, v in self.generator.state_dict().items()}
        tensors["psi"] = self.psi.detach().cpu().contiguous()
        tensors["landmarks"] = torch.from_numpy(self.landmarks.copy())
        metadata = {"format": PERSON_FORMAT, "format_version": PERSON_FORMAT_VERSION, "fewshot_lib": __version__,
                    "model_config": json.dumps(self.cfg.to_dict()), "info": json.dumps(self.info)}
        with atomic_write(path) as f:
            f.write(save(tensors, metadata=metadata))
        return Path(path)

    @classmethod
    def load(cls, path: str | Path, device: torch.device | str = "cpu") -> "PersonModel":
        """Read a file written by :meth:`save` (safetensors: loading runs no code from the file)."""
        from safetensors import SafetensorError, safe_open

        path = Path(path)
        if not path.is_file():
            raise PersonModelError(f"{path}: no such person model; make one with `fewshot finetune`")
        try:
            with safe_open(str(path), framework="pt") as f:
                metadata = f.metadata() or {}
                tensors = {key: f.get_tensor(key) for key in f.keys()}
        except (SafetensorError, ValueError, OSError) as error:
            raise PersonModelError(f"{path}: not a readable safetensors file ({error}); was it written by "
                                   "PersonModel.save or `fewshot finetune`?") from error
        if metadata.get("format") != PERSON_FORMAT or not {"psi", "landmarks"} <= set(tensors):
            raise PersonModelError(f"{path}: a safetensors file, but not a fewshot_lib person model "
                                   f"(format={metadata.get('format')!r})")
        generator = _without_projection(Generator(ModelConfig(**json.loads(metadata["model_config"]))))
        prefix = "generator."
        generator.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
        model = cls(generator, tensors["psi"], tensors["landmarks"].numpy(), json.loads(metadata["info"]))
        return model.to(device)

    def __repr__(self) -> str:
        return (f"PersonModel({self.cfg.name}, {self.size}×{self.size}, ψ′ of {self.psi.numel()} numbers, "
                f"{len(self.landmarks)} landmark set(s), info={self.info})")


# --------------------------------------------------------------------------------- fine-tuning
@dataclass(frozen=True)
class FinetuneConfig:
    """How to fine-tune (paper: "a few dozen epochs", the meta-learning learning rates)."""

    epochs: int = 40                  # passes over the T frames; 0 = feed-forward (FF), nothing trained
    batch_size: int = 8               # frames per step (at most T are used)
    lr_g: float = 5e-5                # Adam for G's weights and ψ′ (paper: same as meta-learning)
    lr_d: float = 2e-4                # Adam for D's weights, w′ and b′
    betas: tuple[float, float] = (0.5, 0.999)   # Adam's β₁ β₂
    d_steps: int = 2                  # D steps per G step, as in meta-learning
    content_fallback: str = "pixel"   # what replaces L_CNT without VGG weights (losses.build_content_loss)
    seed: int = 0                     # the order frames are visited in

    def __post_init__(self):
        object.__setattr__(self, "betas", tuple(self.betas))
        if self.epochs < 0 or self.batch_size < 1 or self.d_steps < 0:
            raise ValueError(f"epochs={self.epochs}, batch_size={self.batch_size}, d_steps={self.d_steps}: "
                             "need epochs >= 0 (0 = feed-forward), batch_size >= 1, d_steps >= 0")

    @classmethod
    def from_checkpoint(cls, checkpoint: str | Path, **overrides) -> "FinetuneConfig":
        """The meta-learning run's learning rates, betas, D steps and L_CNT fallback (the paper fine-tunes
        with the same learning rates), read from its checkpoint; ``overrides`` set any other field."""
        from .train.checkpoint import load_checkpoint

        meta = load_checkpoint(checkpoint).get("train_config", {})
        same = {k: meta[k] for k in INHERITED if k in meta}
        return cls(**{**same, **overrides})


INHERITED = ("lr_g", "lr_d", "betas", "d_steps", "content_fallback")
"""The fine-tuning settings taken from the meta-learning run by default (the paper fine-tunes with its rates)."""


class FineTuner:
    """Stage 2 of the paper for one person: G and D initialised from meta-learning, trained on T frames.

    >>> tuner = FineTuner(E, G, D, Shots.from_photo("me.jpg", 64))   # doctest: +SKIP
    >>> tuner.train(epochs=40); person = tuner.person_model()         # doctest: +SKIP

    The meta-learned networks passed in are not modified. ``train`` may be called several
    times (e.g. to look at the person model every few epochs); epochs keep counting.
    ``content``: an L_CNT built once by :func:`~fewshot_lib.losses.build_content_loss` and shared
    by many fine-tunings (default: build one, and keep its ``loss_description``).
    """

    def __init__(self, E: Embedder, G: Generator, D: Discriminator, shots: Shots,
                 cfg: FinetuneConfig = FinetuneConfig(), content: ContentLoss | None = None):
        self.cfg = cfg
        self.device = next(G.parameters()).device
        self.shots = shots.to(self.device)
        self.e_hat = embed_person(E, self.shots)                             # ê_NEW (N,)
        self.G, self.D = copy.deepcopy(G).eval(), copy.deepcopy(D).eval()
        with torch.no_grad():
            psi = self.G.psi_hat(self.e_hat[None])[0]                        # ψ′ = P · ê_NEW (n_psi,)
            w = self.D.w0 + self.e_hat                                       # w′ = w₀ + ê_NEW (N,); b′ = b
        self.G.projection = None                                             # P is not needed any more
        self.psi, self.w = nn.Parameter(psi.clone()), nn.Parameter(w.clone())
        d_params = [p for name, p in self.D.named_parameters() if not name.startswith(("W.", "w0"))]
        self.opt_G = torch.optim.Adam([*self.G.parameters(), self.psi], lr=cfg.lr_g, betas=cfg.betas)
        self.opt_D = torch.optim.Adam([*d_params, self.w], lr=cfg.lr_d, betas=cfg.betas)
        self.weights = LossWeights().feed_forward()                          # no L_MCH in fine-tuning
        self.loss_description = "L_CNT: the content loss the caller passed in."
        if content is None:
            content, self.loss_description = build_content_loss(self.weights, cfg.content_fallback)
        self.content = content.to(self.device)
        self.gan = GAN(self.D, self.content, self.weights, self.opt_G, self.opt_D)   # D scores with w′
        self.epoch = 0

    def make_fakes(self, indices: torch.Tensor):
        """The forward pass of the G update for shots ``indices``: ``() → (x̂ = G(y; ψ, ψ′), no e)``."""
        y = self.shots.sketches[indices]
        return lambda: (self.G.forward_from_psi(y, self.psi), None)

    def generator_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """The G update alone (:func:`~fewshot_lib.train.step.generator_update`): the losses and x̂ (detached)."""
        losses, x_hat, _ = generator_update(self.gan, lambda: (self.G.forward_from_psi(y, self.psi), None), x, y,
                                            {"w": self.w})
        return losses, x_hat

    def batches(self, epoch: int) -> list[torch.Tensor]:
        """The frame indices of each step of ``epoch``: a permutation of 0..T-1 from (seed, epoch)."""
        rng = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + epoch)
        order = torch.randperm(len(self.shots), generator=rng)
        return list(order.split(self.cfg.batch_size))

    @torch.enable_grad()
    def train(self, epochs: int | None = None, progress: bool = True) -> list[dict[str, float]]:
        """Fine-tune for ``epochs`` more epochs (default: the config's); one row of mean losses per epoch
        (gradients on, also when called inside ``torch.no_grad()``, e.g. from an evaluation)."""
        from tqdm.auto import tqdm

        epochs = self.cfg.epochs if epochs is None else epochs
        steps_per_epoch = math.ceil(len(self.shots) / self.cfg.batch_size)
        bar = tqdm(total=epochs * steps_per_epoch, disable=not progress or epochs == 0, desc="fine-tuning")
        rows, start = [], time.perf_counter()
        self.G.train(), self.D.train()
        for _ in range(epochs):
            totals: dict[str, float] = {}
            for indices in self.batches(self.epoch):
                x, y = self.shots.frames[indices], self.shots.sketches[indices]    # (B, 3, S, S)
                losses = gan_step(self.gan, self.make_fakes(indices), x, y, {"w": self.w}, self.cfg.d_steps)
                for key, value in losses.items():
                    totals[key] = totals.get(key, 0.0) + float(value) / steps_per_epoch
                bar.update()
            self.epoch += 1
            if not all(math.isfinite(v) for v in totals.values()):
                raise FloatingPointError(f"fine-tuning diverged at epoch {self.epoch} ({totals}); "
                                         "lower lr_g and lr_d")
            rows.append({"epoch": self.epoch, **{k: round(v, 5) for k, v in totals.items()},
                         "seconds": round(time.perf_counter() - start, 2)})
            bar.set_postfix({k: f"{totals[k]:.3f}" for k in ("L_CNT", "L_DSC") if k in totals})
        bar.close()
        self.G.eval(), self.D.eval()
        return rows

    def person_model(self, info: dict[str, Any] | None = None) -> PersonModel:
        """A copy of the current G and ψ′ as a :class:`PersonModel` (eval mode)."""
        notes = {"shots": len(self.shots), "epochs": self.epoch, "finetune_config": asdict(self.cfg), **(info or {})}
        return PersonModel(copy.deepcopy(self.G), self.psi, self.shots.landmarks, notes)


class WarpFineTuner(FineTuner):
    """Fine-tuning the warping generator (notebook 10) for one person, as :class:`FineTuner` does the paper's:
    its painter G with ψ′ = P · ê_NEW and D with w′ = w₀ + ê_NEW, plus the flow network F and β, all trained
    on the T shots, which are also the references every frame is warped from.

    >>> person = WarpFineTuner(warper, D, Shots.from_photo("me.jpg", 64)).person_model()   # doctest: +SKIP
    """

    def __init__(self, warper, D: Discriminator, shots: Shots, cfg: FinetuneConfig = FinetuneConfig(),
                 content: ContentLoss | None = None):
        super().__init__(warper.E, warper.G, D, shots, cfg, content)
        self.warp_cfg = warper.cfg
        self.flow = copy.deepcopy(warper.F).to(self.device)
        self.log_beta = nn.Parameter(warper.log_beta.detach().clone())
        self.opt_G.add_param_group({"params": [*self.flow.parameters(), self.log_beta]})   # same lr as G
        self.landmarks = torch.from_numpy(self.shots.landmarks).to(self.device)             # (T, 68, 2)

    def make_fakes(self, indices: torch.Tensor):
        """x̂ for shots ``indices`` warped from all T shots (with T = 1, the photo is its own reference)."""
        from .warping.generator import warp_and_blend

        y, B, T = self.shots.sketches[indices], len(indices), len(self.shots)

        def generate():
            painted = self.G.forward_from_psi(y, self.psi)                    # (B, 3, S, S)
            references = (self.shots.frames[None].expand(B, T, -1, -1, -1), self.shots.sketches[None].expand(
                B, T, -1, -1, -1), self.landmarks[None].expand(B, T, 68, 2))
            return warp_and_blend(self.flow, self.log_beta, *references, y, self.landmarks[indices],
                                  painted)["x_hat"], None
        return generate

    def train(self, epochs: int | None = None, progress: bool = True) -> list[dict[str, float]]:
        self.flow.train()
        rows = super().train(epochs, progress)
        self.flow.eval()
        return rows

    def person_model(self, info: dict[str, Any] | None = None):
        """A :class:`~fewshot_lib.warping.person.WarpPerson` of the current weights and the T shots."""
        from .warping.person import WarpPerson

        notes = {"shots": len(self.shots), "epochs": self.epoch, "finetune_config": asdict(self.cfg), **(info or {})}
        return WarpPerson(self.flow, self.log_beta, self.G, self.psi, self.shots.frames, self.shots.sketches,
                          self.shots.landmarks, self.warp_cfg, notes)


@torch.no_grad()
def embed_person(E: Embedder, shots: Shots) -> torch.Tensor:
    """ê_NEW = (1/T) Σ_t E(x_t, y_t): the person's embedding ``(N,)`` (E in eval mode)."""
    was_training = E.training
    E.eval()
    e_hat, _ = E.embed_frames(shots.frames[None], shots.sketches[None])      # (1, N), (1, T, N)
    E.train(was_training)
    return e_hat[0]


def finetune(E: Embedder, G: Generator, D: Discriminator, shots: Shots, cfg: FinetuneConfig = FinetuneConfig(),
             progress: bool = True, info: dict[str, Any] | None = None,
             content: ContentLoss | None = None) -> PersonModel:
    """A person model from T shots: fine-tune ``cfg.epochs`` epochs (0: the feed-forward model).
    ``content``: an L_CNT shared by many fine-tunings (see :class:`FineTuner`)."""
    tuner = FineTuner(E, G, D, shots, cfg, content=content)
    tuner.train(progress=progress)
    return tuner.person_model(info)


# --------------------------------------------------------------------------------- command line
def add_finetune_command(subcommands) -> None:
    from .config import pick

    p = subcommands.add_parser("finetune", help="make a person model from a few frames or one photo",
                               description="Fine-tune the meta-learned G and D on T frames of a new person "
                                           "(paper, FT variant; --epochs 0 gives the feed-forward model) and "
                                           "save the person model (safetensors).")
    p.add_argument("--checkpoint", default=None, help="meta-learning checkpoint (default: the shipped meta_cpu64)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--frames", nargs="+", help="face images of one person (PNG/JPEG; landmarks are detected)")
    source.add_argument("--photo", help="one photo of a person (landmarks detected, face cropped)")
    source.add_argument("--synthetic", type=int, metavar="N", help="held-out synthetic person N (built in)")
    p.add_argument("--shots", type=int, default=8, help="with --synthetic: T frames of its first video (default 8)")
    p.add_argument("--out", required=True, help="the person model file to write (e.g. person.safetensors)")
    p.add_argument("--backend", default="dlib", help="landmark detector for --frames/--photo (default: dlib)")
    add_flags(p, FinetuneConfig, defaults={"epochs": pick(full=40, smoke=2)}, inherited=INHERITED,
              inherited_from="the meta-learning run's, as in the paper")
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: FEWSHOT_DEVICE or auto)")
    p.set_defaults(run=_run_finetune)


def _cli_shots(args, size: int) -> tuple[Shots, dict[str, Any]]:
    """The shots the command line asked for, and a note of where they came from."""
    if args.photo:
        return Shots.from_photo(args.photo, size, args.backend), {"source": "photo", "path": str(args.photo)}
    if args.frames:
        crops = [crop_face(image, detect(image, args.backend), size=size)
                 for image in (load_image(path) for path in args.frames)]
        shots = Shots.from_images([c for c, _ in crops], np.stack([p for _, p in crops]), size)
        return shots, {"source": "frames", "paths": [str(p) for p in args.frames]}
    from .data import SyntheticConfig, synthetic_split

    config = SyntheticConfig(size=size, frames=max(32, args.shots), heldout_identities=args.synthetic + 1, videos=1)
    video = synthetic_split("heldout", config)[args.synthetic]
    return Shots.from_video(video, range(args.shots)), {"source": "synthetic", "identity": video.identity.index}


def cli_overrides(args) -> dict[str, Any]:
    """The fine-tuning settings given on the command line (``None``: the meta-learning run's)."""
    return {f.name: getattr(args, f.name) for f in fields(FinetuneConfig) if getattr(args, f.name, None) is not None}


def _run_finetune(args) -> int:
    from .config import get_device
    from .pretrained import pretrained_checkpoint
    from .train.networks import load_networks

    checkpoint = args.checkpoint or pretrained_checkpoint()
    model_cfg, E, G, D = load_networks(checkpoint, get_device(args.device))
    shots, source = _cli_shots(args, model_cfg.image_size)
    cfg = FinetuneConfig.from_checkpoint(checkpoint, **cli_overrides(args))
    start = time.perf_counter()
    person = finetune(E, G, D, shots, cfg, info={**source, "checkpoint": str(checkpoint)})
    path = person.save(args.out)
    print(f"fine-tuned {len(shots)} shot(s) for {cfg.epochs} epochs in {time.perf_counter() - start:.1f} s\n"
          f"person model: {path}")
    return 0
