"""Errors a user can act on, and the one rule for outputs: never replace a file unasked.

Every error type of the course (a bad record, checkpoint or person model, no face in a photo, an
existing output, a diverged run, …) is a :class:`FewshotError` as well as its usual Python base
(``ValueError``, ``RuntimeError``, ``FileExistsError``). Its message names the user's file and says
what to do, so the command line prints it alone, on one or two lines, with no traceback
(``FEWSHOT_DEBUG=1`` or ``fewshot --debug`` shows the traceback too). Anything else is a bug and
keeps its traceback.
"""
from __future__ import annotations

import tempfile
from pathlib import Path


class FewshotError(Exception):
    """An error whose message says what went wrong with which file and what to do about it."""


class OutputExistsError(FewshotError, FileExistsError):
    """An output would replace an existing file, and replacing was not asked for."""


def output_path(path: str | Path, overwrite: bool = False, flag: str = "--overwrite") -> Path:
    """``path`` as a Path, once it is known that an output may be written there; else a :class:`FewshotError`.

    Refuses an existing file unless ``overwrite`` (:class:`OutputExistsError`), a folder, and a place that
    cannot be written. Call it before any work starts, so that minutes of training are never lost to a name.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputExistsError(f"{path}: is a folder; give a file name")
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} already exists; choose another name, or pass {flag} to replace it")
    folder = next((p for p in [path.parent, *path.parent.parents] if p.exists()), Path("."))
    try:                                         # the only sure test (root passes every permission check)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise FewshotError(f"{path}: cannot be written in {folder} ({error.strerror}); choose another place") from None
    return path


class MissingFileError(FewshotError, FileNotFoundError):
    """An input the user named (a photo, weights, a folder of notebooks) is not there."""
