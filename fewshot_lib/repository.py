"""The course's GitHub address in one place: :data:`fewshot_lib.config.REPOSITORY`.

The address is written out where a reader or a host needs it literally: the Open-in-Colab badges and the
install line of every notebook, the README's links, ``pyproject.toml``'s Homepage and the style guide. A fork
changes ``REPOSITORY`` in ``fewshot_lib/config.py`` and runs ``fewshot student``, which calls
:func:`sync_repository` before writing the student copies: every one of those files then points at the fork
(``tests/test_notebook_hygiene.py`` fails while a notebook points elsewhere).
"""
from __future__ import annotations

import re
from pathlib import Path

from .config import REPOSITORY

FILES = ("README.md", "pyproject.toml", "docs/STYLE.md", "docs/instructors.md")
"""The files besides the notebooks that spell the address out."""

_HOMEPAGE = re.compile(r'^Homepage = "https://github\.com/([\w.-]+/[\w.-]+)"', re.M)


def written_repository(root: str | Path) -> str | None:
    """The address the files under ``root`` spell out now: ``pyproject.toml``'s Homepage (None if absent)."""
    pyproject = Path(root) / "pyproject.toml"
    match = _HOMEPAGE.search(pyproject.read_text(encoding="utf-8")) if pyproject.is_file() else None
    return match[1] if match else None


def replace_repository(text: str, old: str, new: str = REPOSITORY) -> str:
    """``text`` with every GitHub address of ``old`` (``github.com/old``, Colab's ``github/old``) made ``new``."""
    return re.sub(rf"(github\.com/|colab\.research\.google\.com/github/){re.escape(old)}(?=[/\\\"')\s]|$)",
                  lambda m: m[1] + new, text)


def sync_repository(root: str | Path, notebooks: str | Path, new: str = REPOSITORY) -> list[Path]:
    """Point every address under ``root`` (the notebooks in ``notebooks`` and :data:`FILES`) at ``new``.

    Returns the files it changed (none when they already agree, or when ``root`` has no ``pyproject.toml``).
    """
    old = written_repository(root)
    if old is None or old == new:
        return []
    changed = []
    for path in [*(Path(root) / name for name in FILES), *sorted(Path(notebooks).glob("*.ipynb"))]:
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            synced = replace_repository(text, old, new)
            if synced != text:
                path.write_text(synced, encoding="utf-8")
                changed.append(path)
    return changed
