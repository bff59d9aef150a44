"""Evidence compressed into the page and unpacked when its row is opened.

pytest-html puts every test's extras, HTML-escaped inside a JSON attribute, into the page and
builds every row at load: a full run's evidence made a 15 MB page. Each test's evidence goes in
as gzip + base64 instead (about a tenth of the size), and ``SCRIPT`` inflates it with the
browser's DecompressionStream when its row is expanded (failed tests open expanded, so theirs at
load). The page stays one self-contained file.
"""
from __future__ import annotations

import base64
import gzip
import re

INLINE_BELOW = 600  # bytes: smaller evidence goes in as it is
#: a packed blob, also as pytest-html escapes it inside its JSON attribute (\&#34;)
BLOB = re.compile(r'data-z=(?:\\?&#34;|\\?")([A-Za-z0-9+/=]{16,})')

SCRIPT = r"""<script id="bg96-script">
(function () {
  "use strict";
  const cache = new Map();
  let target = null;  // a test asked for (link or #hash): kept in view while evidence above unpacks
  ["wheel", "keydown", "touchstart", "mousedown"].forEach(function (t) {
    addEventListener(t, function () { target = null; }, {passive: true});
  });
  function inflate(b64) {
    const bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text();
  }
  function fill(el) {
    el.dataset.state = "loading";
    const z = el.dataset.z;
    if (!cache.has(z)) cache.set(z, inflate(z));
    cache.get(z).then(function (html) {
      el.innerHTML = html;
      el.dataset.state = "done";
      if (target) { const r = row(target); if (r) r.scrollIntoView({block: "start"}); }
    },
                      function (err) { el.textContent = "evidence could not be unpacked: " + err; });
  }
  function scan() {
    document.querySelectorAll("tr.extras-row:not(.hidden) .bg96-lazy:not([data-state])").forEach(fill);
  }
  let queued = false;
  new MutationObserver(function () {
    if (queued) return;
    queued = true;
    Promise.resolve().then(function () { queued = false; scan(); });
  }).observe(document.body, {childList: true, subtree: true, attributes: true, attributeFilter: ["class"]});
  function row(nodeid) {
    return document.getElementById(nodeid) || document.getElementById(nodeid + "::setup")
      || document.getElementById(nodeid + "::teardown");
  }
  function openTest(nodeid) {
    let r = row(nodeid);
    if (!r) return false;
    const cell = r.querySelector(".collapsible .col-result");
    if (cell && cell.classList.contains("collapsed")) { cell.click(); r = row(nodeid) || r; }
    r.scrollIntoView({block: "start"});
    target = nodeid;
    return true;
  }
  document.addEventListener("click", function (e) {
    const a = e.target.closest("a.bg96-ev-link");
    if (a && openTest(a.dataset.nodeid)) {
      e.preventDefault();
      history.replaceState(null, "", "#" + encodeURIComponent(a.dataset.nodeid));
    }
  });
  function start() {
    if (typeof bg96RenderTable === "function") bg96RenderTable();  // pytest-html's table, deferred
    scan();
    if (location.hash.length > 1) openTest(decodeURIComponent(location.hash.slice(1)));
  }
  requestAnimationFrame(function () { setTimeout(start, 0); });  // after the verdict is painted
})();
</script>"""


def packed(html: str) -> str:
    """The evidence as a placeholder the script fills on expand (small evidence as it is)."""
    raw = html.encode("utf-8")
    if len(raw) < INLINE_BELOW:
        return html
    z = base64.b64encode(gzip.compress(raw, compresslevel=9, mtime=0)).decode("ascii")
    return (f'<div class="bg96-lazy" data-z="{z}">Evidence ({len(raw) // 1024 + 1} kB) '
            "is unpacked when the row is open.</div>")


def evidence_texts(page: str) -> list[str]:
    """Every packed evidence of a page, inflated (for tests and tools that read the file)."""
    return [gzip.decompress(base64.b64decode(z)).decode("utf-8") for z in BLOB.findall(page)]
