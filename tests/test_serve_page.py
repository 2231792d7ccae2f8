"""The page in a real headless Chromium (Debian's chromium + chromedriver, driven by Selenium) against a real
`logclassify serve`: paste a fixture log, drop a .gz, see the cause, the fix steps and the timeline the command
gives; a phone-sized dark view; the token prompt. Screenshots are saved under each test's tmp_path."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, ROOT, must_exist, run_cli
from tests.serve_support import Served, need_serve_extra, serve

need_serve_extra()
pytest.importorskip("selenium", reason="selenium is missing: pip install -e '.[test]'")

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
HANG_LOG = must_exist(FIXTURES / "startup" / "startup-hang-profile-v0-tp4-after-load.log")
NCCL_LOG = must_exist(ROOT / "examples" / "server.log")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
                       reason="Debian's chromium and chromium-driver are not installed "
                              "(apt-get install chromium chromium-driver; .ci/run does)"),
]


def browser(width: int = 1200, height: int = 900, dark: bool = False) -> WebDriver:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="logclassify-chromium-")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(arg)
    if dark:
        options.add_argument("--force-dark-mode")
        options.add_argument("--blink-settings=preferredColorScheme=0")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.profile_dir = profile  # type: ignore[attr-defined]
    return driver


@pytest.fixture(scope="module")
def server() -> Iterator[Served]:
    with serve() as served:
        yield served


@pytest.fixture
def page(server: Served) -> Iterator[WebDriver]:
    driver = browser()
    try:
        driver.get(server.url + "/")
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(driver.profile_dir, ignore_errors=True)  # type: ignore[attr-defined]


def cli_report(path: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(run_cli("--format", "json", str(path)).stdout)
    return report


def answered(driver: WebDriver, timeout: float = 60) -> WebElement:
    WebDriverWait(driver, timeout).until(lambda d: d.find_element(By.ID, "status-text").text.startswith(("Done", "Not")))
    status = driver.find_element(By.ID, "status-text").text
    assert status.startswith("Done"), status
    return driver.find_element(By.ID, "answer")


def full_screenshot(driver: WebDriver, path: Path) -> None:
    width = driver.execute_script("return window.innerWidth")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(int(height) + 120, 6000))
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000


def paste(driver: WebDriver, text: str) -> None:
    box = driver.find_element(By.ID, "log")
    driver.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'))", box, text)
    box.click()


def test_pasted_log_shows_cause_fix_steps_evidence_and_timeline(page: WebDriver, server: Served, tmp_path: Path) -> None:
    want = cli_report(HANG_LOG)
    head = want["diagnoses"][0]
    paste(page, HANG_LOG.read_text(encoding="utf-8"))
    page.find_element(By.ID, "log").send_keys(Keys.CONTROL, Keys.ENTER)  # the keyboard way to classify
    answer = answered(page)
    assert page.switch_to.active_element.get_attribute("id") == "answer"  # focus moves to it, for a screen reader
    card = answer.find_element(By.CSS_SELECTOR, "article.cause-card")
    assert card.find_element(By.CSS_SELECTOR, ".title").text == head["title"]
    assert head["id"] in card.text and f"{round(head['confidence'] * 100)}% confident" in card.text
    steps = card.find_elements(By.CSS_SELECTOR, "ol.fix > li")
    assert [s.text for s in steps] == [f.replace("`", "") for f in head["fix"]]  # `code` spans shown as code
    # the timeline: one bar per phase, the phase that never ended marked
    phases = answer.find_elements(By.CSS_SELECTOR, "ol.timeline > li")
    assert len(phases) == len(want["timeline"]) >= 3
    stuck = [p for p in phases if "stuck" in (p.get_attribute("class") or "")]
    running = [p["label"] for p in want["timeline"] if p["status"] != "done"]
    assert [p.find_element(By.CSS_SELECTOR, ".phase-name").text.split(" · ")[0] for p in stuck] == running
    # evidence: the line number opens the lines around it, the evidence line marked
    line = head["evidence"][0]["line"]
    button = card.find_element(By.CSS_SELECTOR, "button.ln")
    assert button.text == f"line {line}" and button.get_attribute("aria-expanded") == "false"
    button.click()
    assert button.get_attribute("aria-expanded") == "true"
    context = card.find_element(By.ID, button.get_attribute("aria-controls") or "")
    assert context.is_displayed()
    assert context.find_element(By.CSS_SELECTOR, "mark").text.lstrip().startswith(f"{line} | ")
    assert f"{line - 1} | " in context.text
    # offline: everything the page loaded came from this server (no CDN, no web fonts)
    loaded = page.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(url.startswith(server.url + "/") for url in loaded), loaded
    full_screenshot(page, tmp_path / "page-pasted.png")


def drop_file(driver: WebDriver, path: Path) -> None:
    """Drop a real file from disk on the drop zone: chromedriver gives it to a file input, and a drop event
    carries that File in its DataTransfer, as a drag from the desktop does."""
    holder = driver.execute_script(
        "const i = document.createElement('input'); i.type = 'file'; i.id = 'test-holder'; i.style.display = 'none';"
        "document.body.append(i); return i;")
    holder.send_keys(str(path))
    driver.execute_script(
        "const dt = new DataTransfer(); dt.items.add(document.getElementById('test-holder').files[0]);"
        "const zone = document.getElementById('drop');"
        "for (const type of ['dragenter', 'dragover', 'drop']) {"
        "  zone.dispatchEvent(new DragEvent(type, {dataTransfer: dt, bubbles: true, cancelable: true})); }")


def test_dropped_gz_is_unpacked_and_classified(page: WebDriver, tmp_path: Path) -> None:
    want = cli_report(NCCL_LOG)
    gz = tmp_path / "node-7.log.gz"
    gz.write_bytes(gzip.compress(NCCL_LOG.read_bytes()))
    drop_file(page, gz)
    answer = answered(page)
    assert answer.find_element(By.ID, "answer-title").text == "Answer for node-7.log.gz"
    head = want["diagnoses"][0]
    card = answer.find_element(By.CSS_SELECTOR, "article.cause-card")
    assert card.find_element(By.CSS_SELECTOR, ".title").text == head["title"]
    assert len(card.find_elements(By.CSS_SELECTOR, "ol.fix > li")) == len(head["fix"])
    assert "node-7.log.gz" in page.find_element(By.ID, "file-name").text
    # the .gz was unpacked in the browser: its lines are there to show around the evidence
    button = card.find_elements(By.CSS_SELECTOR, "button.ln")[-1]
    button.click()
    context = card.find_element(By.ID, button.get_attribute("aria-controls") or "")
    assert "NCCL error" in context.text
    facts = answer.text
    assert "0.8.4" in facts and "TP 2" in facts
    full_screenshot(page, tmp_path / "page-dropped-gz.png")


def test_corrected_commands_and_values_appear_under_their_steps(page: WebDriver) -> None:
    """When the log shows the user's command, the report gives it corrected per fix step: the page puts each one
    under its step, with the numbers read from the log."""
    log = must_exist(FIXTURES / "memory" / "kv-cache-insufficient-v0-typed-api-server.log")
    head = cli_report(log)["diagnoses"][0]
    assert head.get("commands"), "this fixture should give a corrected command"
    paste(page, log.read_text(encoding="utf-8"))
    page.find_element(By.ID, "go").click()
    card = answered(page).find_element(By.CSS_SELECTOR, "article.cause-card")
    steps = card.find_elements(By.CSS_SELECTOR, "ol.fix > li")
    for fixed in head["commands"]:
        assert steps[fixed["step"] - 1].find_element(By.CSS_SELECTOR, ".cmd pre").text == fixed["command"]
    for value in head.get("values", []):
        assert str(value["value"]) in card.text


def test_log_text_is_shown_as_text_never_as_html(page: WebDriver) -> None:
    paste(page, 'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\n'
                'RuntimeError: <img id="pwn" src="x" onerror="document.title=\'pwned\'"> went wrong\n')
    page.find_element(By.ID, "go").click()
    answer = answered(page)
    assert '<img id="pwn"' in answer.text
    assert page.find_elements(By.ID, "pwn") == [] and page.title != "pwned"


def test_a_large_file_shows_what_it_is_doing(page: WebDriver, tmp_path: Path) -> None:
    """Upload, then classification, are said in the live status region while they happen."""
    big = tmp_path / "big.log"
    filler = "INFO 04-17 23:05:00 [loader.py:1] loading shard\n" * 160_000  # ~7 MiB before the real failure
    big.write_text(filler + NCCL_LOG.read_text(encoding="utf-8"))
    page.execute_script(
        "window.seen = []; const s = document.getElementById('status-text');"
        "new MutationObserver(() => window.seen.push(s.textContent)).observe(s, {childList: true, subtree: true});")
    drop_file(page, big)
    assert "NCCL" in answered(page, timeout=120).text
    seen = page.execute_script("return window.seen")
    assert any(text.startswith("Classifying") for text in seen), seen
    assert page.find_element(By.ID, "status").get_attribute("role") == "status"


def test_phone_size_dark_mode_and_labels(server: Served, tmp_path: Path) -> None:
    driver = browser(width=390, height=844, dark=True)
    try:
        driver.get(server.url + "/")
        unlabelled = driver.execute_script(
            "return [...document.querySelectorAll('input:not([type=hidden]), textarea, select')]"
            ".filter(e => !e.labels || !e.labels.length).map(e => e.id || e.outerHTML)")
        assert unlabelled == []
        dark_bg = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
        assert dark_bg == "rgb(20, 23, 28)", dark_bg
        paste(driver, HANG_LOG.read_text(encoding="utf-8"))
        driver.find_element(By.ID, "go").click()
        answered(driver)
        overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than a phone's screen"
        full_screenshot(driver, tmp_path / "page-phone-dark.png")
    finally:
        driver.quit()
        shutil.rmtree(driver.profile_dir, ignore_errors=True)  # type: ignore[attr-defined]


def test_token_is_asked_for_and_sent() -> None:
    with serve("--token", "letmein") as served:
        driver = browser()
        try:
            driver.get(served.url + "/")
            assert not driver.find_element(By.ID, "token-row").is_displayed()
            paste(driver, NCCL_LOG.read_text(encoding="utf-8"))
            driver.find_element(By.ID, "go").click()
            WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "token-row").is_displayed())
            assert "bearer token" in driver.find_element(By.ID, "status-text").text
            assert driver.switch_to.active_element.get_attribute("id") == "token"
            driver.switch_to.active_element.send_keys("letmein")
            driver.find_element(By.ID, "go").click()
            assert "NCCL" in answered(driver).text
        finally:
            driver.quit()
            shutil.rmtree(driver.profile_dir, ignore_errors=True)  # type: ignore[attr-defined]


def test_the_wheel_carries_the_page(tmp_path: Path) -> None:
    """The page's files are package data: a wheel without them would serve a 404 at /."""
    import subprocess
    import sys
    import zipfile

    pytest.importorskip("build")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("logclassify-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    static = ROOT / "logclassify" / "serve" / "static"
    for f in static.iterdir():
        assert f"logclassify/serve/static/{f.name}" in names
