"""browser_support.py — what the headless-Chromium tests share (explorer_browser.py,
image_studies_browser.py): messages and exits with the test's name, the look-ups that decide
"skipped" (exit 77: no selenium, chromium, chromedriver or data set), and an offline driver.

    from browser_support import Reporter, find_browser, find_data, offline_driver
"""
import os
import shutil
import sys

SKIP = 77


class Reporter:
    """log / skip (exit 77) / fail (exit 1) / check, each message prefixed with the test's name."""

    def __init__(self, name):
        self.name = name

    def log(self, msg):
        print(self.name + ": " + msg, flush=True)

    def skip(self, msg):
        self.log("SKIPPED — " + msg)
        sys.exit(SKIP)

    def fail(self, msg):
        print(self.name + ": FAILED: " + msg, file=sys.stderr, flush=True)
        sys.exit(1)

    def check(self, cond, msg):
        if not cond:
            self.fail(msg)


def find_browser(rep):
    """(chromium, chromedriver) paths, or skip when either (or selenium) is missing."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        rep.skip("python3-selenium is not installed (Debian: apt-get install python3-selenium)")
    chromium = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    chromedriver = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
    if not chromium or not chromedriver:
        rep.skip("chromium or chromedriver is not installed (Debian: apt-get install chromium chromium-driver)")
    return chromium, chromedriver


def find_data(here, name, files):
    """The folder of data set `name` ($BILIN_DATA/name, ../shared/data/name next to the checkout,
    Debian's Fashion-MNIST) holding one of `files` (raw or .gz), or None."""
    cands = [os.path.join(os.environ.get("BILIN_DATA", ""), name), os.path.join(here, "..", "..", "shared", "data", name)]
    if name == "fashion-mnist":
        cands.append("/usr/share/datasets/fashion-mnist")
    for d in cands:
        if any(os.path.exists(os.path.join(d, f)) or os.path.exists(os.path.join(d, f + ".gz")) for f in files):
            return os.path.abspath(d)
    return None


def offline_driver(chromium, chromedriver):
    """Headless Chromium through chromedriver that cannot reach the network, logging the console."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1500",
              "--host-resolver-rules=MAP * ~NOTFOUND", "--no-proxy-server", "--disable-background-networking"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(chromedriver), options=opts)
