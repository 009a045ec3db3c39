"""Assignments: source notebooks with solutions → student copies whose exercises are left to write.

An exercise in a source notebook is three cells in a row (``docs/instructors.md``):

1. markdown starting with ``### Exercise N.M · title`` (N: the notebook's number, M: 1, 2, ...),
   stating the task;
2. code defining a function whose *body* holds the solution between ``### BEGIN SOLUTION`` and
   ``### END SOLUTION`` (nbgrader's markers), right below a ``# Hint: ...`` comment;
3. code calling the exercise's check, ``check_<name>(function)`` from :mod:`fewshot_lib.checks`.

:func:`student_notebook` turns each solution into ``raise NotImplementedError("Exercise N.M:
title")``, strips the outputs and points the Colab badge at the student copy. The solution sits
in a function body, so the student's cell still defines the function: every later cell that uses
it, starting with the check, raises that exercise's ``NotImplementedError``, never a confusing
``NameError``.

``fewshot student`` writes ``notebooks/student/NN_name.ipynb`` for every notebook with
exercises; ``--check`` only verifies that the committed copies are up to date;
``--nbgrader DIR`` exports the source notebooks as the ``source/`` folder of an nbgrader course.
Introduced with the course's exercises (notebooks 01 onwards).
"""
from __future__ import annotations

import copy
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .errors import FewshotError
from .config import colab_url
from .repository import sync_repository
from .course import course_notebooks

BEGIN, END, HINT = "### BEGIN SOLUTION", "### END SOLUTION", "# Hint:"
HEADING = re.compile(r"^#{1,6}\s+Exercise\s+(\d+)\.(\d+)\s*[·:]\s*(.+?)\s*$")
CHECK_CALL = re.compile(r"\b(check_\w+)\(")
NOTEBOOKS = "notebooks"
"""Where the course's notebooks sit in the repository (their Colab badges link there)."""
STUDENT = "student"
"""The student copies' folder, inside the notebooks' folder."""


class AssignmentError(FewshotError, ValueError):
    """A source notebook breaks the exercise conventions; the message says where and what to do."""


@dataclass(frozen=True)
class Exercise:
    """One exercise of a notebook: where its three cells are, and what it is called."""

    id: str             # "4.2"
    title: str          # "AdaIN"
    task: int           # index of the markdown cell stating it
    solution: int       # index of the code cell holding the solution
    check: int          # index of the code cell calling its check
    check_name: str     # "check_adain"

    @property
    def message(self) -> str:
        """What the student copy's ``NotImplementedError`` says."""
        return f"Exercise {self.id}: {self.title}"


def notebook_number(path: str | Path) -> int:
    """The course number of ``NN_name.ipynb``."""
    return int(Path(path).name[:2])


def solution_region(source: str, where: str = "this cell") -> tuple[int, int, str]:
    """``(begin, end, indent)``: the marker lines of a cell's one solution region and their indentation.

    Raises :class:`AssignmentError` unless there is exactly one region, indented (inside a
    function body), right below a ``# Hint:`` comment.
    """
    lines = source.split("\n")
    begins = [n for n, line in enumerate(lines) if line.strip() == BEGIN]
    ends = [n for n, line in enumerate(lines) if line.strip() == END]
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise AssignmentError(f"{where}: needs exactly one '{BEGIN}' line followed by one '{END}' line "
                              f"(found {len(begins)} and {len(ends)}); split an exercise with two solutions in two")
    begin, end = begins[0], ends[0]
    indent = lines[begin][:len(lines[begin]) - len(lines[begin].lstrip())]
    if not indent or lines[end][:len(indent)] != indent:
        raise AssignmentError(f"{where}: put the solution inside a function body (indented markers), so that the "
                              "cells using it raise the exercise's NotImplementedError too")
    if begin == 0 or not lines[begin - 1].strip().startswith(HINT):
        raise AssignmentError(f"{where}: the line above '{BEGIN}' must be a '{HINT} ...' comment for the student copy")
    return begin, end, indent


