"""The page in a real browser: headless Chromium (Debian's chromium and chromium-driver) against the API.

The API is the query handler behind the local stack's HTTP bridge, on moto; the test picks two teams
as a person would and checks that the numbers on the page are the numbers the API returns.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from matchodds.cli import get_json
from matchodds.core.posterior import Posterior
from matchodds.local import serve_http_api
from services.query import handler
from tests.integration.conftest import publish

pytestmark = pytest.mark.browser
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1200,2200",
)
CODES = ("ARS", "CHE", "LIV", "MCI", "NEW", "TOT")
# Waits end when the page shows what is awaited; the bound only has to outlast a loaded machine.
WAIT_SECONDS = 300


@pytest.fixture(scope="module")
def chromium_present() -> None:
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    message = "Debian's chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(message)  # CI installs them (.ci/run): their absence there is a broken setup, not a skip
    pytest.skip(message)


@pytest.fixture
def browser(chromium_present: None, tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "profile", ignore_errors=True)


@pytest.fixture
def site(aws: dict[str, str], make_posterior: Callable[..., Posterior]) -> Iterator[str]:
    publish(aws, make_posterior(codes=CODES, version="20250526T060000Z", spread=0.1))
    handler.reader.cache_clear()
    server = serve_http_api(handler.lambda_handler, 0)  # any free port: no race with a parallel test
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        handler.reader.cache_clear()


def percent_close(text: str, probability: float) -> bool:
    return abs(float(text.rstrip("%")) - 100 * probability) <= 0.05 + 1e-9


def price_close(text: str, fair_odds: float) -> bool:
    return abs(float(text) - fair_odds) <= 0.005 + 1e-9


def pick(driver: Any, select_id: str, code: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, select_id)).select_by_value(code)


def test_pick_two_teams_and_see_the_numbers_the_api_returns(browser: Any, site: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, WAIT_SECONDS)
    browser.get(site)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#home option")) == len(CODES) + 1)
    pick(browser, "home", "LIV")
    pick(browser, "away", "ARS")
    wait.until(lambda d: d.find_element(By.ID, "result").get_attribute("data-fixture") == "LIV-ARS")
    status, odds = get_json(f"{site}odds/LIV/ARS?competition=E0")
    assert status == 200

    assert browser.find_element(By.ID, "fixture-title").text == "Team LIV v Team ARS"
    for outcome in ("home", "draw", "away"):
        row = browser.find_element(By.CSS_SELECTOR, f".outcome[data-outcome={outcome}]")
        probability = odds["probabilities"][outcome]
        assert float(row.get_attribute("data-probability")) == probability
        assert percent_close(row.find_element(By.CSS_SELECTOR, ".p").text, probability)
        assert price_close(row.find_element(By.CSS_SELECTOR, ".price").text, odds["fair_odds"][outcome])
        interval = row.find_element(By.CSS_SELECTOR, ".interval")
        expected = odds["credible_intervals"][outcome]
        assert float(interval.get_attribute("data-low")) == expected["low"]
        assert float(interval.get_attribute("data-high")) == expected["high"]
        low, high = interval.text.strip("()").split("–")
        assert percent_close(low, expected["low"]) and percent_close(high, expected["high"])

    grid = odds["correct_score"]["probabilities"]
    cells = browser.find_elements(By.CSS_SELECTOR, "#grid td")
    assert len(cells) == 49
    for cell in cells:
        home, away = int(cell.get_attribute("data-home")), int(cell.get_attribute("data-away"))
        assert float(cell.get_attribute("data-probability")) == grid[home][away]
        assert percent_close(cell.text, grid[home][away])

    markets = odds["markets"]
    expected_prices = {
        "over_2.5": markets["over_under"][2]["over"]["fair_odds"],
        "under_0.5": markets["over_under"][0]["under"]["fair_odds"],
        "btts_yes": markets["both_teams_to_score"]["yes"]["fair_odds"],
        "dc_home_draw": markets["double_chance"]["home_draw"]["fair_odds"],
        "dnb_away": markets["draw_no_bet"]["away"]["fair_odds"],
        "ah_home_-0.75": markets["asian_handicap"][7]["home"]["fair_odds"],
        "ah_away_1.25": markets["asian_handicap"][15]["away"]["fair_odds"],
    }
    for key, fair_odds in expected_prices.items():
        cell = browser.find_element(By.CSS_SELECTOR, f'td[data-key="{key}"]')
        assert float(cell.get_attribute("data-odds")) == fair_odds, key
        assert price_close(cell.text, fair_odds), key
    assert len(browser.find_elements(By.CSS_SELECTOR, "#asian-handicap td[data-key]")) == 2 * 21

    model = browser.find_element(By.ID, "model")
    assert model.get_attribute("data-version") == odds["model"]["version"]
    assert odds["model"]["data_through"] in model.text and odds["model"]["version"] in model.text


def test_the_page_offers_the_competitions_with_odds_and_names_those_on_their_way(browser: Any, site: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, WAIT_SECONDS)
    browser.get(site + "?competition=E0&home=CHE&away=TOT")
    wait.until(lambda d: d.find_element(By.ID, "result").get_attribute("data-fixture") == "CHE-TOT")
    offered = [option.get_attribute("value") for option in Select(browser.find_element(By.ID, "competition")).options]
    assert offered == ["E0"]  # of the five served, only E0 has published odds
    pending = browser.find_element(By.ID, "pending")
    assert pending.text == "On their way (no odds yet): Bundesliga (D1), Ligue 1 (F1), Serie A (I1), La Liga (SP1)."


@pytest.mark.parametrize(
    ("competition", "said"),
    [
        ("sp1", "La Liga (SP1) is on its way: no odds are published for it yet."),
        ("X9", "Competition X9 is not served here."),
    ],
)
def test_a_deep_link_to_a_competition_without_odds_says_why(
    browser: Any, site: str, competition: str, said: str
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 20)
    browser.get(site + f"?competition={competition}&home=CHE&away=TOT")
    wait.until(lambda d: d.find_element(By.ID, "status").text == said)
    assert not browser.find_element(By.ID, "result").is_displayed()
    # The visitor can still pick the competition that has odds, and the deep link's teams come with it.
    pick(browser, "competition", "E0")
    wait.until(lambda d: d.find_element(By.ID, "result").get_attribute("data-fixture") == "CHE-TOT")
