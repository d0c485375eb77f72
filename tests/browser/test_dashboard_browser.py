"""The dashboard in headless Chromium against the running demo stack: a text query and an image
upload, each showing references, the fused prompt and the generated image. Screenshots are kept in
the artifacts directory (see conftest.artifacts_dir)."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import artifacts_dir

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
DEADLINE_S = 180


def css(driver, selector: str, deadline_s: float = DEADLINE_S):
    return WebDriverWait(driver, deadline_s).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, selector))
    )


def open_fresh(driver, url: str) -> None:
    driver.get(url)  # a new page load is a new Streamlit session
    css(driver, ".st-key-run button")


def run_and_wait_for_results(driver, name: str) -> dict[str, object]:
    css(driver, ".st-key-run button").click()
    try:
        css(driver, ".st-key-download button")
        WebDriverWait(driver, DEADLINE_S).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, ".st-key-references img")) == 5
        )
    finally:
        driver.save_screenshot(str(artifacts_dir() / f"dashboard-{name}.png"))
    cards = driver.find_elements(By.CSS_SELECTOR, ".st-key-references [class*='st-key-reference-']")
    return {
        "cards": [card.text for card in cards],
        "prompt": css(driver, ".st-key-prompt code").text,
        "generated": driver.find_elements(By.CSS_SELECTOR, ".st-key-generated img"),
        "errors": driver.find_elements(By.CSS_SELECTOR, "[data-testid='stAlertContentError']"),
    }


def test_a_text_query_shows_references_prompt_and_image(chromium, dashboard_url):
    open_fresh(chromium, dashboard_url)
    text = css(chromium, ".st-key-query_text textarea")
    text.send_keys("sekar bunga")
    text.send_keys(Keys.CONTROL, Keys.ENTER)  # commit the text area before the click
    seed = css(chromium, ".st-key-seed input")
    seed.send_keys("7", Keys.TAB)
    page = run_and_wait_for_results(chromium, "text-query")
    assert not page["errors"]
    assert len(page["cards"]) == 5
    assert all("cosine" in card for card in page["cards"])
    # each card says which channel of the fused ranking placed it
    assert all(" #" in card and ("visual" in card or "match" in card) for card in page["cards"])
    assert page["prompt"].startswith("sekar bunga, Batik Nitik ")
    # The tile and, beside it, its 3x3 repeat (the dashboard asks for the preview by default).
    tile, repeat = page["generated"]
    assert chromium.execute_script("return arguments[0].naturalWidth", tile) == 64
    assert chromium.execute_script("return arguments[0].naturalWidth", repeat) == 3 * 64


def test_an_image_upload_shows_its_motif_first(chromium, dashboard_url, synthetic_dataset):
    images, _ = synthetic_dataset
    open_fresh(chromium, dashboard_url)
    # The upload box takes what the gateway takes (10 MiB by default), not Streamlit's 200 MB.
    box = chromium.find_element(By.CSS_SELECTOR, ".st-key-query_image").text
    assert "10MB" in box and "200MB" not in box, box
    upload = chromium.find_element(By.CSS_SELECTOR, ".st-key-query_image input[type='file']")
    upload.send_keys(str(images / "5 Truntum 1.jpg"))
    WebDriverWait(chromium, DEADLINE_S).until(
        lambda d: "5 Truntum 1.jpg" in d.find_element(By.CSS_SELECTOR, ".st-key-query_image").text
    )
    page = run_and_wait_for_results(chromium, "image-upload")
    assert not page["errors"]
    assert "Truntum" in page["cards"][0] and "5 Truntum 1" in page["cards"][0]
    assert page["prompt"].startswith("Batik Nitik Truntum")
    assert len(page["generated"]) == 2  # the tile and its 3x3 repeat
