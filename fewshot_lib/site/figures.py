"""The README's figures, regenerated from a course run: a few small files that cannot drift from the code.

``fewshot site --readme-figures docs/figures`` reads the run folder of the executed notebooks
(``build/notebooks/runs``, as ``fewshot course`` writes it) and writes each figure of :data:`FIGURES`, made
smaller for a README: stills at most :data:`WIDTH` pixels wide (photographs as JPEG), animations as GIFs
at most :data:`GIF_WIDTH` wide (a wide strip :data:`WIDE_GIF_WIDTH`, every :data:`WIDE_GIF_STEP`-th frame).
They are written as the library writes every image and video (marked and labelled as synthetic:
``fewshot_lib.provenance.images.write_image``, ``fewshot_lib.video.write_video``).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MissingFileError, output_path

WIDTH, GIF_WIDTH, JPEG_QUALITY = 800, 384, 85   # faces as JPEG (a third of the PNG), plots as PNG
WIDE_GIF_WIDTH, WIDE_GIF_STEP = 640, 2           # a wide strip: larger, every second frame (GIFs of photos are big)


@dataclass(frozen=True)
class Figure:
    name: str          # the file written under the output folder
    source: str        # the run file it is made from, relative to the run folder
    caption: str       # for the README, naming the notebook it comes from
    wide: bool = False  # a row of its own in the README (a strip of panels), shown at its own size


FIGURES = (
    Figure("method.png", "00_overview/method.png", "The method on one page (notebook 00)"),
    Figure("synthetic_people.jpg", "02_data/gallery.png", "The built-in synthetic talking heads (notebook 02)"),
    Figure("reenactment.jpg", "10_warping/comparison.png",
           "Self-reenactment of a held-out person: the paper's model, two baselines, TPS and the learned warp "
           "(notebook 10)"),
    Figure("ff_ft.png", "08_evaluation/results.png", "Feed-forward (FF) against fine-tuned (FT), by the number "
                                                     "of frames T (notebook 08)"),
    Figure("puppeteering.gif", "09_puppeteering/puppeteer_adapted.mp4",
           "Puppeteering: a person driven by someone else's face, landmarks adapted (notebook 09)"),
    Figure("one_photo.gif", "10_warping/astronaut_talking.mp4", "One photo → a talking head: the driver, the photo, "
           "TPS, the learned warp and the paper's model (notebook 10)", wide=True),
)


def shrink(image: np.ndarray, width: int) -> np.ndarray:
    """uint8 ``(H, W, 3)`` resized to at most ``width`` pixels wide (area averaging), aspect kept."""
    import cv2

    H, W = image.shape[:2]
    if W <= width:
        return image
    return cv2.resize(image, (width, round(H * width / W)), interpolation=cv2.INTER_AREA)


def write_figure(figure: Figure, source: Path, path: Path) -> None:
    from PIL import Image

    from ..provenance.images import write_image
    from ..video import read_video, video_fps, write_video

    if path.suffix == ".gif":                                              # at the source's speed
        width, step = (WIDE_GIF_WIDTH, WIDE_GIF_STEP) if figure.wide else (GIF_WIDTH, 1)
        frames = itertools.islice(read_video(source), 0, None, step)
        write_video(path, (shrink(frame, width) for frame in frames), fps=video_fps(source) / step)
    else:
        with Image.open(source) as image:
            still = Image.new("RGB", image.size, "white")                 # transparent figures on white
            still.paste(image, mask=image.convert("RGBA").getchannel("A"))
        write_image(path, shrink(np.asarray(still), WIDTH), quality=JPEG_QUALITY)


def glance_table(folder: str = "docs/figures", columns: int = 3) -> str:
    """The README's "course at a glance": an HTML table of :data:`FIGURES`, each above its caption.

    HTML rather than Markdown, so that every cell takes a third of the page and a wide strip a row of its
    own, first; the README holds this text exactly (a test checks it), and ``fewshot site
    --readme-figures`` prints it.
    """
    def cell(figure: Figure, attributes: str, width: str) -> str:
        return (f'<td {attributes}><img src="{folder}/{figure.name}"{width} alt="{figure.caption}">'
                f"<br><sub>{figure.caption}</sub></td>")

    spanning = f'colspan="{columns}" align="center"'
    wide = ["<tr>" + cell(f, spanning, "") + "</tr>" for f in FIGURES if f.wide]
    cells = [cell(f, f'width="{100 // columns}%"', ' width="100%"') for f in FIGURES if not f.wide]
    rows = ["<tr>" + "".join(cells[i:i + columns]) + "</tr>" for i in range(0, len(cells), columns)]
    return "\n".join(["<table>", *wide, *rows, "</table>"])


def write_readme_figures(runs: str | Path, out: str | Path = "docs/figures", overwrite: bool = False) -> list[Path]:
    """Write every figure of :data:`FIGURES` from the run folder ``runs`` into ``out``; returns their paths."""
    runs, out = Path(runs), Path(out)
    missing = [figure.source for figure in FIGURES if not (runs / figure.source).is_file()]
    if missing:
        raise MissingFileError(f"{runs}: no {', '.join(missing)}; run the course first (make course), or pass "
                               f"--notebooks with the folder of a complete run")
    paths = [output_path(out / figure.name, overwrite) for figure in FIGURES]    # all checked before any is written
    for figure, path in zip(FIGURES, paths):
        write_figure(figure, runs / figure.source, path)
        print(f"{path} ({path.stat().st_size / 1024:.0f} kB): {figure.caption}")
    print(f"the README's table of them (section 'The course at a glance'):\n{glance_table(out.as_posix())}")
    return paths
