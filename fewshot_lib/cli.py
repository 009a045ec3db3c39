"""The `fewshot` command line: it only parses arguments and calls the library.

Each command is registered by a small ``add_<name>_command(subcommands)`` function that
lives next to the library code it calls; list it in ``COMMANDS`` to expose it. A command whose
module needs a package that is not installed (a GPU machine with torch but no notebook tools) stays
listed and says which package it needs; the other commands work.

A :class:`~fewshot_lib.errors.FewshotError` (a bad file, an existing output, a diverged run, …)
is printed as its message alone, and the command exits with status 1; ``--debug`` (or
``FEWSHOT_DEBUG=1``) adds the traceback. Any other exception is a bug and keeps its traceback.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import __version__
from .errors import FewshotError

COMMANDS = {   # name: "module:function that adds the command's parser"
    "env": "fewshot_lib.environment:add_env_command",
    "course": "fewshot_lib.course:add_course_command",
    "train": "fewshot_lib.train.meta:add_train_command",
    "synth": "fewshot_lib.data.synthetic:add_synth_command",
    "models": "fewshot_lib.models.summary:add_models_command",
    "prepare": "fewshot_lib.data.prepare:add_prepare_command",
    "weights": "fewshot_lib.losses.perceptual:add_weights_command",
    "finetune": "fewshot_lib.finetune.cli:add_finetune_command",
    "evaluate": "fewshot_lib.evaluate.protocol:add_evaluate_command",
    "model-card": "fewshot_lib.evaluate.model_card:add_model_card_command",
    "identity-leak": "fewshot_lib.evaluate.identity:add_identity_leak_command",
    "bench": "fewshot_lib.bench:add_bench_command",
    "student": "fewshot_lib.assignments:add_student_command",
    "animate": "fewshot_lib.animate:add_animate_command",
    "site": "fewshot_lib.site.cli:add_site_command",
    "verify": "fewshot_lib.provenance.verify:add_verify_command",
    "detect": "fewshot_lib.detector:add_detect_command",
    "detector-train": "fewshot_lib.detector:add_detector_train_command",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fewshot",
        description="Few-shot talking-head models (Zakharov et al., ICCV 2019): the course's command line.",
    )
    parser.add_argument("--version", action="version", version=f"fewshot_lib {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of every error (also: FEWSHOT_DEBUG=1)")
    subcommands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    for name, entry in COMMANDS.items():
        module, function = entry.split(":")
        try:
            add_command = getattr(importlib.import_module(module), function)
        except ModuleNotFoundError as missing:       # e.g. a GPU machine with torch but no notebook tools
            if (missing.name or "").startswith("fewshot_lib"):
                raise
            add_command = unavailable_command(name, missing.name)
        add_command(subcommands)
    return parser


def unavailable_command(name: str, package: str):
    """Adds ``fewshot NAME`` as a command that only says which package it needs (the others still work)."""
    def add(subcommands) -> None:
        p = subcommands.add_parser(name, help=f"(not available here: needs the Python package {package!r})",
                                   prefix_chars="\0", add_help=False)     # every argument is taken, none parsed
        p.add_argument("arguments", nargs="*")

        def run(args) -> int:
            raise FewshotError(f"needs the Python package {package!r}, which is not installed here; "
                               "`pip install -e .` in the repository (or the course's environment file) installs it")

        p.set_defaults(run=run)
    return add


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 0
    try:
        return int(args.run(args) or 0)
    except FewshotError as error:                     # the user can act on it: the message says how
        if args.debug or os.environ.get("FEWSHOT_DEBUG", "") not in ("", "0"):
            raise
        print(f"fewshot {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
