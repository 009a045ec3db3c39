"""Meta-learning (paper, Sec. 3.2): train E, G, P and D on K-shot episodes of many videos.

One iteration, on a batch of B episodes (K frames x_k, y_k of video i, and a target x_t, y_t)::

    ê = (1/K) Σ_k E(x_k, y_k)                      embed the K frames
    x̂ = G(y_t, ê)                                  generate the target pose
    E, G, P step on  L_CNT(x̂, x_t) + L_ADV + L_MCH  (Adam, lr 5e-5)
    then twice: D step on L_DSC(x_t, x̂.detach())   (Adam, lr 2e-4: TTUR)

L_MCH = (1/K) Σ_k ‖W_i − e_k‖₁ pulls E's embeddings and D's column W_i together. Its two
sides are explicit here: the E/G step pulls e towards a *detached* W_i, and each D step
pulls W_i towards the *detached* e (and D's other parameters follow L_DSC). The FF variant
switches L_MCH off (``variant="FF"``).

Episodes for step s are drawn from ``numpy.random.default_rng([seed, s])``, so a run that
is stopped and resumed draws exactly the batches an uninterrupted run would: on the CPU the
losses are bit-identical.

On a GPU the same step runs fast (README, "Training at scale"): bf16 autocast (fp16 with loss
scaling where bf16 is missing), channels-last tensors, cuDNN autotuning, fused Adam, D frozen
during the E/G step (no weight gradients for it), the perceptual networks frozen, real and fake
frames through D in one pass, the next batch copied to the GPU while the current one trains,
the losses and the non-finite flag kept on the device until a logging step reads them
(``tools/gpu_check.py`` counts the host synchronisations left in a step), and optionally
``torch.compile``. Several processes (torchrun) are
:mod:`fewshot_lib.train.distributed`. Introduced in notebook 06.

The batches of a step are :mod:`~fewshot_lib.train.batches`; the networks a run leaves, read back from
its checkpoint, are :mod:`~fewshot_lib.train.networks`. What stays here (~450 lines) is one concept, the
trainer: its config, the networks and optimisers it builds, its step, loop, outputs and checkpoints, how a
run resumes, and ``fewshot train``, which only parses flags and calls it.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import FewshotError, OutputExistsError
from .. import __version__
from ..flags import MUST_MATCH, ConfigError, add_flags, at_least, check_ranges, from_flags, must_match
from ..losses import LossWeights, build_content_loss
from ..models import Discriminator, Embedder, Generator, ModelConfig, get_preset
from .batches import StepBatchSampler, on_device, to_device
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .step import GAN, FastPath, discriminator_update, gan_step, generator_update
from .distributed import (SINGLE, Distributed, all_reduce_rows, any_over_processes, check_divides, close,
                          data_parallel, from_environment, mean_over_processes)
from .networks import warping_state

VARIANTS = ("FT", "FF")
MODELS = ("paper", "warp")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
MEMORY_FORMATS = ("auto", "channels_last", "contiguous")
CHECKPOINT = "checkpoint.pt"
LOG = "log.jsonl"
PREVIEW_STEP = 2**30   # the sample grids always show the episodes of this (never trained) step


class TrainingDiverged(FewshotError, RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass(frozen=True)
class TrainConfig:
    """How to meta-train; printed into the log and saved in every checkpoint."""

    steps: int = field(default=2000, metadata=at_least(1))   # train until this step (a resumed run continues to it)
    batch_size: int = field(default=4, metadata=at_least(1, **MUST_MATCH))   # episodes per step, over all
                                     # processes (paper: 2-8)
    k: int = field(default=8, metadata=at_least(1, **MUST_MATCH))            # K frames per episode for the embedder
    lr_g: float = field(default=5e-5, metadata=MUST_MATCH)    # Adam for E, G, P
    lr_d: float = field(default=2e-4, metadata=MUST_MATCH)    # Adam for D, W, w₀, b (two-time-scale update rule)
    betas: tuple[float, float] = field(default=(0.5, 0.999), metadata=MUST_MATCH)   # Adam's β₁ β₂ (both optimisers)
    d_steps: int = field(default=2, metadata=at_least(1, **MUST_MATCH))      # D steps per E/G step
    variant: str = field(default="FT", metadata=MUST_MATCH)   # "FT": with L_MCH (fine-tunable); "FF": without
    model: str = field(default="paper", metadata=MUST_MATCH)  # what makes x̂: "paper" (E + G) or "warp" (notebook 10)
    max_flow: float = field(default=0.25, metadata=at_least(0, **MUST_MATCH))   # warp only: the bound on F's
                                     # residual flow |Δ| (WarpConfig.max_flow; 0: the TPS warps, no flow)
    init: str = ""                   # a fresh run starts E, G, D from this meta-learning checkpoint ("": random)
    match_weight: float = field(default=10.0, metadata=at_least(0, **MUST_MATCH))   # λ_MCH (paper: 10).
                                     # Summed over N it can crush ê to 0: see the model card in
                                     # data/README.md for what we measured
    content_fallback: str = field(default="pixel", metadata=MUST_MATCH)   # what replaces L_CNT without VGG
                                     # weights (see losses.build_content_loss)
    precision: str = "auto"          # auto: bf16 on GPUs that have it, else fp16 + loss scaling; fp32 on CPU
    seed: int = field(default=0, metadata=MUST_MATCH)         # the episodes of step s come from (seed, s)
    log_every: int = field(default=10, metadata=at_least(1))             # steps between log rows
    sample_every: int = field(default=200, metadata=at_least(1))         # steps between sample grids and loss curves
    checkpoint_every: int = field(default=200, metadata=at_least(1))     # steps between checkpoints
    num_workers: int = field(default=0, metadata=at_least(0))   # DataLoader workers (0: load in the training process)
    memory_format: str = "auto"      # auto: channels_last on CUDA (tensor-core convs), contiguous elsewhere
    compile: bool = False            # torch.compile the networks (minutes of compiling, then faster steps)

    def __post_init__(self):
        object.__setattr__(self, "betas", tuple(self.betas))
        if self.model not in MODELS:
            raise ConfigError(f"model={self.model!r}: use 'paper' (E + G) or 'warp' (the warping generator)")
        if self.variant not in VARIANTS:
            raise ConfigError(f"variant={self.variant!r}: use 'FT' (with L_MCH) or 'FF' (without)")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision={self.precision!r}: choose one of {', '.join(PRECISIONS)}")
        if self.memory_format not in MEMORY_FORMATS:
            raise ConfigError(f"memory_format={self.memory_format!r}: choose one of {', '.join(MEMORY_FORMATS)}")
        check_ranges(self)

    def loss_weights(self) -> LossWeights:
        weights = LossWeights(match=self.match_weight)
        return weights if self.variant == "FT" else weights.feed_forward()


def choose_precision(requested: str, device: torch.device) -> torch.dtype:
    """The autocast dtype: fp32 on CPU/MPS, bf16 on GPUs that support it, fp16 otherwise."""
    if requested == "auto":
        if device.type != "cuda":
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if requested != "fp32" and device.type != "cuda":
        raise ValueError(f"precision={requested!r} needs a CUDA GPU; use fp32 (or auto) on {device.type}")
    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[requested]


def choose_memory_format(requested: str, device: torch.device) -> torch.memory_format:
    """channels_last (NHWC) on CUDA, where cuDNN's tensor-core convolutions want it; NCHW elsewhere."""
    if requested == "auto":
        requested = "channels_last" if device.type == "cuda" else "contiguous"
    return torch.channels_last if requested == "channels_last" else torch.contiguous_format


