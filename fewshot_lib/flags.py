"""Command-line flags made from the configuration dataclasses: a new field is a new flag.

    add_flags(parser, TrainConfig)                 # --steps, --batch-size, --lr-g, --betas B1 B2, --compile/--no-compile
    train_cfg = from_flags(TrainConfig, args)

Each flag is named after its field (``_`` → ``-``), typed as the field is (``bool``: ``--x``/``--no-x``;
``tuple[float, float]``: two values; ``tuple[int, ...]``: one or more), defaults to the field's default,
and its help is the comment written beside the field in the dataclass's source. A field declared with
``metadata=MUST_MATCH`` must be the same when a run resumes from a checkpoint (:func:`must_match`); one
declared with ``metadata=at_least(1)`` is checked by :func:`check_ranges` (the config's ``__post_init__``
calls it), so a bad value stops the command before any work, with one line naming the flag.
"""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import typing
from typing import Any

from .errors import FewshotError

MUST_MATCH = {"must_match": True}
"""``field(default=..., metadata=MUST_MATCH)``: a resumed run must use the checkpoint's value."""



class ConfigError(FewshotError, ValueError):
    """A configuration value outside its allowed range or set (the message names the flag)."""


def at_least(minimum: float, **metadata: Any) -> dict[str, Any]:
    """Field metadata: the value must be ``>= minimum`` (combine: ``at_least(1, **MUST_MATCH)``)."""
    return {**metadata, "at_least": minimum}


def at_least_int(minimum: int, kind: type = int):
    """An argparse ``type`` for a hand-written flag: a number (``kind``) ``>= minimum``; argparse names the flag."""
    def parse(text: str):
        value = kind(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum:g}; got {value:g}")
        return value

    parse.__name__ = f"{kind.__name__} >= {minimum:g}"      # what argparse calls the type in its message
    return parse


def flag(name: str) -> str:
    """The command-line flag of field ``name``: ``log_every`` → ``--log-every``."""
    return f"--{name.replace('_', '-')}"


def check_ranges(config: Any) -> None:
    """Raise :class:`ConfigError` for the first field of ``config`` below its :func:`at_least` minimum."""
    for f in dataclasses.fields(config):
        minimum, value = f.metadata.get("at_least"), getattr(config, f.name)
        if minimum is not None and value < minimum:
            raise ConfigError(f"{flag(f.name)} ({f.name}) must be at least {minimum:g}; got {value:g}")


_FIELD_LINE = re.compile(r"^\s+(\w+)\s*:[^#]*?(?:#\s?(.*))?$")
_COMMENT_LINE = re.compile(r"^\s+#\s?(.*)$")


def field_comments(cls: type) -> dict[str, str]:
    """The comment beside each field in ``cls``'s source (continued on comment-only lines below it)."""
    comments: dict[str, str] = {}
    current = None
    for line in inspect.getsource(cls).splitlines():
        if current and (more := _COMMENT_LINE.match(line)):
            comments[current] += " " + more.group(1).strip()
            continue
        match = _FIELD_LINE.match(line)
        current = match.group(1) if match and match.group(2) is not None else None
        if current:
            comments[current] = match.group(2).strip()
    return comments


def must_match(cls: type) -> tuple[str, ...]:
    """The fields of ``cls`` that a resumed run must share with its checkpoint."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get("must_match"))


def _option(kind: Any) -> dict[str, Any]:
    """argparse keywords for a field's type."""
    if kind is bool:
        return {"action": argparse.BooleanOptionalAction}
    if typing.get_origin(kind) is tuple:
        items = typing.get_args(kind)
        if len(items) == 2 and items[1] is Ellipsis:
            return {"type": items[0], "nargs": "+"}
        return {"type": items[0], "nargs": len(items)}
    return {"type": kind}


def add_flags(parser: argparse.ArgumentParser, cls: type, defaults: dict[str, Any] | None = None,
              skip: tuple[str, ...] = (), inherited: tuple[str, ...] = (), inherited_from: str = "") -> None:
    """One flag per field of the dataclass ``cls``.

    ``defaults``: defaults that differ from the dataclass's (e.g. smoke-mode values); ``skip``: fields
    without a flag; ``inherited``: fields whose default is taken elsewhere at run time (the flag's
    default is ``None``, its help says from where: ``inherited_from``).
    """
    hints, comments = typing.get_type_hints(cls), field_comments(cls)
    instance = cls()
    for f in dataclasses.fields(cls):
        if f.name in skip or not f.init:
            continue
        if f.name in inherited:
            default, shown = None, inherited_from
        else:
            default = (defaults or {}).get(f.name, getattr(instance, f.name))
            shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
        note = comments.get(f.name, "")
        if "at_least" in f.metadata:
            note = f"{note} (at least {f.metadata['at_least']:g})".lstrip()
        parser.add_argument(flag(f.name), dest=f.name, default=default,
                            help=f"{note} (default: {shown})" if note else f"(default: {shown})",
                            **_option(hints[f.name]))


def from_flags(cls: type, args: argparse.Namespace, skip: tuple[str, ...] = (), **overrides) -> Any:
    """An instance of ``cls`` from the parsed flags (fields left ``None`` keep the dataclass's default)."""
    hints = typing.get_type_hints(cls)
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
              if f.init and f.name not in skip and getattr(args, f.name, None) is not None}
    values = {name: tuple(value) if typing.get_origin(hints[name]) is tuple else value   # nargs gives lists
              for name, value in values.items()}
    return cls(**{**values, **overrides})
