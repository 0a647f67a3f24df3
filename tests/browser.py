"""Headless Chromium for tests that look at built HTML pages (the documentation site, the report).

Chromium is Debian's package (``apt-get install chromium``, ``/usr/bin/chromium``). It is driven
through the DevTools protocol over a pipe (``--remote-debugging-pipe``: JSON messages separated
by NUL bytes on file descriptors 3 and 4), so nothing but the standard library is needed and no
port is opened. Pages are served from a folder by `serve` on 127.0.0.1, or opened as file:// URLs.

    with serve("site") as base, Browser() as browser:
        page = browser.open(base + "index.html")     # waits for load, MathJax and images
        page.evaluate("document.title")
        page.screenshot("out/index.png")
        page.failed_requests, page.errors, page.external_requests

`chromium()` raises `BrowserMissing` when the binary is absent: callers decide whether that is a
failure (the documentation check in `make docs`) and must never count it as a pass.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import functools
import http.server
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlparse

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
)

# Resolves once the page's scripts are done: MathJax's typesetting (when the page loads MathJax)
# and every <img> loaded or failed.
SETTLE = """(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  await Promise.all([...document.images].map(img => img.complete ? null :
    new Promise(done => { img.addEventListener('load', done); img.addEventListener('error', done); })));
  return true;
})()"""


class BrowserMissing(RuntimeError):
    """No Chromium binary on this machine."""


class BrowserError(RuntimeError):
    """The browser answered a command with an error, or did not answer in time."""


def chromium() -> str:
    """Path of the Chromium binary: ``$CHROMIUM``, else ``chromium`` / ``chromium-browser`` on PATH."""
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        found = candidate and shutil.which(candidate)
        if found:
            return found
    raise BrowserMissing("Chromium not found: apt-get install -y chromium (or set $CHROMIUM)")


@contextlib.contextmanager
def serve(folder):
    """Serve ``folder`` over HTTP on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _high(fd: int) -> int:
    """A duplicate of ``fd`` numbered 10 or more (not inheritable); ``fd`` is closed."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Browser:
    """One headless Chromium process with a fresh profile, driven over the DevTools pipe."""

    def __init__(self, width: int = 1280, height: int = 900, timeout: float = 60.0):
        self.width, self.height, self.timeout = width, height, timeout
        self._profile = tempfile.TemporaryDirectory(prefix="dln-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # The browser's ends move to descriptors >= 10, so that the redirections below cannot
        # overwrite one with the other.
        to_browser_r, from_browser_w = (_high(fd) for fd in (to_browser_r, from_browser_w))
        args = [*FLAGS, f"--user-data-dir={self._profile.name}", "--remote-debugging-pipe",
                f"--window-size={width},{height}", "about:blank"]
        # The protocol pipe must be descriptors 3 (commands) and 4 (answers) in the browser.
        script = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-'
        self._process = subprocess.Popen(
            ["/bin/bash", "-c", script, chromium(), *args], pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._lock = threading.Lock()
        self._answers: dict[int, queue.Queue] = {}
        self._events: dict[str, list] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Stop the browser and remove its profile."""
        with contextlib.suppress(OSError, BrowserError):
            self.send("Browser.close", timeout=10)
        with contextlib.suppress(OSError):
            os.close(self._to_browser)
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(timeout=20)
        with contextlib.suppress(OSError):
            os.close(self._from_browser)
        self._profile.cleanup()

    def _read(self):
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        answer = self._answers.get(message["id"])
                    if answer is not None:
                        answer.put(message)
                else:
                    with self._lock:
                        self._events.setdefault(message.get("sessionId", ""), []).append(message)
        with self._lock:  # the browser is gone: wake every waiting command
            for answer in self._answers.values():
                answer.put({"error": {"message": "browser closed"}})

    def send(self, method: str, params=None, session: str | None = None, timeout: float | None = None):
        """Send one DevTools command and return its result (raises `BrowserError` on an error)."""
        with self._lock:
            self._next_id += 1
            ident = self._next_id
            answer = self._answers[ident] = queue.Queue()
        message = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        try:
            reply = answer.get(timeout=timeout or self.timeout)
        except queue.Empty:
            raise BrowserError(f"{method}: no answer in {timeout or self.timeout} s") from None
        finally:
            with self._lock:
                del self._answers[ident]
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def events(self, session: str) -> list:
        """Events received so far for ``session`` (a copy)."""
        with self._lock:
            return list(self._events.get(session, []))

    def open(self, url: str, settle: bool = True) -> Page:
        """A new tab at ``url``, returned once its load event fired and (``settle``) its scripts are
        done: MathJax typeset and every image loaded or failed."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, target, session)
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable", session=session)
        self.send("Emulation.setDeviceMetricsOverride", {"width": self.width, "height": self.height,
                                                         "deviceScaleFactor": 1, "mobile": False}, session)
        answer = self.send("Page.navigate", {"url": url}, session)
        if answer.get("errorText"):
            raise BrowserError(f"{url}: {answer['errorText']}")
        page.wait_for("Page.loadEventFired")
        if settle:
            page.evaluate(SETTLE)
        return page


class Page:
    """One tab: evaluate JavaScript, take screenshots, read what went wrong while loading."""

    def __init__(self, browser: Browser, target: str, session: str):
        self.browser, self.target, self.session = browser, target, session

    def wait_for(self, event: str, timeout: float | None = None):
        """Wait until ``event`` has been received for this tab."""
        deadline = timeout or self.browser.timeout
        done = threading.Event()
        step = 0.05
        waited = 0.0
        while waited < deadline:
            if any(e["method"] == event for e in self.browser.events(self.session)):
                return
            done.wait(step)
            waited += step
        raise BrowserError(f"{event}: not received in {deadline} s")

    def evaluate(self, expression: str):
        """The value of a JavaScript expression (promises are awaited), as JSON data."""
        result = self.browser.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                        "returnByValue": True}, self.session)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:60]}...: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def screenshot(self, path, full_page: bool = True) -> Path:
        """Save a PNG of the page (the whole page, or the viewport) and return its path."""
        params = {"format": "png"}
        if full_page:
            size = self.browser.send("Page.getLayoutMetrics", session=self.session)["cssContentSize"]
            params |= {"captureBeyondViewport": True,
                       "clip": {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 16000),
                                "scale": 1}}
        data = self.browser.send("Page.captureScreenshot", params, self.session)["data"]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    @property
    def failed_requests(self) -> list[str]:
        """URLs that failed to load (network errors, HTTP status ≥ 400)."""
        events = self.browser.events(self.session)
        urls = {e["params"]["requestId"]: e["params"]["request"]["url"]
                for e in events if e["method"] == "Network.requestWillBeSent"}
        failed = [f"{urls.get(e['params']['requestId'], '?')}: {e['params'].get('errorText')}"
                  for e in events if e["method"] == "Network.loadingFailed"]
        failed += [f"{e['params']['response']['url']}: HTTP {e['params']['response']['status']}"
                   for e in events if e["method"] == "Network.responseReceived"
                   and e["params"]["response"]["status"] >= 400]
        return failed

    @property
    def external_requests(self) -> list[str]:
        """Requests to any host other than the page's own (a page that must work offline has none)."""
        events = self.browser.events(self.session)
        urls = [e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"]
        own = urlparse(urls[0]).netloc if urls else ""
        return [u for u in urls if urlparse(u).scheme not in ("data", "blob", "about")
                and urlparse(u).netloc != own]

    @property
    def errors(self) -> list[str]:
        """Uncaught JavaScript exceptions and console/log errors."""
        out = []
        for e in self.browser.events(self.session):
            if e["method"] == "Runtime.exceptionThrown":
                details = e["params"]["exceptionDetails"]
                out.append(details.get("exception", {}).get("description") or details.get("text", ""))
            elif e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] == "error":
                out.append(" ".join(str(a.get("value", a.get("description", ""))) for a in e["params"]["args"]))
            elif e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error":
                out.append(f"{e['params']['entry'].get('url', '')}: {e['params']['entry']['text']}")
        return out

    def close(self):
        """Close the tab."""
        self.browser.send("Target.closeTarget", {"targetId": self.target})


