"""The site's pages around the notebooks: the layout, the navigation and the home page (the course map).

Every page is ``layout.html.j2``: a table of contents of the chapters at the side, previous/next links at the
top and bottom, links to Colab, the student copy and the source, then the notebook's cells (:mod:`.pages`).
The pages sit side by side at the site's root (``index.html``, ``00_overview.html``, …), so every link is
relative and the site works opened from disk as well as served.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import REPOSITORY, colab_url
from .course_map import Chapter, github_url
from .pages import Page

COURSE = "Few-shot talking heads, step by step"
TEMPLATES = Path(__file__).parent / "templates" / "site"


@dataclass(frozen=True)
class Link:
    href: str
    title: str


def environment():
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.StrictUndefined)


def chapter_links(name: str, chapter: Chapter | None) -> list[tuple[str, str]]:
    """The chapter's outside links: Colab, its student copy (Colab and GitHub) and its source on GitHub."""
    notebook = f"notebooks/{name}.ipynb"
    links = [("Open in Colab (run it, move the sliders)", colab_url(notebook))]
    if chapter is not None and chapter.student:
        links += [("student copy (exercises) on Colab", colab_url(chapter.student)),
                  ("on GitHub", github_url(chapter.student))]
    return links + [("source notebook on GitHub", github_url(notebook))]


def chapter_page(page: Page, toc: list[Link], chapter: Chapter | None, note: str) -> str:
    """The HTML of one chapter: ``page``'s cells in the layout, with previous/next among ``toc``."""
    href = f"{page.name}.html"
    index = [link.href for link in toc].index(href)
    previous = toc[index - 1] if index > 0 else Link("index.html", "Course map")
    following = toc[index + 1] if index + 1 < len(toc) else None
    return environment().get_template("layout.html.j2").render(
        course=COURSE, title=page.title, current=href, toc=toc, previous=previous, next=following,
        links=chapter_links(page.name, chapter), note=note, body=page.body, videos=page.videos)


def home_page(chapters: list[Chapter], toc: list[Link], smoke: bool) -> str:
    """The home page: the README's course map, each built chapter linked to its page."""
    from nbconvert.filters.markdown import markdown2html_mistune

    built = {link.href for link in toc}
    rows = [{"chapter": chapter, "builds": markdown2html_mistune(chapter.builds),
             "href": f"{chapter.name}.html" if f"{chapter.name}.html" in built else None} for chapter in chapters]
    env = environment()
    body = env.get_template("home.html.j2").render(course=COURSE, rows=rows, smoke=smoke, repository=REPOSITORY,
                                                   github=github_url)
    return env.get_template("layout.html.j2").render(
        course=COURSE, title="Course map", current="index.html", toc=toc, previous=None,
        next=toc[0] if toc else None, links=[], note="", body=body, videos=[])