def adam(params, lr: float, betas: tuple[float, float], device: torch.device) -> torch.optim.Adam:
    """Adam with one fused kernel per step on CUDA, multi-tensor (foreach) updates elsewhere."""
    fast = {"fused": True} if device.type == "cuda" else {"foreach": True}
    return torch.optim.Adam(params, lr=lr, betas=betas, **fast)


class EmbedAndGenerate(nn.Module):
    """E and G as one module, the forward pass of the E/G step (one unit for DDP and torch.compile)."""

    def __init__(self, E: Embedder, G: Generator):
        super().__init__()
        self.E, self.G = E, G

    inputs = ("frames", "sketches", "target_sketch")       # the batch entries ``forward`` takes, in order

    def forward(self, frames: torch.Tensor, sketches: torch.Tensor, y_t: torch.Tensor):
        e_hat, e = self.E.embed_frames(frames, sketches)    # ê (B, N), e (B, K, N) from (B, K, 3, S, S)
        return self.G(y_t, e_hat), e                         # x̂ = G(y_t, ê) (B, 3, S, S)


def make_model(train_cfg: TrainConfig, E: Embedder, G: Generator) -> nn.Module:
    """What makes x̂ from a batch: the paper's E + G, or the warping generator around them (notebook 10)."""
    if train_cfg.model == "warp":
        from ..warping.generator import WarpConfig, WarpingGenerator

        return WarpingGenerator(E, G, WarpConfig(max_flow=train_cfg.max_flow))
    return EmbedAndGenerate(E, G)