# Checks shared by the tests of built pages ---------------------------------------------------

# Text a reader sees (code, scripts and rendered math left out) that still holds TeX delimiters.
RAW_MATH = r"""(() => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll('pre, code, script, style, mjx-container, .katex, textarea').forEach(n => n.remove());
  const text = body.textContent;
  return ['$$', '\\(', '\\)', '\\[', '\\]', '\\begin{', '\\frac'].filter(d => text.includes(d));
})()"""

# Math a renderer was asked to typeset but did not: arithmatex spans with no MathJax or KaTeX
# output inside, and the renderers' own error nodes.
UNRENDERED_MATH = r"""(() => [
  ...[...document.querySelectorAll('.arithmatex')].filter(n => !n.querySelector('mjx-container, .katex'))
     .map(n => 'not typeset: ' + n.textContent.slice(0, 80)),
  ...[...document.querySelectorAll('mjx-merror, [data-mjx-error], .katex-error')]
     .map(n => 'error: ' + (n.getAttribute('data-mjx-error') || n.getAttribute('title') || n.textContent).slice(0, 80)),
])()"""

RENDERED_MATH = "document.querySelectorAll('mjx-container, .katex').length"

BROKEN_IMAGES = "[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"


def page_problems(page: Page) -> list[str]:
    """Everything wrong with a settled page: failed or external requests, script errors, raw or
    unrendered math, images that did not load (empty when the page is fine)."""
    return [
        *(f"failed request {u}" for u in page.failed_requests),
        *(f"external request {u}" for u in page.external_requests),
        *(f"script error {e}" for e in page.errors),
        *(f"raw TeX {d!r} in the text" for d in page.evaluate(RAW_MATH)),
        *page.evaluate(UNRENDERED_MATH),
        *(f"image not loaded {u}" for u in page.evaluate(BROKEN_IMAGES)),
    ]


