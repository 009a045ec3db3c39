// The site's only script: math typeset by the bundled KaTeX (static/katex), offline.
// Markdown cells (and the chapter titles in the navigation) keep $…$ and $$…$$ as written in the notebooks; code and printed outputs are left alone.
document.addEventListener("DOMContentLoaded", () => {
  for (const element of document.querySelectorAll(".jp-RenderedMarkdown, .fewshot-home, .fewshot-toc, .fewshot-nav")) {
    renderMathInElement(element, {
      delimiters: [
        {left: "$$", right: "$$", display: true},
        {left: "\\[", right: "\\]", display: true},
        {left: "$", right: "$", display: false},
        {left: "\\(", right: "\\)", display: false},
      ],
      throwOnError: false,   // a formula KaTeX cannot read shows in red (.katex-error); the site's test fails on it
    });
  }
  document.body.classList.add("fewshot-math-done");
});
