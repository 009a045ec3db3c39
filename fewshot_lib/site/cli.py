"""``fewshot site``: rebuild the course site from executed notebooks, running nothing; or the README's figures."""
from __future__ import annotations

from pathlib import Path

from .build import build_site
from .figures import write_readme_figures


def add_site_command(subcommands) -> None:
    p = subcommands.add_parser("site", help="render the executed notebooks (fewshot course) into a static website")
    p.add_argument("--notebooks", default="build/notebooks",
                   help="folder of executed NN_*.ipynb, as fewshot course writes it (default: build/notebooks)")
    p.add_argument("--out", help="the site's folder (default: build/site); with --readme-figures, the figures' "
                                 "(default: docs/figures)")
    p.add_argument("--readme", default="README.md", help="the README whose course map is the home page "
                                                         "(default: README.md)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing site (or figures) at --out")
    p.add_argument("--readme-figures", action="store_true",
                   help="instead of the site, write the README's figures from the run folder of --notebooks")
    p.set_defaults(run=run)


def run(args) -> int:
    if args.readme_figures:
        write_readme_figures(Path(args.notebooks) / "runs", args.out or "docs/figures", args.overwrite)
    else:
        build_site(args.notebooks, args.out or "build/site", args.readme, args.overwrite)
    return 0