def broken_links(folder) -> list[str]:
    """Local links (href, src) of every HTML file under ``folder`` whose target file, or whose
    ``#fragment`` in it, does not exist. Links with a scheme (http:, mailto:, data:) are not local
    and are left out."""
    from html.parser import HTMLParser
    from urllib.parse import unquote, urldefrag

    class Collect(HTMLParser):
        def __init__(self):
            super().__init__()
            self.links, self.ids = [], set()

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if attrs.get("id"):
                self.ids.add(attrs["id"])
            if tag == "a" and attrs.get("name"):
                self.ids.add(attrs["name"])
            for key in ("href", "src"):
                if attrs.get(key) is not None:
                    self.links.append(attrs[key])

    folder = Path(folder).resolve()
    parsed = {}

    def parse(path):
        if path not in parsed:
            collect = Collect()
            collect.feed(path.read_text(encoding="utf-8", errors="replace"))
            parsed[path] = collect
        return parsed[path]

    problems = []
    for page in sorted(folder.rglob("*.html")):
        for link in parse(page).links:
            if urlparse(link).scheme or link.startswith("//"):
                continue
            target, fragment = urldefrag(link)
            base = folder if target.startswith("/") else page.parent  # "/x": from the site's root
            path = (base / unquote(target).lstrip("/")).resolve() if target else page
            if path.is_dir():
                path = path / "index.html"
            where = f"{page.relative_to(folder)}: {link}"
            if not path.is_file():
                problems.append(f"{where} (no file)")
            elif fragment and path.suffix == ".html" and unquote(fragment) not in parse(path).ids:
                problems.append(f"{where} (no #{fragment})")
    return problems
