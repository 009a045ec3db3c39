"""The videos and animations of a chapter as files beside its page, and the outputs that would reach the internet.

A notebook shows a video by embedding it (``IPython.display.Video(..., embed=True)``: a base64 ``data:`` address
inside its HTML); the page instead refers to a file, so the HTML stays small and the browser streams the video.
The mp4s and GIFs a notebook writes into its run folder (``fewshot_lib.run_dir(name)``) are copied beside the
page too, and those it did not show inline are listed at the end of the page.

Matplotlib's ``to_jshtml`` animations link Font Awesome's stylesheet from a CDN for the icons of their buttons;
that link is replaced by a local stylesheet (``static/jshtml-icons.css``) that draws the same buttons as text.
"""
from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

VIDEO_TYPES = (".mp4", ".gif")
_EMBEDDED_VIDEO = re.compile(r'data:video/(?P<kind>mp4|webm);base64,(?P<data>[A-Za-z0-9+/=\s]+)')
_FONT_AWESOME = re.compile(r'<link rel="stylesheet"\s+href="https://maxcdn\.bootstrapcdn\.com/font-awesome/[^"]+">')
JSHTML_ICONS = "static/jshtml-icons.css"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def html_outputs(nb):
    """Every output of ``nb`` that holds HTML (its ``data`` dict)."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "text/html" in output.get("data", {}):
                yield output["data"]


def extract_videos(nb, files_dir: str) -> dict[str, bytes]:
    """Turn each embedded video of ``nb`` into a file ``files_dir/video_N.EXT``; returns {path: bytes}."""
    files: dict[str, bytes] = {}

    def to_file(match: re.Match) -> str:
        path = f"{files_dir}/video_{len(files)}.{match['kind']}"
        files[path] = base64.b64decode(re.sub(r"\s", "", match["data"]))
        return path

    for data in html_outputs(nb):
        data["text/html"] = _EMBEDDED_VIDEO.sub(to_file, data["text/html"])
    return files


def localize_jshtml(nb) -> None:
    """Point matplotlib's animations at the local icon stylesheet instead of Font Awesome's CDN."""
    for data in html_outputs(nb):
        data["text/html"] = _FONT_AWESOME.sub(f'<link rel="stylesheet" href="{JSHTML_ICONS}">', data["text/html"])


def run_videos(run_folder: str | Path, files_dir: str, shown: dict[str, bytes]) -> dict[str, bytes]:
    """The mp4s and GIFs under ``run_folder`` not already among ``shown``, as ``{files_dir/relative: bytes}``."""
    run_folder = Path(run_folder)
    if not run_folder.is_dir():
        return {}
    seen = {digest(data) for data in shown.values()}
    files = {}
    for path in sorted(p for p in run_folder.rglob("*") if p.suffix.lower() in VIDEO_TYPES and p.is_file()):
        data = path.read_bytes()
        if digest(data) not in seen:
            files[f"{files_dir}/runs/{path.relative_to(run_folder).as_posix()}"] = data
    return files
