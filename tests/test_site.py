"""The course site (``fewshot site``): a smoke-mode course rendered, served on 127.0.0.1, read in headless Chromium.

One smoke-mode run of every notebook (``smoke_course``, module-scoped: other tests of this file can reuse its
executed notebooks and their run folder ``smoke_course / "runs"``) is rendered into a site once; the browser
then opens every page. Needs Debian's ``chromium`` and ``chromium-driver`` and ``selenium``, as
``tests/test_browser.py`` does; without Chromium the browser test is skipped, the other tests still run.
"""
import html.parser
import json
import re
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest
from test_browser import CHROMIUM, headless_chromium

from fewshot_lib.course import course_notebooks, run_course
from fewshot_lib.errors import OutputExistsError
from fewshot_lib.site import build_site, read_course_map
from fewshot_lib.site.figures import FIGURES, glance_table, write_readme_figures
from fewshot_lib.site.media import digest
from fewshot_lib.provenance.verify import IMAGES, VIDEOS, unmarked_files

ROOT = Path(__file__).resolve().parents[1]
REMOTE = re.compile(r"^(https?:)?//", re.IGNORECASE)
XML_NAMESPACE = re.compile(r"^http://www\.w3\.org/")          # names in SVG/MathML code, never fetched
CSS_REFERENCE = re.compile(r"url\(\s*['\"]?([^'\")]+)|@import\s+['\"]([^'\"]+)")
URL_ATTRIBUTES = {"src", "href", "poster", "data", "srcset", "action", "formaction", "xlink:href", "background"}
PAGE_READY = """
const media = [...document.images].every(i => i.complete)
  && [...document.querySelectorAll("video")].every(v => v.readyState >= 1 || v.error);
return document.readyState === "complete" && document.body.classList.contains("fewshot-math-done") && media;
"""
PAGE_STATE = """
const skip = "code, pre, script, style, .katex, .jp-OutputArea-output:not(.jp-RenderedMarkdown)";
const raw = [];
for (const cell of document.querySelectorAll(".jp-RenderedMarkdown, .fewshot-home, .fewshot-toc, .fewshot-nav")) {
  const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode())
    if (!node.parentElement.closest(skip) && node.textContent.includes("$")) raw.push(node.textContent.trim());
}
return {
  images: [...document.images].filter(i => !i.naturalWidth).map(i => i.getAttribute("src")),
  videos: [...document.querySelectorAll("video")].filter(v => v.readyState < 1).map(v => v.getAttribute("src")),
  katex: document.querySelectorAll(".katex").length,
  katex_errors: [...document.querySelectorAll(".katex-error")].map(e => e.textContent),
  raw_math: raw,
  next: document.querySelector("a[rel=next]") && document.querySelector("a[rel=next]").getAttribute("href"),
  previous: document.querySelector("a[rel=prev]") && document.querySelector("a[rel=prev]").getAttribute("href"),
};
"""


@pytest.fixture(scope="module")
def smoke_course(tmp_path_factory):
    """Every notebook executed in smoke mode (``fewshot course --smoke``): the folder, its run folder in ``runs/``."""
    out = tmp_path_factory.mktemp("course") / "notebooks"
    with pytest.MonkeyPatch.context() as env:                 # run_course sets these for its kernels: undo after
        env.setenv("FEWSHOT_OFFLINE", "1")
        env.setenv("OMP_NUM_THREADS", "1")
        env.setenv("FEWSHOT_SMOKE", "1")
        env.setenv("FEWSHOT_RUNS", str(out / "runs"))
        run_course(ROOT / "notebooks", out, smoke=True, site=out.with_name("site"))
    return out


@pytest.fixture(scope="module")
def site(smoke_course):
    """The site the course run rendered at its end, beside the executed notebooks."""
    return smoke_course.with_name("site")