def find_exercises(nb: nbformat.NotebookNode, number: int, name: str = "notebook") -> list[Exercise]:
    """The exercises of a source notebook, in order; :class:`AssignmentError` if one breaks the conventions."""
    exercises = []
    for index, cell in enumerate(nb.cells):
        if BEGIN not in cell.source and END not in cell.source:
            continue
        where = f"{name}, cell {index}"
        task = nb.cells[index - 1] if index else None
        heading = HEADING.match(task.source.split("\n")[0]) if task and task.cell_type == "markdown" else None
        if cell.cell_type != "code" or heading is None:
            raise AssignmentError(f"{where}: a solution must be a code cell right below a markdown cell whose first "
                                  f"line is '### Exercise {number}.{len(exercises) + 1} · title'")
        if (int(heading[1]), int(heading[2])) != (number, len(exercises) + 1):
            raise AssignmentError(f"{where}: heading 'Exercise {heading[1]}.{heading[2]}', expected "
                                  f"'Exercise {number}.{len(exercises) + 1}' "
                                  f"(notebook {number:02d}, exercises numbered in order)")
        solution_region(cell.source, where)
        after = nb.cells[index + 1] if index + 1 < len(nb.cells) else None
        call = CHECK_CALL.search(after.source) if after is not None and after.cell_type == "code" else None
        if call is None:
            raise AssignmentError(f"{where}: the next cell must be a code cell calling the exercise's check, "
                                  "check_<name>(your_function) from fewshot_lib.checks")
        exercises.append(Exercise(f"{number}.{len(exercises) + 1}", heading[3], index - 1, index, index + 1, call[1]))
    headings = sum(1 for c in nb.cells if c.cell_type == "markdown" and HEADING.match(c.source.split("\n")[0]))
    if headings != len(exercises):
        raise AssignmentError(f"{name}: {headings} 'Exercise N.M' headings but {len(exercises)} solution cells; "
                              "each heading needs its solution cell right below it")
    return exercises


