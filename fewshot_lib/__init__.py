"""fewshot_lib: few-shot talking-head models (Zakharov et al., ICCV 2019), built step by step.

The notebooks in ``notebooks/`` build each component by hand, then use this library's
version. See ``fewshot_lib.config`` for the tensor conventions and environment variables.
"""
__version__ = "0.1.0"

from .config import CONFIG, Config, get_device, pick, run_dir, seed_everything  # noqa: E402
from .environment import print_banner  # noqa: E402

__all__ = ["CONFIG", "Config", "__version__", "get_device", "pick", "print_banner", "run_dir", "seed_everything"]
