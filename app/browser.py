"""A headless Chromium for the app's end-to-end test and the docs screenshots.

Drives Debian's ``chromium`` with selenium through Debian's ``chromedriver`` (package
``chromium-driver``). Streamlit renders over a websocket after the page loads, so callers wait
for text to appear (:meth:`Browser.wait_for_text`) before reading or capturing the page.
"""
from __future__ import annotations

import shutil
import socket
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


# By hand: selenium's WebDriverWait polls a browser, and the app's health URL must answer before one starts.
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
    """One headless Chromium window, driven by selenium through Debian's chromedriver (given by
    path, so selenium never downloads a driver)."""

    def __init__(self, width: int = 1400, height: int = 1000) -> None:
        found = find_chromium()
        if found is None:
            raise RuntimeError("chromium and chromedriver are needed: apt-get install chromium chromium-driver")
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service

        self.chromium, driver = found
        self.profile = tempfile.mkdtemp(prefix="arena-chromium-")
        options = Options()
        options.binary_location = self.chromium
        for arg in CHROME_ARGS + [f"--user-data-dir={self.profile}", f"--window-size={width},{height}"]:
            options.add_argument(arg)
        try:
            self.driver = webdriver.Chrome(service=Service(executable_path=driver), options=options)
        except Exception:
            shutil.rmtree(self.profile, ignore_errors=True)
            raise
        self.driver.set_script_timeout(120)

    def get(self, url: str) -> None:
        self.driver.get(url)

    def script(self, js: str, *args: Any) -> Any:
        return self.driver.execute_script(js, *args)

    def text(self) -> str:
        return self.script("return document.body ? document.body.innerText : '';") or ""

    def wait_for_text(self, *needles: str, timeout: float = 60.0, settle: float = 1.0) -> str:
        """Wait until every needle is in the page's text and Streamlit has stopped running."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        def ready(_driver: Any) -> bool:
            text = self.text()
            running = self.script("return !!document.querySelector('[data-testid=\"stStatusWidget\"]');")
            return all(n in text for n in needles) and not running

        try:
            WebDriverWait(self.driver, timeout, poll_frequency=0.3).until(ready)
        except TimeoutException:
            text = self.text()
            missing = [n for n in needles if n not in text]
            raise TimeoutError(f"page text lacks {missing} after {timeout:.0f} s; it reads:\n{text[:2000]}") from None
        time.sleep(settle)  # let charts finish drawing
        return self.text()

    def screenshot(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.driver.get_screenshot_as_png())
        return path

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