@pytest.fixture(scope="module")
def server(site):
    """The site served by Python's http.server on 127.0.0.1 (a free port), in a thread."""
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium as tests/test_browser.py starts it, recording the console and every network event."""
    if CHROMIUM is None:
        pytest.skip("no Chromium here: apt-get install -y chromium chromium-driver")
    driver = headless_chromium("--autoplay-policy=no-user-gesture-required", logging=True)
    try:
        yield driver
    finally:
        driver.quit()


def network_problems(browser, server: str) -> list[str]:
    """Requests since the last call that left 127.0.0.1, failed, or were answered with an HTTP error."""
    problems, urls = [], {}
    for entry in browser.get_log("performance"):
        event = json.loads(entry["message"])["message"]
        params = event.get("params", {})
        if event["method"] == "Network.requestWillBeSent":
            url = urls[params["requestId"]] = params["request"]["url"]
            if not url.startswith((server, "data:", "blob:")):
                problems.append(f"request to {url}")
        elif event["method"] == "Network.loadingFailed" and not params.get("canceled"):
            problems.append(f"failed: {urls.get(params['requestId'], '?')} ({params.get('errorText')})")
        elif event["method"] == "Network.responseReceived" and params["response"]["status"] >= 400:
            problems.append(f"HTTP {params['response']['status']}: {params['response']['url']}")
    return problems


def open_page(browser, url: str, timeout: float = 60) -> dict:
    """Load ``url``, wait for its images, videos and math, and return PAGE_STATE."""
    browser.get(url)
    deadline = time.monotonic() + timeout
    while not browser.execute_script(PAGE_READY) and time.monotonic() < deadline:
        time.sleep(0.2)
    return browser.execute_script(PAGE_STATE)


def chapter_pages(smoke_course) -> list[str]:
    return [f"{path.stem}.html" for path in course_notebooks(smoke_course)]


def test_every_page_loads_with_its_figures_videos_and_math_offline(site, server, browser, smoke_course):
    pages = ["index.html", *chapter_pages(smoke_course)]
    assert len(pages) == len(read_course_map(ROOT / "README.md")) + 1, "a chapter of the course map has no page"
    browser.get_log("performance"), browser.get_log("browser")           # start from empty logs
    typeset = 0
    for page in pages:
        state = open_page(browser, f"{server}/{page}")
        errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
        assert not errors, f"{page}: console errors {errors}"
        problems = network_problems(browser, server)
        assert not problems, f"{page}: {problems}"
        assert not state["images"], f"{page}: images that did not load: {state['images']}"
        assert not state["videos"], f"{page}: videos whose metadata did not load: {state['videos']}"
        assert not state["katex_errors"], f"{page}: formulas KaTeX could not read: {state['katex_errors']}"
        assert not state["raw_math"], f"{page}: text still holding $…$: {state['raw_math'][:3]}"
        typeset += state["katex"]
    assert typeset > 100, f"only {typeset} formulas typeset in the whole course"


def test_previous_and_next_links_reach_every_chapter(site, server, browser, smoke_course):
    forward, page = [], "index.html"
    while page and len(forward) < 50:
        page = open_page(browser, f"{server}/{page}")["next"]
        forward += [page] if page else []
    assert forward == chapter_pages(smoke_course)
    backward = []
    for page in forward[::-1]:
        backward.append(open_page(browser, f"{server}/{page}")["previous"])
    assert backward == [*forward[-2::-1], "index.html"]


class References(html.parser.HTMLParser):
    """Every address an HTML file gives (tag, attribute, value), and the CSS of its style blocks and attributes."""

    def __init__(self):
        super().__init__()
        self.addresses, self.css, self._in_style = [], [], False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in URL_ATTRIBUTES and value:
                self.addresses += [(tag, name, part.split()[0]) for part in value.split(",")] if name == "srcset" \
                    else [(tag, name, value)]
            if name == "style" and value:
                self.css.append(value)
        self._in_style = tag == "style"

    def handle_data(self, data):
        if self._in_style:
            self.css.append(data)


def remote_css(css: str) -> list[str]:
    return [ref for match in CSS_REFERENCE.finditer(css) for ref in match.groups() if ref and REMOTE.match(ref)]


def test_no_page_or_asset_refers_to_the_internet_except_hyperlinks(site):
    remote = []
    for path in sorted(site.rglob("*")):
        name = path.relative_to(site).as_posix()
        if path.suffix == ".html":
            refs = References()
            refs.feed(path.read_text(encoding="utf-8"))
            for tag, attribute, value in refs.addresses:
                if REMOTE.match(value) and (tag, attribute) != ("a", "href"):
                    remote.append(f"{name}: <{tag} {attribute}={value}>")
                elif not REMOTE.match(value) and not value.startswith(("#", "data:", "mailto:")):
                    target = (path.parent / urlparse(value).path).resolve()
                    assert target.exists(), f"{name}: <{tag} {attribute}={value}> points at no file of the site"
            remote += [f"{name}: CSS {ref}" for css in refs.css for ref in remote_css(css)]
        elif path.suffix == ".css":
            remote += [f"{name}: {ref}" for ref in remote_css(path.read_text(encoding="utf-8"))]
        elif path.suffix == ".js":
            urls = re.findall(r"https?://[^\s\"'`)]+", path.read_text(encoding="utf-8"))
            remote += [f"{name}: {url}" for url in urls if not XML_NAMESPACE.match(url)]
    assert not remote, "non-local addresses:\n" + "\n".join(remote[:20])


def test_the_site_has_a_page_per_notebook_and_every_video_the_run_wrote(site, smoke_course):
    for page in chapter_pages(smoke_course):
        assert (site / page).is_file(), page
    videos = lambda folder: {digest(p.read_bytes()): p.name for p in folder.rglob("*") if p.suffix in (".mp4", ".gif")}
    written, copied = videos(smoke_course / "runs"), videos(site)
    assert written, "the smoke course wrote no video: the test no longer checks them"
    missing = [written[key] for key in written.keys() - copied.keys()]
    assert not missing, f"written by the run, not on the site: {missing}"


def test_an_existing_site_is_replaced_only_when_asked(site, smoke_course, tmp_path):
    with pytest.raises(OutputExistsError, match="--overwrite"):
        build_site(smoke_course, site, ROOT / "README.md")
    (tmp_path / "mine").mkdir()
    with pytest.raises(OutputExistsError, match="not a site"):
        build_site(smoke_course, tmp_path / "mine", ROOT / "README.md", overwrite=True)


def test_the_course_map_has_a_row_per_notebook():
    names = [chapter.name for chapter in read_course_map(ROOT / "README.md")]
    assert names == [path.stem for path in course_notebooks(ROOT / "notebooks")]


def small_enough(path) -> int:
    """Bytes a README figure may take: stills 300 kB; GIFs of photographs cannot be that small (1.5 MB)."""
    return 1_500_000 if path.suffix == ".gif" else 300_000


def test_the_readme_figures_come_from_the_run_and_stay_small(smoke_course, tmp_path):
    paths = write_readme_figures(smoke_course / "runs", tmp_path / "figures")
    assert [path.name for path in paths] == [figure.name for figure in FIGURES]
    assert all(0 < path.stat().st_size < small_enough(path) for path in paths)


def test_the_readme_shows_the_committed_figures_with_their_captions():
    """Issue 16: 'the course at a glance' is the table glance_table() makes, over files that a course run made."""
    assert glance_table() in (ROOT / "README.md").read_text(encoding="utf-8")
    paths = [ROOT / "docs" / "figures" / figure.name for figure in FIGURES]
    assert all(0 < path.stat().st_size < small_enough(path) for path in paths), [p.stat().st_size for p in paths]
    assert unmarked_files(ROOT / "docs" / "figures") == [], "the README's figures must carry the library's marks"


def test_every_image_and_video_the_course_writes_says_a_model_made_it(smoke_course):
    """Issue 14: the figures, training samples and videos of a course run all carry the library's marks."""
    written = [p for p in (smoke_course / "runs").rglob("*") if p.suffix.lower() in IMAGES + VIDEOS]
    assert len(written) > 30, f"only {len(written)} images and videos in the run folder"
    assert {p.suffix.lower() for p in written} >= {".png", ".mp4", ".gif"}
    stripped = smoke_course / "runs" / "11_responsible_use" / "attacked"   # notebook 11 removes their marks on purpose
    unmarked = [p for p in unmarked_files(smoke_course / "runs") if stripped not in p.parents]
    assert [p.relative_to(smoke_course).as_posix() for p in unmarked] == []
