// Redoc, started from a file (no inline script: the page keeps the project's CSP). System fonts
// (no font server), and no search worker (it would run from a blob: URL, which the CSP refuses).
"use strict";
(function () {
  const root = document.getElementById("redoc-container");
  Redoc.init(root.dataset.schemaUrl, {
    disableSearch: true,
    hideDownloadButton: false,
    theme: { typography: { fontFamily: "system-ui, -apple-system, 'PingFang SC', 'Microsoft YaHei', sans-serif",
                            headings: { fontFamily: "system-ui, -apple-system, 'PingFang SC', 'Microsoft YaHei', sans-serif" },
                            code: { fontFamily: "ui-monospace, Menlo, Consolas, monospace" } } },
  }, root);
})();
