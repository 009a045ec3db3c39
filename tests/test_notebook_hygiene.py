"""Static rules every committed notebook follows (see docs/STYLE.md)."""
import re
import shlex
from pathlib import Path

import nbformat
import pytest

from fewshot_lib.config import colab_url
from fewshot_lib.course import SETUP_CELL

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
INSTALL = re.compile(r"^\s*[%!]\s*pip\s+install\s+(?P<args>.*)$")
ABSOLUTE_PATH = re.compile(r"""["'](?:~|[A-Za-z]:\\|/(?:home|Users|root|tmp|content|work|mnt|opt|data|var)\b)""")


def problems(path: Path, name: str | None = None) -> list[str]:
    """Every rule ``path`` breaks, as readable sentences (empty when it is clean).

    ``name``: the notebook's path in the repository (default: from ``path``).
    """
    nb = nbformat.read(path, as_version=4)
    found = []
    if nb.metadata.get("kernelspec", {}).get("name") != "python3":
        found.append("kernelspec name is not 'python3'")
    code = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code):
        if cell.outputs or cell.execution_count is not None:
            found.append(f"code cell {i} has committed outputs (run `make strip`)")
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if len(tagged) != 1:
        found.append(f"{len(tagged)} cells tagged 'parameters' (papermill needs exactly one)")
    if not code or code[0].source != SETUP_CELL:
        found.append("the first code cell is not the course's setup cell (fewshot_lib.course.SETUP_CELL)")
    url = colab_url(name or path.relative_to(ROOT).as_posix())
    if not nb.cells or url not in nb.cells[0].source or "colab-badge.svg" not in nb.cells[0].source:
        found.append(f"first cell lacks the Open-in-Colab badge linking {url}")
    for i, cell in enumerate(code):
        for line in cell.source.splitlines():
            match = INSTALL.match(line)
            if match:
                bare = [a for a in shlex.split(match["args"], posix=False) if not a.startswith(("-", '"', "'"))]
                if bare:
                    found.append(f"code cell {i}: unquoted requirement(s) {bare} in `{line.strip()}`")
        if ABSOLUTE_PATH.search(cell.source):
            found.append(f"code cell {i} uses an absolute path: {ABSOLUTE_PATH.search(cell.source)[0]}...")
    return found


def test_course_has_notebooks():
    assert any(p.name.startswith("00_") for p in NOTEBOOKS), "notebooks/00_overview.ipynb is missing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.relative_to(ROOT).as_posix() for p in NOTEBOOKS])
def test_notebook_hygiene(path):
    assert problems(path) == []


def test_hygiene_rules_catch_bad_notebooks(tmp_path):
    """Each rule fires on a notebook that breaks it (so the test above can fail)."""
    good = nbformat.read(NOTEBOOKS[0], as_version=4)
    target = tmp_path / NOTEBOOKS[0].name

    def broken(edit) -> list[str]:
        nb = nbformat.from_dict(nbformat.reads(nbformat.writes(good), as_version=4))
        edit(nb)
        nbformat.write(nb, target)
        return problems(target, NOTEBOOKS[0].relative_to(ROOT).as_posix())

    code = next(c for c in good.cells if c.cell_type == "code")
    index = good.cells.index(code)

    def add_output(nb):
        nb.cells[index].outputs = [nbformat.v4.new_output("stream", text="hi")]

    def untag(nb):
        for cell in nb.cells:
            cell.metadata.pop("tags", None)

    def unquote(nb):
        nb.cells[index].source += "\n%pip install -q fewshot_lib"

    def absolute(nb):
        nb.cells[index].source += "\nopen('/home/me/data.npz')"

    def kernel(nb):
        nb.metadata.kernelspec.name = "python2"

    def colab_only(nb):                                       # the old cell: installed only on Colab
        nb.cells[index].source = nb.cells[index].source.replace('if importlib.util.find_spec("fewshot_lib") is None:',
                                                                'if "google.colab" in sys.modules:')

    for edit, words in [(add_output, "outputs"), (untag, "parameters"), (unquote, "unquoted"),
                        (absolute, "absolute"), (kernel, "kernelspec"), (colab_only, "setup cell")]:
        found = broken(edit)
        assert any(words in p for p in found), f"{edit.__name__}: {found}"
    assert any("Colab" in p for p in broken(lambda nb: nb.cells.pop(0)))
