"""The course map, read from the one place that holds it: the README's "Course map" table.

The README's table (notebook, paper sections, what it builds, run times, Colab, student copy) is what a
visitor of the repository reads first; the site's home page shows the same rows, so they are parsed here
rather than written a second time. A row that no longer parses is an error naming the README line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..config import REPOSITORY, colab_url
from ..errors import FewshotError, MissingFileError

HEADING = "## Course map"
_NOTEBOOK_LINK = re.compile(r"^\[(?P<label>[^\]]+)\]\((?P<path>notebooks/(?P<name>\d\d_[\w-]+)\.ipynb)\)$")


@dataclass(frozen=True)
class Chapter:
    """One row of the course map."""
    name: str           # the notebook's stem, e.g. "03_embedder"
    label: str          # "03 embedder"
    paper: str          # the paper's sections, e.g. "§3.2"
    builds: str         # what the notebook builds (markdown: may hold `code`)
    run_time: str       # "CPU full / smoke", e.g. "31 s / 18 s"
    has_student: bool   # whether a student copy with exercises exists

    @property
    def notebook(self) -> str:
        """The notebook's path in the repository."""
        return f"notebooks/{self.name}.ipynb"

    @property
    def student(self) -> str | None:
        return f"notebooks/student/{self.name}.ipynb" if self.has_student else None

    def colab(self, path: str | None = None) -> str:
        return colab_url(path or self.notebook)


def github_url(path: str) -> str:
    """The address of a file of the repository on GitHub (the course's ``REPOSITORY``)."""
    return f"https://github.com/{REPOSITORY}/blob/main/{path}"


def site_url() -> str:
    """Where the workflow ``.github/workflows/site.yml`` publishes the site (GitHub Pages of ``REPOSITORY``)."""
    owner, name = REPOSITORY.split("/")
    return f"https://{owner.lower()}.github.io/{name}/"


def _table_rows(text: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) of the first markdown table after ``HEADING``, header and rule left out."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == HEADING), None)
    if start is None:
        return []
    rows, seen_table = [], False
    for number, line in enumerate(lines[start + 1:], start + 2):
        if line.startswith("|"):
            seen_table = True
            rows.append((number, [cell.strip() for cell in line.strip().strip("|").split("|")]))
        elif seen_table:
            break
    return rows[2:]


def read_course_map(readme: str | Path) -> list[Chapter]:
    """The chapters of the README's course map, in its order."""
    readme = Path(readme)
    if not readme.is_file():
        raise MissingFileError(f"{readme}: no README here; the site's home page reads its course map: run this "
                               f"from a checkout of https://github.com/{REPOSITORY} or pass --readme FILE")
    chapters = []
    for number, cells in _table_rows(readme.read_text(encoding="utf-8")):
        link = _NOTEBOOK_LINK.match(cells[0]) if len(cells) == 6 else None
        if link is None:
            raise FewshotError(f"{readme}:{number}: a course-map row should have 6 cells and start with "
                               f"[NN name](notebooks/NN_name.ipynb); fix the row")
        chapters.append(Chapter(name=link["name"], label=link["label"], paper=cells[1], builds=cells[2],
                                run_time=cells[3], has_student=cells[5] not in ("", "—", "-")))
    if not chapters:
        raise FewshotError(f"{readme}: no table under {HEADING!r}; the site's home page is built from it")
    return chapters
