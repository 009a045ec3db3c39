"""Command-line flags come from the configuration dataclasses: every field has its flag."""
import argparse
from dataclasses import dataclass, field, fields

import pytest

from fewshot_lib.cli import build_parser
from fewshot_lib.finetune import FinetuneConfig
from fewshot_lib.flags import MUST_MATCH, add_flags, field_comments, from_flags, must_match
from fewshot_lib.train.meta import TrainConfig


@dataclass(frozen=True)
class Toy:
    """A config as a reader would write one."""

    steps: int = 3                     # how long
    rates: tuple[float, float] = (0.1, 0.2)   # two numbers
    sizes: tuple[int, ...] = (1, 2)    # any number of sizes
    fast: bool = False                 # go fast
    name: str = field(default="a", metadata=MUST_MATCH)   # must stay
                                       # the same when resuming


def parse(cls, argv, **options):
    parser = argparse.ArgumentParser()
    add_flags(parser, cls, **options)
    return parser.parse_args(argv)


def test_a_new_field_is_a_flag_typed_and_documented_by_its_comment():
    args = parse(Toy, ["--steps", "5", "--rates", "1", "2", "--sizes", "4", "5", "6", "--fast", "--name", "b"])
    assert from_flags(Toy, args) == Toy(steps=5, rates=(1.0, 2.0), sizes=(4, 5, 6), fast=True, name="b")
    assert from_flags(Toy, parse(Toy, [])) == Toy()
    assert field_comments(Toy)["name"] == "must stay the same when resuming"
    assert must_match(Toy) == ("name",)
    with pytest.raises(SystemExit):
        parse(Toy, ["--steps", "many"])


@pytest.mark.parametrize("command, config", [("train", TrainConfig), ("finetune", FinetuneConfig)])
def test_every_config_field_has_its_flag_in_the_command(command, config):
    subcommands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    parser = subcommands.choices[command]
    flags = {option for action in parser._actions for option in action.option_strings}
    missing = [f.name for f in fields(config) if f"--{f.name.replace('_', '-')}" not in flags]
    assert not missing, f"fields of {config.__name__} without a flag: {missing}"


def test_the_training_command_builds_the_default_config_and_resume_checks_the_arithmetic_fields():
    subcommands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    args = subcommands.choices["train"].parse_args([])
    assert from_flags(TrainConfig, args) == TrainConfig()
    assert {"k", "batch_size", "lr_g", "lr_d", "betas", "seed", "variant", "model"} <= set(must_match(TrainConfig))
    assert "steps" not in must_match(TrainConfig) and "log_every" not in must_match(TrainConfig)
