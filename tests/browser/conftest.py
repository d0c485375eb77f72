"""The dashboard as a user meets it: the demo stack (four uvicorn processes, a private Redis), the
Streamlit dashboard as a process, and Debian's Chromium headless, driven by Selenium."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from services.launcher import dashboard_process, wait_ready
from tests.e2e.conftest import running_stack, stack_redis, url_of  # noqa: F401  (fixtures reused)
from tests.helpers import REPO_ROOT, free_port

# Flags that keep Chromium from phoning home or needing a display, a GPU or a sandbox.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,2400",
)


def artifacts_dir() -> Path:
    """Where screenshots are kept: $BATIK_TEST_ARTIFACTS, else .cache/test-artifacts/browser."""
    path = Path(os.environ.get("BATIK_TEST_ARTIFACTS", REPO_ROOT / ".cache" / "test-artifacts"))
    path = path / "browser"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _find(*names: str) -> str | None:
    return next((p for p in map(shutil.which, names) if p), None)


@pytest.fixture(scope="module")
def chromium():
    browser = _find("chromium", "chromium-browser")
    driver_path = _find("chromedriver")
    if not (browser and driver_path):
        message = (
            "Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        )
        if os.environ.get("BATIK_BROWSER_REQUIRED"):
            pytest.fail(message)
        pytest.skip(message)
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager download anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def dashboard_url(running_stack, tmp_path_factory):  # noqa: F811
    process = dashboard_process(url_of(running_stack, "gateway"), port=free_port())
    log_dir = tmp_path_factory.mktemp("dashboard-log")
    process.start(dict(os.environ), log_dir)
    try:
        wait_ready([process], deadline_s=120)
        yield process.url
    except Exception:
        print((log_dir / "dashboard.log").read_text(errors="replace")[-3000:])
        raise
    finally:
        process.stop()
