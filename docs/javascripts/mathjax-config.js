// MathJax 3 for pymdownx.arithmatex (generic mode): \( \) inline, \[ \] display, only inside
// the .arithmatex spans the Markdown extension writes. The script itself is served by the site
// (assets/mathjax/, copied from a PyPI package at build time), so no network is needed.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
  svg: { fontCache: "global" },
};
