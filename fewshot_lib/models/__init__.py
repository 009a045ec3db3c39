"""The three networks of the paper: embedder E, generator G (with P) and projection discriminator D.

>>> from fewshot_lib.models import Embedder, Generator, Discriminator, get_preset
>>> cfg = get_preset("cpu64")
>>> E, G, D = Embedder(cfg), Generator(cfg), Discriminator(cfg, num_videos=100)

Introduced in notebooks 03 (embedder) and 04 (generator, discriminator).
"""
from .adain import AdaIN, InstanceNorm, instance_norm
from .blocks import ResBlockDown, ResBlockUp, SelfAttention, conv, down_path, fold_spectral_norms, linear
from .discriminator import Discriminator
from .embedder import Embedder, sum_pool_relu
from .generator import Generator, PsiSlice
from .presets import PRESETS, ModelConfig, ModelConfigError, get_preset
from .summary import PAPER_COUNTS, architecture_summary, parameter_counts, parameter_table

__all__ = [
    "AdaIN", "Discriminator", "Embedder", "Generator", "InstanceNorm", "ModelConfig", "ModelConfigError",
    "PAPER_COUNTS", "PRESETS", "PsiSlice", "ResBlockDown", "ResBlockUp", "SelfAttention", "architecture_summary",
    "conv", "down_path", "fold_spectral_norms", "get_preset", "instance_norm", "linear", "parameter_counts",
    "parameter_table", "sum_pool_relu",
]
