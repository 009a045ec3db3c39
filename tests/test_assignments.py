"""The assignments' CI gates, and the generator of student copies (fewshot_lib.assignments).

(a) the source notebooks' solutions pass every check; (b) the student copies run with
NotImplementedError as the only error, raised first at each exercise's check; (c) regenerating the
student copies gives exactly the committed files.
"""
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from fewshot_lib import checks
from fewshot_lib.assignments import (BEGIN, END, STUDENT, AssignmentError, export_nbgrader, find_exercises,
                                     notebook_number, stale_copies, student_notebook, write_student_copies)
from fewshot_lib.cli import main
from fewshot_lib.config import colab_url
from fewshot_lib.course import course_notebooks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SOURCES = [p for p in course_notebooks(NOTEBOOKS)
           if find_exercises(nbformat.read(p, as_version=4), notebook_number(p), p.name)]
EXERCISED = ("01", "02", "03", "04", "05", "06", "07", "08", "09", "10")
ERROR = re.compile(r"^Exercise (\d+\.\d+): ")


def exercises_of(path: Path):
    nb = nbformat.read(path, as_version=4)
    return nb, find_exercises(nb, notebook_number(path), path.name)


def test_core_notebooks_have_exercises():
    counts = {p.name[:2]: len(exercises_of(p)[1]) for p in SOURCES}
    assert all(counts.get(number, 0) >= 2 for number in EXERCISED), counts


def test_every_check_belongs_to_one_exercise():
    used = [e.check_name for p in SOURCES for e in exercises_of(p)[1]]
    defined = [name for name in checks.__all__ if name.startswith("check_")]
    assert sorted(used) == sorted(defined), "each check_* in fewshot_lib.checks serves exactly one exercise"


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_gate_a_solutions_pass_their_checks(path, capsys):
    """Gate (a): each exercise's solution cell, then its check cell, in order, in one namespace."""
    nb, exercises = exercises_of(path)
    namespace = {}
    for exercise in exercises:
        for index in (exercise.solution, exercise.check):
            exec(compile(nb.cells[index].source, f"{path.name}, cell {index}", "exec"), namespace)
    printed = capsys.readouterr().out
    assert printed.count("properties hold") == len(exercises) and "✗" not in printed


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_gate_b_student_copy_fails_only_at_its_exercises(path):
    """Gate (b): every error is an exercise's NotImplementedError, and each exercise's check raises it first."""
    _, exercises = exercises_of(path)
    student = nbformat.read(NOTEBOOKS / STUDENT / path.name, as_version=4)
    NotebookClient(student, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(NOTEBOOKS / STUDENT)}}).execute()
    raised = {}                                      # cell index -> the exercise whose error it shows
    for index, cell in enumerate(student.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                match = ERROR.match(output.evalue)
                assert output.ename == "NotImplementedError" and match, \
                    f"cell {index}: {output.ename}: {output.evalue}\n{cell.source}"
                raised[index] = match[1]
    checks_at = {e.id: e.check for e in exercises}
    assert {e.check: e.id for e in exercises}.items() <= raised.items(), "each check cell raises its own exercise"
    early = {index: ex for index, ex in raised.items() if ex not in checks_at or index < checks_at[ex]}
    assert not early, f"cells raising an exercise's error before its check cell: {early}"


def test_gate_c_student_copies_are_up_to_date():
    assert stale_copies(NOTEBOOKS) == [], "run `fewshot student` and commit notebooks/student/"


# ---------------------------------------------------------------------------------------------- the generator
BADGE = "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
TITLE = f"{BADGE}({colab_url('notebooks/07_toy.ipynb')})\n# 07 · a toy"
SOLUTION = f"""import math


def double(x):
    \"\"\"2x.\"\"\"
    # Hint: multiply.
    {BEGIN}
    return 2 * x
    {END}"""


def toy(solution=SOLUTION, heading="### Exercise 7.1 · Doubling", check="check_x(double)"):
    """A notebook 07 with one exercise (its check is not run here)."""
    cells = [nbformat.v4.new_markdown_cell(TITLE), nbformat.v4.new_code_cell("seed = 0"),
             nbformat.v4.new_markdown_cell(heading + "\n\nWrite it."), nbformat.v4.new_code_cell(solution),
             nbformat.v4.new_code_cell(check), nbformat.v4.new_code_cell("print(double(3))")]
    cells[1].outputs = [nbformat.v4.new_output("stream", text="old output")]
    cells[1].execution_count = 3
    return nbformat.v4.new_notebook(cells=cells)


def test_student_notebook_replaces_the_solution():
    student = student_notebook(toy(), "07_toy.ipynb")
    code = student.cells[3].source
    assert BEGIN not in code and "return 2 * x" not in code and "# Hint: multiply." in code
    assert '    raise NotImplementedError("Exercise 7.1: Doubling")' in code and code.startswith("import math")
    namespace = {}
    exec(code, namespace)
    with pytest.raises(NotImplementedError, match="Exercise 7.1: Doubling"):
        namespace["double"](1)                                # the function exists; calling it raises
    assert colab_url("notebooks/student/07_toy.ipynb") in student.cells[0].source
    assert colab_url("notebooks/07_toy.ipynb") not in student.cells[0].source
    assert "Student version" in student.cells[0].source and "(../07_toy.ipynb)" in student.cells[0].source
    assert student.cells[1].outputs == [] and student.cells[1].execution_count is None
    assert [c.source for c in student.cells[4:]] == [c.source for c in toy().cells[4:]]


@pytest.mark.parametrize("edit, words", [
    (dict(solution=SOLUTION.replace("    # Hint: multiply.\n", "")), "Hint"),
    (dict(solution=SOLUTION.replace(f"    {BEGIN}", BEGIN)), "function body"),
    (dict(solution=SOLUTION.replace(f"    {END}", "")), "exactly one"),
    (dict(heading="### Exercise 7.2 · Doubling"), "expected 'Exercise 7.1'"),
    (dict(heading="### Exercise 6.1 · Doubling"), "expected 'Exercise 7.1'"),
    (dict(heading="### Doubling"), "right below a markdown cell"),
    (dict(check="double(2)"), "check_<name>"),
])
def test_broken_conventions_are_explained(edit, words):
    with pytest.raises(AssignmentError, match=re.escape(words)):
        student_notebook(toy(**edit), "07_toy.ipynb")


def test_a_heading_without_its_solution_is_reported():
    nb = toy()
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("### Exercise 7.2 · Tripling"))
    with pytest.raises(AssignmentError, match="headings"):
        find_exercises(nb, 7)


