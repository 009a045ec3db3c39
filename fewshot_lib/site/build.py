"""Build the course site: every executed notebook of a folder → ``OUT/index.html`` and one page per notebook.

Introduced by ``fewshot course`` (which ends by calling :func:`build_site`) and ``fewshot site`` (which only
calls it). Nothing is executed: the pages show the outputs the notebooks were saved with. The site is built in
a temporary folder beside ``out`` and renamed into place at the end, so ``out`` is never half-written; an
existing ``out`` is replaced only when asked, and only if it is a site built here (it holds :data:`MARKER`).
"""
from __future__ import annotations

import importlib.util
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from ..course import course_notebooks
from ..errors import MissingFileError, OutputExistsError
from .assets import copy_assets
from .book import Link, chapter_page, home_page
from .course_map import read_course_map
from .pages import render_notebook

MARKER = ".fewshot-site"
SMOKE_BANNER = "mode: smoke"          # what fewshot_lib.print_banner() prints in smoke mode


def check_output(out: Path, overwrite: bool, flag: str = "--out") -> None:
    """Refuse ``out`` before any work: an existing site unless ``overwrite``, any other existing thing always."""
    if out.exists() and not (out / MARKER).is_file():
        raise OutputExistsError(f"{out} exists and is not a site built by fewshot site; choose another {flag}")
    if out.exists() and not overwrite:
        raise OutputExistsError(f"{out} already exists; choose another {flag}, or pass --overwrite to rebuild it")


def ran_in_smoke_mode(notebook: Path) -> bool:
    """Whether the notebook's setup cell printed the smoke-mode banner."""
    nb = nbformat.read(notebook, as_version=4)
    return any(SMOKE_BANNER in output.get("text", "") for cell in nb.cells if cell.cell_type == "code"
               for output in cell.outputs)


def run_note(notebook: Path, smoke: bool) -> str:
    """"Executed … in N s": papermill's record of the run, when the notebook has one."""
    record = nbformat.read(notebook, as_version=4).metadata.get("papermill", {})
    if not record.get("duration"):
        return ""
    mode = "smoke mode: tiny data, few steps" if smoke else "the real course"
    return f"Executed on {record['end_time'][:10]} in {record['duration']:.0f} s ({mode})."


def write_site(site: Path, notebooks: list[Path], readme: Path) -> None:
    """Every file of the site, into the empty folder ``site``."""
    chapters = {chapter.name: chapter for chapter in read_course_map(readme)}
    smoke = ran_in_smoke_mode(notebooks[0])
    pages = [render_notebook(path, path.parent / "runs" / path.stem) for path in notebooks]
    toc = [Link(f"{page.name}.html", page.title) for page in pages]
    copy_assets(site)
    for page, path in zip(pages, notebooks):
        html = chapter_page(page, toc, chapters.get(page.name), run_note(path, smoke))
        (site / f"{page.name}.html").write_text(html, encoding="utf-8")
        for name, data in page.files.items():
            (site / name).parent.mkdir(parents=True, exist_ok=True)
            (site / name).write_bytes(data)
    (site / "index.html").write_text(home_page(list(chapters.values()), toc, smoke), encoding="utf-8")
    (site / MARKER).write_text("built by fewshot_lib.site; fewshot site --overwrite replaces this folder\n")


def build_site(notebooks_dir: str | Path = "build/notebooks", out: str | Path = "build/site",
               readme: str | Path = "README.md", overwrite: bool = False) -> Path:
    """Render the executed notebooks of ``notebooks_dir`` into a static site ``out``; returns its index.html.

    ``readme``: the README whose course map becomes the home page. The notebooks' run folder
    (``notebooks_dir/runs``, as ``fewshot course`` writes it) gives the videos copied beside each page.
    """
    if importlib.util.find_spec("nbconvert") is None:
        raise MissingFileError("fewshot site renders the notebooks with nbconvert, which is not installed: "
                               "pip install 'fewshot_lib[course]'")
    out = Path(out)
    check_output(out, overwrite)
    notebooks = course_notebooks(notebooks_dir)
    read_course_map(readme)                                   # a broken README fails before any rendering
    start = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        write_site(building, notebooks, Path(readme))
        if out.exists():
            shutil.rmtree(out)
        building.rename(out)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    seconds = time.perf_counter() - start
    print(f"Site of {len(notebooks)} notebooks built in {seconds:.1f} s: {out.resolve() / 'index.html'}")
    return out / "index.html"
