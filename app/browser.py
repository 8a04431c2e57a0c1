"""A headless Chromium for the app's end-to-end test and the docs screenshots.

Drives Debian's ``chromium`` through ``chromedriver`` (package ``chromium-driver``) with the
W3C WebDriver protocol over plain HTTP (urllib), so no Python package beyond the standard
library is needed. Streamlit renders over a websocket after the page loads, so callers wait
for text to appear (:meth:`Browser.wait_for_text`) before reading or capturing the page.
"""
from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

CHROME_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--no-first-run", "--hide-scrollbars"]


def find_chromium() -> tuple[str, str] | None:
    """(chromium, chromedriver) paths, or None when either is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0) -> None:
    """Wait until ``url`` answers 200 (e.g. Streamlit's /_stcore/health)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last = exc
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s ({last})")


class Browser:
    """One headless Chromium window, driven through chromedriver."""

    def __init__(self, width: int = 1400, height: int = 1000) -> None:
        found = find_chromium()
        if found is None:
            raise RuntimeError("chromium and chromedriver are needed: apt-get install chromium chromium-driver")
        self.chromium, driver = found
        self.profile = tempfile.mkdtemp(prefix="arena-chromium-")
        self.port = free_port()
        self.proc = subprocess.Popen([driver, f"--port={self.port}"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        try:
            wait_http(self.base + "/status", timeout=30)
            caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
                "binary": self.chromium,
                "args": CHROME_ARGS + [f"--user-data-dir={self.profile}", f"--window-size={width},{height}"]}}}}
            self.session = self._call("POST", "/session", caps)["sessionId"]
        except Exception:
            self.close()
            raise

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"webdriver {method} {path}: {exc.read()[:500]!r}") from None

    def _s(self, path: str) -> str:
        return f"/session/{self.session}{path}"

    def get(self, url: str) -> None:
        self._call("POST", self._s("/url"), {"url": url})

    def script(self, js: str, *args: Any) -> Any:
        return self._call("POST", self._s("/execute/sync"), {"script": js, "args": list(args)})

    def text(self) -> str:
        return self.script("return document.body ? document.body.innerText : '';") or ""

    def wait_for_text(self, *needles: str, timeout: float = 60.0, settle: float = 1.0) -> str:
        """Wait until every needle is in the page's text and Streamlit has stopped running."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.text()
            running = self.script("return !!document.querySelector('[data-testid=\"stStatusWidget\"]');")
            if all(n in text for n in needles) and not running:
                time.sleep(settle)  # let charts finish drawing
                return self.text()
            time.sleep(0.3)
        missing = [n for n in needles if n not in text]
        raise TimeoutError(f"page text lacks {missing} after {timeout:.0f} s; it reads:\n{text[:2000]}")

    def screenshot(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self._call("GET", self._s("/screenshot"))))
        return path

    def close(self) -> None:
        try:
            if getattr(self, "session", None):
                self._call("DELETE", self._s(""))
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
