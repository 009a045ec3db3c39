"""The course as a website: the executed notebooks rendered into static pages (``fewshot site``).

``build.py`` puts the site together; ``pages.py`` renders one notebook (with ``widgets.py`` and ``media.py``
for what a page cannot show as Jupyter does); ``book.py`` lays out the pages and the home page, whose course
map ``course_map.py`` reads from the README; ``assets.py`` copies the shared styles and the bundled KaTeX.
"""
from .build import build_site
from .course_map import read_course_map, site_url

__all__ = ["build_site", "read_course_map", "site_url"]
