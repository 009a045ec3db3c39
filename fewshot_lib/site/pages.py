"""One executed notebook → the HTML of its cells, with its figures and videos as separate files.

nbconvert renders the cells with the small template in ``templates/notebook`` (JupyterLab's cell markup,
without nbconvert's page, which would load MathJax and require.js from CDNs). Before that, the notebook is
prepared for reading outside Jupyter: exercises and their solutions are tagged so the page can mark them,
the Colab badge (an image on colab.research.google.com) becomes a plain link, widgets become a still of
their last state (:mod:`.widgets`) and embedded videos become files (:mod:`.media`).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .media import extract_videos, localize_jshtml, run_videos
from .widgets import freeze_widgets

TEMPLATES = Path(__file__).parent / "templates"
EXERCISE_TAG, SOLUTION_TAG = "fewshot-exercise", "fewshot-solution"
_EXERCISE = re.compile(r"^#{2,4} Exercise\b")
_SOLUTION = "### BEGIN SOLUTION"
_COLAB_BADGE = re.compile(r"^\[!\[Open In Colab\]\(https://colab\.research\.google\.com/assets/colab-badge\.svg\)\]"
                          r"\([^)\s]*\)\n?", re.MULTILINE)
_TITLE = re.compile(r"^# (.+)$", re.MULTILINE)


@dataclass
class Page:
    """A chapter's page: its title, the HTML of its cells, and the files that HTML refers to."""
    name: str                                               # the notebook's stem: the page is NAME.html
    title: str
    body: str
    files: dict[str, bytes] = field(default_factory=dict)   # paths relative to the site's root → content
    videos: list[str] = field(default_factory=list)         # of ``files``: those the run wrote, the cells never showed

    @property
    def files_dir(self) -> str:
        return f"{self.name}_files"


def tag(cell, name: str) -> None:
    tags = cell.metadata.setdefault("tags", [])
    if name not in tags:
        tags.append(name)


def mark_exercises(nb) -> None:
    """Tag the "### Exercise N.M" markdown cells and the code cells holding a solution (nbgrader's markers)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and _EXERCISE.match(cell.source):
            tag(cell, EXERCISE_TAG)
        elif cell.cell_type == "code" and _SOLUTION in cell.source:
            tag(cell, SOLUTION_TAG)


def unbadge(nb) -> None:
    """The Open-in-Colab badge removed: its image lives on colab.research.google.com, and the page's header
    already links to Colab."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _COLAB_BADGE.sub("", cell.source)


def title_of(nb, name: str) -> str:
    """The first "# Title" of the notebook's markdown (the title cell), else its file name."""
    for cell in nb.cells:
        match = _TITLE.search(cell.source) if cell.cell_type == "markdown" else None
        if match:
            return match[1].strip()
    return name


def exporter():
    """nbconvert's HTML exporter with the site's template; figures extracted as files, not inlined."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.NbConvertBase.display_data_priority = [            # nbconvert's order, with GIFs before text
        "text/html", "text/markdown", "image/svg+xml", "image/gif", "image/png", "image/jpeg", "text/plain"]
    config.HTMLExporter.preprocessors = ["nbconvert.preprocessors.ExtractOutputPreprocessor"]
    config.ExtractOutputPreprocessor.extract_output_types = {"image/png", "image/jpeg", "image/gif",
                                                             "image/svg+xml"}
    quiet = logging.getLogger(__name__)              # not nbconvert's warning per figure without alternative text
    quiet.setLevel(logging.ERROR)
    return HTMLExporter(config=config, template_name="notebook", extra_template_basedirs=[str(TEMPLATES)], log=quiet)


def render_notebook(path: str | Path, run_folder: str | Path | None = None) -> Page:
    """The page of one executed notebook (``path``), with its figures and videos among ``Page.files``.

    ``run_folder``: where the notebook wrote its outputs; its mp4s and GIFs are copied beside the page.
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    page = Page(name=path.stem, title=title_of(nb, path.stem), body="")
    mark_exercises(nb)
    unbadge(nb)
    freeze_widgets(nb)
    localize_jshtml(nb)
    page.files.update(extract_videos(nb, page.files_dir))
    page.body, resources = exporter().from_notebook_node(
        nb, resources={"unique_key": path.stem, "output_files_dir": page.files_dir})
    page.files.update(resources["outputs"])
    written = run_videos(run_folder, page.files_dir, page.files) if run_folder else {}
    page.files.update(written)
    page.videos = list(written)
    return page
