"""Run the whole course headlessly: every notebook, in order, executed with papermill.

``fewshot course`` (or ``make course``) gives a user the executed notebooks, with their
figures, trained models and videos, without opening Jupyter.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from .config import REPOSITORY
from .errors import MissingFileError

NOTEBOOK = re.compile(r"^\d\d_.+\.ipynb$")

SETUP_CELL = f"""\
# Setup: the course's library. Installed already (a checkout, pip, conda)? Then nothing is installed. Else
# (Colab, Kaggle, a fresh Jupyter) it is installed once from GitHub; the torch already here is kept.
import importlib.util
if importlib.util.find_spec("fewshot_lib") is None:
    %pip install -q "fewshot_lib[offline] @ git+https://github.com/{REPOSITORY}"
    importlib.invalidate_caches()
import fewshot_lib   # ModuleNotFoundError? pip could not install it here (no internet?): see its message above
fewshot_lib.print_banner()"""
"""The first code cell of every notebook, the same everywhere (``tests/test_notebook_hygiene.py``)."""


def course_notebooks(folder: str | Path) -> list[Path]:
    """The course's notebooks (``NN_name.ipynb``) in ``folder``, in course order."""
    folder = Path(folder)
    notebooks = sorted(p for p in folder.iterdir() if NOTEBOOK.match(p.name)) if folder.is_dir() else []
    if not notebooks:
        raise MissingFileError(f"no NN_*.ipynb notebooks in {folder.resolve()}: the notebooks live in the course's "
                               f"repository, not in the installed package; run this from a checkout "
                               f"(git clone https://github.com/{REPOSITORY}) or pass --notebooks FOLDER")
    return notebooks


def run_course(notebooks_dir: str | Path, out_dir: str | Path, smoke: bool = False,
               only: list[str] | None = None, timeout: int | None = None,
               site: str | Path | None = None) -> list[Path]:
    """Execute each notebook into ``out_dir``; their own outputs go to ``out_dir/runs``.

    ``smoke`` runs the tiny smoke mode instead of the real course; ``only`` keeps the
    notebooks whose file name starts with one of its prefixes (e.g. ``["00", "03"]``).
    Returns the executed notebooks' paths. Stops at the first notebook that fails. With ``site`` (a folder),
    ends by rendering them into a static website there (:func:`fewshot_lib.site.build_site`).
    """
    try:
        import papermill
    except ModuleNotFoundError:
        raise MissingFileError("fewshot course runs the notebooks with papermill, which is not installed: "
                               "pip install 'fewshot_lib[course]' (JupyterLab and papermill)") from None

    from .site.build import build_site, check_output        # the site renders what this module runs: imported here

    notebooks_dir, out_dir = Path(notebooks_dir).resolve(), Path(out_dir).resolve()
    if site is not None:
        check_output(Path(site), overwrite=True, flag="--site")   # an earlier site is replaced, nothing else
    notebooks = [p for p in course_notebooks(notebooks_dir) if not only or p.name.startswith(tuple(only))]
    out_dir.mkdir(parents=True, exist_ok=True)                # only once there is something to run
    # The kernels inherit these: the library's config reads them (see fewshot_lib.config).
    os.environ["FEWSHOT_SMOKE"] = "1" if smoke else "0"
    os.environ["FEWSHOT_RUNS"] = str(out_dir / "runs")
    print(f"Running {len(notebooks)} notebooks ({'smoke' if smoke else 'full'} mode) into {out_dir}")
    executed = []
    for notebook in notebooks:
        start = time.perf_counter()
        print(f"  {notebook.name} ...", flush=True)
        papermill.execute_notebook(str(notebook), str(out_dir / notebook.name), cwd=str(notebooks_dir),
                                   kernel_name="python3", progress_bar=False, execution_timeout=timeout)
        print(f"  {notebook.name} done in {time.perf_counter() - start:.0f} s", flush=True)
        executed.append(out_dir / notebook.name)
    print(f"\nExecuted notebooks: {out_dir}\nTheir outputs (models, figures, videos): {out_dir / 'runs'}")
    if site is not None:                     # the executed course as a website (its home page: the README's map)
        build_site(out_dir, site, notebooks_dir.parent / "README.md", overwrite=True)
    return executed


def add_course_command(subcommands) -> None:
    p = subcommands.add_parser("course", help="run every notebook headlessly (papermill) into an output folder")
    p.add_argument("--notebooks", default="notebooks", help="folder holding NN_*.ipynb (default: notebooks)")
    p.add_argument("--out", default="build/notebooks", help="output folder (default: build/notebooks)")
    p.add_argument("--smoke", action="store_true", help="tiny smoke mode instead of the real course")
    p.add_argument("--only", nargs="+", metavar="NN", help="run only these notebooks, e.g. --only 00 03")
    p.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds")
    p.add_argument("--site", default="build/site", help="render the executed notebooks into a website here "
                                                       "(default: build/site; fewshot site rebuilds it)")
    p.set_defaults(run=lambda a: run_course(a.notebooks, a.out, a.smoke, a.only, a.timeout, a.site) and 0)
