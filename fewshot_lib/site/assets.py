"""The site's shared files under ``static/``: its own styles and script, the bundled KaTeX, JupyterLab's cell styles.

KaTeX ships inside this package (``static/katex``, MIT; see its SOURCE.md); JupyterLab's light theme is copied
from the nbconvert installed here, and the code colours are written by Pygments: nothing is fetched.
"""
from __future__ import annotations

import shutil
from pathlib import Path

STATIC = Path(__file__).parent / "static"
PYGMENTS_STYLE = "default"


def lab_styles() -> Path:
    """The folder of nbconvert's ``lab`` template styles (``index.css``, ``theme-light.css``)."""
    from nbconvert import HTMLExporter

    return Path(HTMLExporter(template_name="lab").template_paths[0]) / "static"


def copy_assets(site: Path) -> None:
    """Write ``site/static/``: the package's static files, JupyterLab's styles, the Pygments colours."""
    from pygments.formatters import HtmlFormatter

    shutil.copytree(STATIC, site / "static", ignore=shutil.ignore_patterns("SOURCE.md"))
    (site / "static" / "lab").mkdir()
    for name in ("index.css", "theme-light.css"):
        shutil.copyfile(lab_styles() / name, site / "static" / "lab" / name)
    css = HtmlFormatter(style=PYGMENTS_STYLE).get_style_defs(".highlight")
    (site / "static" / "pygments.css").write_text(css, encoding="utf-8")