class MetaTrainer:
    """Holds E, G (with P), D (with W), their optimisers, and the run folder.

    >>> trainer = MetaTrainer(get_preset("cpu64"), TrainConfig(steps=100), dataset, "runs/meta")  # doctest: +SKIP
    >>> trainer.train()                                                                              # doctest: +SKIP

    ``dist``: this process's place among several training processes (see
    :mod:`~fewshot_lib.train.distributed`); only rank 0 logs and writes files.
    """

    def __init__(self, model_cfg: ModelConfig, train_cfg: TrainConfig, dataset, out_dir: str | Path,
                 device: torch.device | str = "cpu", log=print, dist: Distributed = SINGLE):
        check_divides(train_cfg.batch_size, dist)
        if dataset.k != train_cfg.k:
            raise ValueError(f"the dataset makes episodes of K={dataset.k} frames, the config asks for K={train_cfg.k}")
        if dataset.size != model_cfg.image_size:
            raise ValueError(f"the dataset's frames are {dataset.size}×{dataset.size}, the model preset "
                             f"{model_cfg.name!r} needs {model_cfg.image_size}×{model_cfg.image_size}")
        self.model_cfg, self.cfg, self.dataset, self.dist = model_cfg, train_cfg, dataset, dist
        self.out_dir, self.device = Path(out_dir), torch.device(device)
        self.log = log if dist.is_main else (lambda *_: None)
        self.step = 0
        torch.manual_seed(train_cfg.seed)
        self.memory_format = choose_memory_format(train_cfg.memory_format, self.device)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True       # time the conv algorithms once per shape, keep the fastest
        self.E = Embedder(model_cfg).to(self.device, memory_format=self.memory_format)
        self.G = Generator(model_cfg).to(self.device, memory_format=self.memory_format)
        self.D = Discriminator(model_cfg, num_videos=len(dataset)).to(self.device, memory_format=self.memory_format)
        self.model = make_model(train_cfg, self.E, self.G).to(self.device, memory_format=self.memory_format)
        self.opt_G = adam(self.model.parameters(), train_cfg.lr_g, train_cfg.betas, self.device)   # E, G (, F)
        self.opt_D = adam(self.D.parameters(), train_cfg.lr_d, train_cfg.betas, self.device)
        self.dtype = choose_precision(train_cfg.precision, self.device)
        self.weights = train_cfg.loss_weights()
        self.content, self.loss_description = build_content_loss(self.weights, train_cfg.content_fallback)
        self.content.to(self.device, memory_format=self.memory_format)     # VGG stacks: frozen, no weight grads
        self.nonfinite = torch.zeros((), dtype=torch.bool, device=self.device)  # set on device, read when logging
        # The fast path around the shared step: E and G (and D for its own updates) in DDP with several
        # processes, compiled when asked; loss scaling only for fp16 (bf16 and fp32 have fp32's exponent range).
        self.embed_and_generate = self.wrap(self.model)
        fast = FastPath(dtype=self.dtype, device_type=self.device.type,
                        scaler_G=torch.amp.GradScaler(self.device.type, enabled=self.dtype == torch.float16),
                        scaler_D=torch.amp.GradScaler(self.device.type, enabled=self.dtype == torch.float16),
                        score=self.wrap(self.D, ignore=("W.weight",)),      # W's rows: after_backward_D
                        score_frozen=self.wrap(self.D, parallel=False),     # D frozen: nothing to average
                        after_backward_D=lambda column: all_reduce_rows(self.D.W, column["video_idx"], self.dist))
        self.gan = GAN(self.D, self.content, self.weights, self.opt_G, self.opt_D, fast)
        if train_cfg.init:
            self.start_from(train_cfg.init)            # a resumed run then loads its own checkpoint over it

    def wrap(self, module: nn.Module, parallel: bool = True, ignore: tuple[str, ...] = ()) -> nn.Module:
        if parallel:
            module = data_parallel(module, self.dist, self.device, ignore)
        return torch.compile(module) if self.cfg.compile else module

    # ----------------------------------------------------------------------------- one iteration
    def column(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """D scores each episode with its video's column W_i + w₀ (and W_i is L_MCH's other side)."""
        return {"video_idx": batch["video"]}

    def make_fakes(self, batch: dict[str, torch.Tensor]):
        """The forward pass of the E/G update: ``() → (x̂, e)`` for :func:`~fewshot_lib.train.step.gan_step`."""
        return lambda: self.embed_and_generate(*(batch[key] for key in self.model.inputs))

    def generator_step(self, batch: dict[str, torch.Tensor]):
        """The E/G update alone (:func:`~fewshot_lib.train.step.generator_update`): losses, x̂, e (detached)."""
        return generator_update(self.gan, self.make_fakes(batch), batch["target"], batch["target_sketch"],
                                self.column(batch))

    def discriminator_step(self, batch: dict[str, torch.Tensor], x_hat: torch.Tensor,
                           e: torch.Tensor) -> dict[str, torch.Tensor]:
        """One D update alone (:func:`~fewshot_lib.train.step.discriminator_update`)."""
        return discriminator_update(self.gan, batch["target"], batch["target_sketch"], x_hat, e, self.column(batch))

    def loader(self, stop: int) -> torch.utils.data.DataLoader:
        """The batches of steps ``self.step .. stop - 1`` (see :class:`StepBatchSampler`)."""
        sampler = StepBatchSampler(len(self.dataset), self.cfg.batch_size, self.cfg.seed, self.step, stop, self.dist)
        return torch.utils.data.DataLoader(self.dataset, batch_sampler=sampler, num_workers=self.cfg.num_workers,
                                           pin_memory=self.device.type == "cuda")

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One E/G step and ``d_steps`` D steps on ``batch``; returns the losses (on the device).

        Nothing in it waits for the device: the losses and the non-finite flag stay there.
        """
        batch = to_device(batch, self.device, self.memory_format)
        for module in (self.E, self.G, self.D):
            module.train()
        losses = gan_step(self.gan, self.make_fakes(batch), batch["target"], batch["target_sketch"],
                          self.column(batch), self.cfg.d_steps)
        self.nonfinite |= ~torch.isfinite(losses["loss_G"]) | ~torch.isfinite(losses["L_DSC"])
        self.step += 1
        return losses

    # ----------------------------------------------------------------------------- the loop
    def train(self, steps: int | None = None, progress: bool = True) -> list[dict[str, float]]:
        """Train until ``steps`` (default: the config's) and return the logged rows.

        Logs every ``log_every`` steps to ``log.jsonl``, saves sample grids and the loss curves
        every ``sample_every`` steps, and a checkpoint every ``checkpoint_every`` steps and at the end.
        With several processes, the logged losses are means over all of them, and rank 0 writes.
        """
        from tqdm.auto import tqdm

        steps = self.cfg.steps if steps is None else steps
        main = self.dist.is_main
        if main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / "config.json").write_text(json.dumps(self.configs(), indent=2))
        if self.step == 0:
            self.log(self.describe())
            if main:
                (self.out_dir / LOG).unlink(missing_ok=True)       # a run from step 0 starts its own log
        rows, start = [], time.perf_counter()
        bar = tqdm(on_device(self.loader(steps), self.device, self.memory_format), initial=self.step, total=steps,
                   disable=not (progress and main), desc="meta-learning")
        for batch in bar:
            losses = self.train_step(batch)
            if self.step % self.cfg.log_every == 0 or self.step == steps:
                self.check_finite()
                losses = mean_over_processes(losses, self.dist)
                row = {"step": self.step, **{k: round(float(v), 5) for k, v in losses.items()},   # host reads here
                       "seconds": round(time.perf_counter() - start, 2)}
                rows.append(row)
                if main:
                    with open(self.out_dir / LOG, "a") as f:
                        f.write(json.dumps(row) + "\n")
                bar.set_postfix({k: f"{row[k]:.3f}" for k in ("loss_G", "L_CNT", "L_DSC")})
            if main and (self.step % self.cfg.sample_every == 0 or self.step == steps):
                self.save_figures()
            if self.step % self.cfg.checkpoint_every == 0 or self.step == steps:
                self.save()
        return rows

    def check_finite(self) -> None:
        """Raise :class:`TrainingDiverged` if a loss was NaN or infinite (on any process) since the start."""
        if any_over_processes(self.nonfinite, self.dist):
            last = self.out_dir / CHECKPOINT
            where = f"the last good checkpoint is {last}" if last.exists() else "no checkpoint was written yet"
            raise TrainingDiverged(f"a loss became NaN or infinite at or before step {self.step}; {where} "
                                   "(unchanged). Lower the learning rates, or use precision='fp32'.")

    def describe(self) -> str:
        """What this run trains, how, and with which loss terms (the first lines of every log)."""
        speed = [str(self.dtype).removeprefix("torch."), str(self.memory_format).removeprefix("torch.")]
        speed += ["compiled"] if self.cfg.compile else []
        speed += [f"{self.dist.world_size} processes (DDP)"] if self.dist.enabled else []
        model = "" if self.cfg.model == "paper" else " (the warping generator: F, with E and G as its painter)"
        return (f"meta-learning{model} {self.model_cfg.name} ({self.model_cfg.image_size}×{self.model_cfg.image_size}) "
                f"on {len(self.dataset)} videos, variant {self.cfg.variant}, K={self.cfg.k}, "
                f"batch {self.cfg.batch_size}, {self.device} {', '.join(speed)}\n"
                f"{self.loss_description}")

    # ----------------------------------------------------------------------------- outputs
    @torch.no_grad()
    def generate(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Self-reenactment of a batch of episodes: the batch plus ``x_hat`` (eval mode)."""
        batch = to_device(batch, self.device)
        self.model.eval()
        batch["x_hat"], _ = self.model(*(batch[key] for key in self.model.inputs))
        return batch

    def save_figures(self) -> None:
        import matplotlib.pyplot as plt

        from ..provenance import save_figure
        from ..viz import plot_losses, sample_grid

        samples = self.out_dir / "samples"
        samples.mkdir(exist_ok=True)
        save_figure(sample_grid(self.generate(self.preview_batch())), samples / f"step_{self.step:06d}.png", dpi=80)
        log = self.out_dir / LOG
        if log.exists():
            save_figure(plot_losses([json.loads(line) for line in log.read_text().splitlines()]),
                        self.out_dir / "losses.png", dpi=80)
        plt.close("all")

    def preview_batch(self, size: int = 6) -> dict[str, torch.Tensor]:
        """The same few episodes at every sample step, so the grids show progress."""
        sampler = StepBatchSampler(len(self.dataset), min(size, len(self.dataset)), self.cfg.seed,
                                   PREVIEW_STEP, PREVIEW_STEP + 1)
        return torch.utils.data.default_collate([self.dataset[i] for i in next(iter(sampler))])

    def configs(self) -> dict[str, Any]:
        return {"model_config": self.model_cfg.to_dict(), "train_config": asdict(self.cfg),
                "num_videos": len(self.dataset)}

    def state_dict(self) -> dict[str, Any]:
        return {**self.configs(), "step": self.step, "version": __version__,
                "E": self.E.state_dict(), "G": self.G.state_dict(), "D": self.D.state_dict(),
                **({"warping": warping_state(self.model), "warp_config": self.model.cfg.to_dict()}
                   if self.cfg.model == "warp" else {}),
                "opt_G": self.opt_G.state_dict(), "opt_D": self.opt_D.state_dict(),
                "scaler_G": self.gan.fast.scaler_G.state_dict(), "scaler_D": self.gan.fast.scaler_D.state_dict(),
                "torch_rng": torch.get_rng_state()}

    def check_finite_weights(self) -> None:
        """Raise :class:`TrainingDiverged` if a weight of E, G, D (or F) is NaN or infinite.

        The losses of a step are computed *before* its update, so finite losses do not prove finite weights:
        a huge learning rate can turn the weights to NaN in the very step whose losses looked fine.
        """
        for name, module in (("E", self.E), ("G", self.G), ("D", self.D), ("model", self.model)):
            bad = [key for key, value in module.state_dict().items()
                   if value.is_floating_point() and not torch.isfinite(value).all()]
            if bad:
                last = self.out_dir / CHECKPOINT
                where = f"the last good checkpoint is {last}" if last.exists() else "no checkpoint was written yet"
                raise TrainingDiverged(f"{name}'s weights became NaN or infinite by step {self.step} ({bad[0]}"
                                       f"{f' and {len(bad) - 1} more' if len(bad) > 1 else ''}); {where} (unchanged). "
                                       "Lower the learning rates, or use precision='fp32'.")

    def save(self, path: str | Path | None = None) -> Path:
        """Write the full training state atomically (default: ``out_dir/checkpoint.pt``); rank 0 only."""
        self.check_finite()                        # never overwrite a good checkpoint with NaNs:
        self.check_finite_weights()                # neither the losses nor the weights may be NaN
        path = Path(path or self.out_dir / CHECKPOINT)
        return save_checkpoint(path, self.state_dict()) if self.dist.is_main else path

    def start_from(self, path: str | Path) -> None:
        """Start E, G and D (not the optimisers) from another run's checkpoint of the same model and data:
        e.g. the warping generator from the shipped paper model, whose G becomes its painter. A warping run
        started from a warping checkpoint also takes its F and β (a longer run from a shipped file)."""
        expect = {"model_config": self.model_cfg.to_dict(), "num_videos": len(self.dataset)}
        state = load_checkpoint(path, expect=expect, map_location=self.device)
        for name in ("E", "G", "D"):
            getattr(self, name).load_state_dict(state[name])
        warping = self.cfg.model == "warp" and "warping" in state
        if warping:
            self.model.load_state_dict({**state["warping"], **warping_state(self.model, painter=True)})
        self.log(f"E, G{', F, β' if warping else ''} and D start from {path} (step {state.get('step', '?')})")

    def load(self, path: str | Path | None = None) -> None:
        """Restore a checkpoint written by :meth:`save` for the same model and data."""
        path = Path(path or self.out_dir / CHECKPOINT)
        expect = {"model_config": self.model_cfg.to_dict(), "num_videos": len(self.dataset)}
        state = load_checkpoint(path, expect=expect, map_location=self.device)
        saved = {**asdict(TrainConfig()), **state["train_config"]}    # a field newer than the file: its default
        for key in must_match(TrainConfig):
            if saved[key] != getattr(self.cfg, key):
                raise CheckpointError(f"{path}: train_config.{key} is {saved[key]!r} in the checkpoint, "
                                      f"{getattr(self.cfg, key)!r} now; resume with the same settings")
        for name in ("E", "G", "D", "opt_G", "opt_D"):
            getattr(self, name).load_state_dict(state[name])
        if self.cfg.model == "warp":
            self.model.load_state_dict({**state["warping"], **warping_state(self.model, painter=True)})
        self.gan.fast.scaler_G.load_state_dict(state["scaler_G"])
        self.gan.fast.scaler_D.load_state_dict(state["scaler_D"])
        torch.set_rng_state(state["torch_rng"].cpu())
        self.step = int(state["step"])


def forget_log_after(log: Path, step: int, warn=print) -> None:
    """Drop the log rows of steps after ``step``: a resumed run logs those steps again.

    A line that is not JSON (a kill in the middle of an append tears the last one) is dropped with a warning.
    """
    if not log.exists():
        return
    rows = []
    for number, line in enumerate(log.read_text().splitlines(), 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            warn(f"{log}: dropped line {number}, which is not a complete log row (a run killed while writing it)")
            continue
        if row["step"] <= step:
            rows.append(line)
    log.write_text("".join(row + "\n" for row in rows))


def remove_orphans(out_dir: Path, warn=print) -> None:
    """Delete the temporary files a run killed during a checkpoint write left behind (``.checkpoint.pt.*.tmp``)."""
    for orphan in out_dir.glob(f".{CHECKPOINT}.*.tmp"):
        orphan.unlink(missing_ok=True)
        warn(f"removed {orphan}, a checkpoint write that a killed run never finished")


def resume_or_start(model_cfg: ModelConfig, train_cfg: TrainConfig, dataset, out_dir: str | Path,
                    resume: bool, device: torch.device | str = "cpu", log=print,
                    dist: Distributed = SINGLE, overwrite: bool = False) -> MetaTrainer:
    """A trainer for ``out_dir``: resumed from its checkpoint when ``resume``, else fresh.

    A fresh start refuses a folder that holds another run's checkpoint or log (two runs never share
    one log) unless ``overwrite``, which deletes them first. Every process of a multi-process run loads
    the same checkpoint, whatever the number of processes that wrote it.
    """
    out_dir = Path(out_dir)
    checkpoint, log_file = out_dir / CHECKPOINT, out_dir / LOG
    earlier = [path for path in (checkpoint, log_file) if path.exists()]
    if not resume and earlier and not overwrite:
        raise OutputExistsError(f"{out_dir} holds an earlier run ({', '.join(p.name for p in earlier)}): pass "
                                "--resume to continue it, --overwrite to start again from step 0, or choose another "
                                "--out")
    if resume and not checkpoint.exists():
        raise CheckpointError(f"{checkpoint}: nothing to resume; drop --resume to start a new run")
    trainer = MetaTrainer(model_cfg, train_cfg, dataset, out_dir, device, log, dist)
    if trainer.dist.is_main:
        remove_orphans(out_dir, trainer.log)
    if resume:
        trainer.load(checkpoint)
        if trainer.dist.is_main:
            forget_log_after(log_file, trainer.step, trainer.log)
        trainer.log(f"resumed {checkpoint} at step {trainer.step}")
    elif earlier and trainer.dist.is_main:
        for path in earlier:
            path.unlink()
        trainer.log(f"--overwrite: deleted the earlier run's {', '.join(p.name for p in earlier)} in {out_dir}")
    return trainer


def training_dataset(data: str, image_size: int, k: int):
    """``"synthetic"`` (the built-in dataset's train split, rendered at ``image_size``) or a records folder."""
    from dataclasses import replace

    from ..data import VideoDataset, default_config, synthetic_split

    if data == "synthetic":
        videos = synthetic_split("train", replace(default_config(), size=image_size), cache=True)
        return VideoDataset(videos, k=k)
    return VideoDataset(data, k=k, size=image_size)


def add_train_command(subcommands) -> None:
    """``fewshot train``; on several GPUs: ``torchrun --nproc_per_node N -m fewshot_lib train ...``."""
    from ..config import CONFIG, get_device, pick

    p = subcommands.add_parser("train", help="meta-learn E, G, P, D on K-shot episodes (resumable; "
                                             "several GPUs: torchrun --nproc_per_node N -m fewshot_lib train ...)")
    p.add_argument("--preset", default=pick(full="cpu64", smoke="tiny"), help="model preset (see `fewshot models`)")
    p.add_argument("--data", default="synthetic", help="'synthetic' (built in) or a folder of records")
    p.add_argument("--out", default=str(CONFIG.runs / "meta"),
                   help=f"run folder: checkpoint, log, samples (default: {CONFIG.runs / 'meta'}, under FEWSHOT_RUNS)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--overwrite", action="store_true", help="start again from step 0 in an --out that holds a run")
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: FEWSHOT_DEVICE or auto)")
    add_flags(p, TrainConfig)                        # one flag per field: a new field is a new flag

    def run(args) -> int:
        model_cfg = get_preset(args.preset)
        train_cfg = from_flags(TrainConfig, args)
        dist, device = from_environment(get_device(args.device))
        try:
            dataset = training_dataset(args.data, model_cfg.image_size, train_cfg.k)
            trainer = resume_or_start(model_cfg, train_cfg, dataset, args.out, args.resume, device, dist=dist,
                                      overwrite=args.overwrite)
            trainer.train()
        finally:
            close(dist)
        if dist.is_main:
            print(f"checkpoint: {Path(args.out) / CHECKPOINT}\nlog, samples, loss curves: {args.out}")
        return 0

    p.set_defaults(run=run)