def test_cli_writes_checks_and_cleans_student_copies(tmp_path, capsys):
    nbformat.write(toy(), tmp_path / "07_toy.ipynb")
    assert main(["student", "--check", "--notebooks", str(tmp_path)]) == 1
    assert "missing" in capsys.readouterr().err
    assert main(["student", "--notebooks", str(tmp_path)]) == 0
    assert (tmp_path / STUDENT / "07_toy.ipynb").exists() and stale_copies(tmp_path) == []
    (tmp_path / STUDENT / "05_gone.ipynb").write_text("{}")
    assert stale_copies(tmp_path) == [f"{tmp_path / STUDENT / '05_gone.ipynb'} has no source notebook with exercises"]
    assert write_student_copies(tmp_path) == [tmp_path / STUDENT / "05_gone.ipynb"]
    assert main(["student", "--check", "--notebooks", str(tmp_path)]) == 0


def test_nbgrader_export_marks_solution_and_graded_cells(tmp_path):
    nbformat.write(toy(), tmp_path / "07_toy.ipynb")
    [path] = export_nbgrader(tmp_path, tmp_path / "course")
    assert path == tmp_path / "course" / "source" / "07_toy" / "07_toy.ipynb"
    cells = nbformat.read(path, as_version=4).cells
    assert cells[3].metadata.nbgrader == {"grade": False, "grade_id": "exercise_7_1", "locked": False,
                                          "schema_version": 3, "solution": True}
    assert cells[4].metadata.nbgrader["grade"] and cells[4].metadata.nbgrader["points"] == 1
    assert BEGIN in cells[3].source, "nbgrader strips the solution itself"
    assert all("nbgrader" not in c.metadata for i, c in enumerate(cells) if i not in (3, 4))
