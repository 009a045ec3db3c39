"""Strip outputs and execution counts from notebooks: `python tools/strip_outputs.py notebooks`."""
import sys
from pathlib import Path

import nbformat


def strip(path: Path) -> bool:
    """Remove outputs in place; True if the file changed."""
    nb = nbformat.read(path, as_version=4)
    changed = False
    for cell in nb.cells:
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None):
            cell.outputs, cell.execution_count = [], None
            changed = True
        if cell.metadata.pop("execution", None) is not None:
            changed = True
    if changed:
        nbformat.write(nb, path)
    return changed


if __name__ == "__main__":
    for root in sys.argv[1:] or ["notebooks"]:
        for path in sorted(Path(root).rglob("*.ipynb")):
            if ".ipynb_checkpoints" not in path.parts and strip(path):
                print(f"stripped {path}")