def stub(exercise: Exercise, indent: str) -> list[str]:
    """The lines replacing a solution in the student copy."""
    message = json.dumps(exercise.message, ensure_ascii=False)            # a valid Python string literal
    return [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError({message})"]


def student_notebook(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The student copy of source notebook ``name`` (``NN_name.ipynb``): solutions out, outputs out, badge moved."""
    student = copy.deepcopy(nb)
    exercises = find_exercises(nb, notebook_number(name), name)
    for exercise in exercises:
        cell = student.cells[exercise.solution]
        begin, end, indent = solution_region(cell.source)
        lines = cell.source.split("\n")
        cell.source = "\n".join(lines[:begin] + stub(exercise, indent) + lines[end + 1:])
    for cell in student.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    source_url, student_url = colab_url(f"{NOTEBOOKS}/{name}"), colab_url(f"{NOTEBOOKS}/{STUDENT}/{name}")
    title = student.cells[0]
    if source_url not in title.source:
        raise AssignmentError(f"{name}: the first cell has no Colab badge linking {source_url}")
    badge, _, rest = title.source.replace(source_url, student_url).partition("\n")
    ids = f"{exercises[0].id}–{exercises[-1].id}" if len(exercises) > 1 else exercises[0].id
    note = (f"> **Student version.** Exercises {ids} are yours to write: each raises `NotImplementedError` until you "
            "do,\n> and the `check_*` cell below it prints ✓ or ✗ for each property it tests. "
            f"The solved notebook: [`{name}`](../{name}).")
    title.source = f"{badge}\n\n{note}\n{rest}"
    return student


def render(nb: nbformat.NotebookNode) -> str:
    """A notebook's file contents, exactly as ``nbformat.write`` writes them."""
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def student_copies(notebooks: str | Path = NOTEBOOKS) -> dict[Path, str]:
    """``{path of the student copy: its contents}`` for every course notebook with exercises."""
    notebooks = Path(notebooks)
    copies = {}
    for path in course_notebooks(notebooks):
        nb = nbformat.read(path, as_version=4)
        if find_exercises(nb, notebook_number(path), path.name):
            copies[notebooks / STUDENT / path.name] = render(student_notebook(nb, path.name))
    return copies


def stale_copies(notebooks: str | Path = NOTEBOOKS) -> list[str]:
    """What differs between the student copies on disk and freshly generated ones (empty: up to date)."""
    expected = student_copies(notebooks)
    on_disk = set((Path(notebooks) / STUDENT).glob("*.ipynb"))
    problems = [f"{path} is missing" for path in sorted(expected.keys() - on_disk)]
    problems += [f"{path} has no source notebook with exercises" for path in sorted(on_disk - expected.keys())]
    problems += [f"{path} is out of date" for path, text in sorted(expected.items())
                 if path in on_disk and path.read_text(encoding="utf-8") != text]
    return problems


def write_student_copies(notebooks: str | Path = NOTEBOOKS) -> list[Path]:
    """Write every student copy, remove copies whose source has no exercises; return the changed paths."""
    expected = student_copies(notebooks)
    folder = Path(notebooks) / STUDENT
    folder.mkdir(exist_ok=True)
    changed = []
    for path, text in expected.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    for path in sorted(set(folder.glob("*.ipynb")) - expected.keys()):
        path.unlink()
        changed.append(path)
    return changed


def nbgrader_notebook(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """Source notebook ``name`` with nbgrader's cell metadata: solution cells, and graded check cells (1 point each)."""
    tagged = copy.deepcopy(nb)
    for exercise in find_exercises(nb, notebook_number(name), name):
        key = exercise.id.replace(".", "_")
        tagged.cells[exercise.solution].metadata["nbgrader"] = {
            "grade": False, "grade_id": f"exercise_{key}", "locked": False, "schema_version": 3, "solution": True}
        tagged.cells[exercise.check].metadata["nbgrader"] = {
            "grade": True, "grade_id": f"check_{key}", "locked": True, "points": 1, "schema_version": 3,
            "solution": False}
    return tagged


def export_nbgrader(notebooks: str | Path, course: str | Path) -> list[Path]:
    """Write ``course/source/NN_name/NN_name.ipynb`` (one nbgrader assignment per notebook with exercises)."""
    written = []
    for path in course_notebooks(notebooks):
        nb = nbformat.read(path, as_version=4)
        if not find_exercises(nb, notebook_number(path), path.name):
            continue
        target = Path(course) / "source" / path.stem / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(nbgrader_notebook(nb, path.name)), encoding="utf-8")
        written.append(target)
    return written


def run_student(args) -> int:
    if args.nbgrader:
        for path in export_nbgrader(args.notebooks, args.nbgrader):
            print(f"wrote {path}")
        return 0
    if args.check:
        problems = stale_copies(args.notebooks)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run `fewshot student` to regenerate the student copies", file=sys.stderr)
        return 1 if problems else 0
    changed = sync_repository(Path(args.notebooks).resolve().parent, args.notebooks)   # config.REPOSITORY
    changed += write_student_copies(args.notebooks)
    print("\n".join(f"updated {path}" for path in changed) or "student copies are up to date")
    return 0


def add_student_command(subcommands) -> None:
    p = subcommands.add_parser("student", help="write the student copies of the notebooks (exercises left to write)")
    p.add_argument("--notebooks", default=NOTEBOOKS, help=f"folder of the source notebooks (default: {NOTEBOOKS})")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if the student copies are out of date")
    p.add_argument("--nbgrader", metavar="COURSE", help="instead, export the source notebooks with nbgrader's cell "
                                                        "metadata into COURSE/source/ (docs/instructors.md)")
    p.set_defaults(run=run_student)
