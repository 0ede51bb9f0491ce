"""The web page in a real browser: Debian's chromium, headless, driven by selenium through
Debian's chromedriver (never a browser or driver selenium downloads).

The real app runs under uvicorn on a loopback port against a temporary home whose catalog holds
signed images with Chinese prompts. The checks are on what a person sees: the verdict of a signed
upload, the reason a tampered copy fails, the thumbnails a Chinese search finds, a record page,
the knowledge base, and the language switch. A missing chromium fails the test (CI installs it
with ``scripts/test.sh``); it is not skipped.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from provenance import (
    Attestation,
    KeyRing,
    KeyRingPolicy,
    draft_from_attestation,
    finalize,
    verify,
)
from provenance.catalog.store import Catalog
from provenance.report import Status
from tests import pngtools
from tests.conftest import sample_image

STATIC = Path(__file__).resolve().parents[3] / "api" / "service" / "static"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WAIT_S = 20.0
TOKEN = "page-test-token"

#: The word searched for; every prompt but one holds it.
WORD = "橘猫"
PROMPTS = [
    "一只橘猫坐在窗台上，高清照片, oil painting",
    # Hostile markup is ordinary input: it must show as text and never run.
    '<img src=x onerror="window.__pwned=1"> 橘猫 in the snow, watercolor',
    "a red fox in a pine forest, photo",
]


@dataclass
class PageSite:
    base_url: str
    home: Path
    files: list[Path]
    record_ids: list[str]
    policy: KeyRingPolicy


def _require_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if missing:
        pytest.fail(
            f"the browser test needs Debian's chromium and chromedriver; missing: "
            f"{', '.join(missing)}. Install them with `apt-get install -y chromium "
            f"chromium-driver` (scripts/test.sh does).",
            pytrace=False,
        )


def build_home(home: Path) -> tuple[list[Path], list[str], KeyRingPolicy]:
    """A key ring and a catalog holding one signed PNG per prompt of :data:`PROMPTS`."""
    ring = KeyRing.open(home / "keys")
    ring.init()
    key = ring.signing_key()
    files, ids = [], []
    with Catalog.open(f"sqlite:///{home / 'catalog.sqlite'}") as catalog:
        for i, prompt in enumerate(PROMPTS):
            draft = draft_from_attestation(
                Attestation(
                    prompt=prompt,
                    negative_prompt="模糊, blurry",
                    seed=42 + i,
                    steps=8,
                    cfg_scale=0.0,
                    model="Z-Image-Turbo",
                    sampler="Euler",
                )
            )
            # a measured time, as the generator records it: the history view charts it
            draft["performance"] = {"generation_time": 1.5 + i, "memory_usage_mb": None}
            result = finalize(
                sample_image(i, (160, 128)),
                draft,
                key,
                home / "images" / f"image-{i}.png",
                catalog=catalog,
            )
            files.append(result.path)
            ids.append(result.record_id)
    return files, ids, KeyRingPolicy(ring)


def serve(home: Path, **settings: Any) -> Iterator[str]:
    """Run the real app on ``home`` under uvicorn on a free loopback port; yield its URL."""
    import uvicorn

    from api.service.app import create_app
    from api.service.settings import ServiceSettings

    app = create_app(
        ServiceSettings(
            home=home,
            token_hashes=[sha256(TOKEN.encode()).hexdigest()],
            **settings,
        )
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan="on", ws="none", http="h11", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the service did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def page_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageSite]:
    home = tmp_path_factory.mktemp("page-home")
    files, ids, policy = build_home(home)
    for base_url in serve(home):
        yield PageSite(base_url, home, files, ids, policy)


def make_driver(language: str = "en-US") -> WebDriver:
    """Headless chromium through Debian's chromedriver; selenium-manager is never consulted."""
    _require_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-extensions",
        "--no-first-run",
        "--window-size=1280,1000",
        f"--lang={language}",
    ):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    # With the driver's path given selenium skips selenium-manager; SE_OFFLINE would stop it
    # from downloading anything even if it ran.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SE_OFFLINE", "true")
        return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    driver = make_driver()
    try:
        yield driver
    finally:
        driver.quit()


# --- helpers ------------------------------------------------------------------------------------


def _wait(driver: WebDriver, condition: Callable[[WebDriver], object], message: str) -> object:
    return WebDriverWait(driver, WAIT_S, poll_frequency=0.05).until(condition, message)


def _css(driver: WebDriver, selector: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, selector)


def _visible_text(driver: WebDriver, selector: str) -> str:
    found = driver.find_elements(By.CSS_SELECTOR, selector)
    return "\n".join(e.text for e in found if e.is_displayed())


def _open(driver: WebDriver, url: str, language: str = "en") -> None:
    """Load ``url`` with the page's language chosen (remembered in localStorage, which is set
    from a static file of the same origin first, so no page load is cut short)."""
    origin = url.split("#", 1)[0].rstrip("/")
    driver.get(f"{origin}/static/favicon.svg")
    driver.execute_script("localStorage.setItem('aigc-prov.lang', arguments[0]);", language)
    driver.get(url)
    _wait(driver, lambda d: _visible_text(d, "#header nav"), "the page did not render")


def _upload(driver: WebDriver, path: Path) -> str:
    """Choose ``path`` in the verify view and return the status shown once the report is in."""
    _css(driver, "#verify-file").send_keys(str(path))
    _wait(
        driver,
        lambda d: _visible_text(d, "#report [data-testid=status]"),
        f"no verdict shown for {path.name}",
    )
    return _visible_text(driver, "#report [data-testid=status]")


def _image_loaded(driver: WebDriver) -> bool:
    return bool(
        driver.execute_script(
            "const i = document.querySelector('img.record-image');"
            "return !!i && i.complete && i.naturalWidth === 160;"
        )
    )


def _no_error(driver: WebDriver) -> None:
    errors = _visible_text(driver, ".alert-error")
    assert not errors, errors


# --- tests --------------------------------------------------------------------------------------


def test_signed_upload_is_verified(page_site: PageSite, browser: WebDriver) -> None:
    _open(browser, page_site.base_url)
    assert _upload(browser, page_site.files[0]) == "verified"
    verdict = _visible_text(browser, "#report .verdict")
    assert "Verified" in verdict
    assert "signed by a trusted key; file and record unchanged" in verdict
    report = _visible_text(browser, "#report")
    # The signer, and each finding with its code and sentence.
    ring = KeyRing.open(page_site.home / "keys")
    assert ring.signing_key().key_id in report
    # The key's status and whether it is trusted, as pills.
    pills = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#report .pill")]
    assert "active" in pills and "yes" in pills, pills
    assert "Key status" in report and "Trusted" in report
    for finding in verify(page_site.files[0], policy=page_site.policy).findings:
        assert finding.code in report and finding.message in report
    # The record's fields come from the catalog, Chinese intact.
    _wait(browser, lambda d: PROMPTS[0] in _visible_text(d, "#report"), "prompt not shown")
    record = _visible_text(browser, "#report")
    assert "模糊, blurry" in record and "Z-Image-Turbo" in record and "160 × 128" in record
    _wait(
        browser,
        lambda d: "this record has no parent" in _visible_text(d, "#report .lineage"),
        "lineage not shown",
    )
    _no_error(browser)


def test_tampered_upload_shows_the_reason(
    page_site: PageSite, browser: WebDriver, tmp_path: Path
) -> None:
    tampered = tmp_path / "tampered.png"
    tampered.write_bytes(
        pngtools.flip_pixel_byte(page_site.files[0].read_bytes(), row=5, column_byte=10)
    )
    reason = next(
        f.message
        for f in verify(tampered, policy=page_site.policy).findings
        if f.kind == "failure" and f.code == "content_altered"
    )
    _open(browser, page_site.base_url)
    assert _upload(browser, tampered) == "content_altered"
    assert "the pixels differ from the signed record" in _visible_text(browser, "#report .verdict")
    findings = _visible_text(browser, "#report .findings")
    assert reason in findings, findings
    assert "decoded pixels differ" in reason


def test_chinese_search_shows_thumbnails(page_site: PageSite, browser: WebDriver) -> None:
    _open(browser, page_site.base_url + "#/search")
    box = _css(browser, "#search-q")
    box.send_keys(WORD)
    box.submit()
    _wait(browser, lambda d: "2 shown" in _visible_text(d, "main"), "no search results")
    prompts = _visible_text(browser, "#results .result-prompt")
    assert "一只橘猫坐在窗台上" in prompts
    assert '<img src=x onerror="window.__pwned=1">' in prompts  # shown as text
    assert "red fox" not in prompts
    _wait(
        browser,
        lambda d: d.execute_script(
            "const imgs = [...document.querySelectorAll('#results img.thumb')];"
            "return imgs.length === 2 && imgs.every(i => i.complete && i.naturalWidth > 0);"
        ),
        "thumbnails did not load",
    )
    assert browser.execute_script("return window.__pwned === undefined")
    _no_error(browser)


def test_search_filters_narrow_the_results(page_site: PageSite, browser: WebDriver) -> None:
    _open(browser, page_site.base_url + "#/search")
    _css(browser, "details.filters summary").click()
    _css(browser, "#search-q").send_keys(WORD)
    _css(browser, "#f-seed").send_keys("43")  # the second prompt's seed
    _css(browser, "#search-q").submit()
    _wait(browser, lambda d: "1 shown" in _visible_text(d, "main"), "filtered results not shown")
    assert "seed=43" in browser.current_url
    prompts = _visible_text(browser, "#results .result-prompt")
    assert "in the snow, watercolor" in prompts and "窗台" not in prompts
    _css(browser, "#f-seed").clear()
    _css(browser, "#f-model").send_keys("no-such-model")
    _css(browser, "#search-q").submit()
    _wait(browser, lambda d: not _visible_text(d, "#results .result-prompt"), "not narrowed")
    assert "model=no-such-model" in browser.current_url
    _no_error(browser)


def test_a_dropped_file_is_verified(page_site: PageSite, browser: WebDriver) -> None:
    _open(browser, page_site.base_url)
    data = page_site.files[1].read_bytes()
    browser.execute_script(
        "const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));"
        "const transfer = new DataTransfer();"
        "transfer.items.add(new File([bytes], 'dropped.png', {type: 'image/png'}));"
        "const zone = document.getElementById('dropzone');"
        "zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: transfer, bubbles: true,"
        " cancelable: true}));"
        "zone.dispatchEvent(new DragEvent('drop', {dataTransfer: transfer, bubbles: true,"
        " cancelable: true}));",
        base64.b64encode(data).decode("ascii"),
    )
    _wait(
        browser,
        lambda d: _visible_text(d, "#report [data-testid=status]") == "verified",
        "no verdict for the dropped file",
    )
    _wait(browser, lambda d: "in the snow" in _visible_text(d, "#report"), "record not shown")
    assert "dropped.png" in _visible_text(browser, "#report")
    _no_error(browser)


def test_record_page_and_knowledge_base(page_site: PageSite, browser: WebDriver) -> None:
    _open(browser, page_site.base_url + f"#/records/{page_site.record_ids[0]}")
    _wait(browser, lambda d: PROMPTS[0] in _visible_text(d, "main"), "record page not shown")
    _wait(browser, _image_loaded, "the record's image did not load")
    _open(browser, page_site.base_url + "#/kb")
    _wait(
        browser,
        lambda d: (
            "Z-Image-Turbo" in _visible_text(d, "#kb-params")
            and "oil painting" in _visible_text(d, "#kb-prompts")
            and "watercolor" in _visible_text(d, "#kb-styles")
            and _visible_text(d, "#kb-history")
        ),
        "knowledge base not shown",
    )
    # Style keywords: one of the three prompts is an oil painting, one a watercolor; each style
    # is a bar as long as its share, and its keywords link to a search.
    bars = browser.execute_script(
        "return [...document.querySelectorAll('#kb-styles .bar')].map(b => [b.querySelector("
        "'.bar-label').textContent, b.querySelector('.bar-value').textContent, "
        "b.querySelector('.bar-fill').getBoundingClientRect().width / "
        "b.querySelector('.bar-track').getBoundingClientRect().width]);"
    )
    shown = {label: (text, share) for label, text, share in bars}
    for style in ("oil-painting", "watercolor"):
        text, share = shown[style]
        assert text == "33.3% (1)" and abs(share - 1 / 3) < 0.02, shown[style]
    assert shown["anime"][0] == "0% (0)" and shown["anime"][1] < 0.01
    group = browser.find_element(
        By.XPATH, "//*[@id='kb-styles']//div[@class='keyword-group'][h3='oil-painting']"
    )
    links = group.find_elements(By.CSS_SELECTOR, "a.pill")
    assert [a.text for a in links] == ["oil painting 1"]
    assert str(links[0].get_attribute("href")).endswith("#/search?q=oil+painting")
    # Parameters per model: a range chart; history: a column chart, both drawn as SVG.
    assert browser.find_elements(By.CSS_SELECTOR, "#kb-params svg.range")
    columns = browser.find_elements(By.CSS_SELECTOR, "#kb-history svg.columns-chart rect.column")
    heights = sorted(float(c.get_attribute("height") or "nan") for c in columns)
    assert len(heights) == 3 and heights[0] < heights[1] < heights[2]  # 1.5 s, 2.5 s, 3.5 s
    _no_error(browser)


def test_rating_with_a_token(page_site: PageSite, browser: WebDriver) -> None:
    record_id = page_site.record_ids[2]
    _open(browser, page_site.base_url + f"#/records/{record_id}")
    _wait(browser, lambda d: "not rated" in _visible_text(d, "main"), "no rating widget")
    _css(browser, ".rating .star:nth-child(4)").click()
    # Without a token the page asks for one and opens the token form.
    _wait(browser, lambda d: "needs a token" in _visible_text(d, "main"), "no token request")
    _css(browser, "#token-input").send_keys(TOKEN)
    _css(browser, ".token-form button[type=submit]").click()
    _wait(browser, lambda d: "Token set" in _visible_text(d, "#token-toggle"), "token not kept")
    _css(browser, ".rating .star:nth-child(4)").click()
    _wait(browser, lambda d: "Rated 4/5." in _visible_text(d, "main"), "rating not confirmed")
    _wait(browser, _image_loaded, "the record's image did not load")
    with Catalog.open(f"sqlite:///{page_site.home / 'catalog.sqlite'}", create=False) as catalog:
        row = catalog.get(record_id)
    assert row is not None and row.rating == 4
    browser.execute_script("sessionStorage.clear();")


def test_too_large_upload_shows_the_message(page_site: PageSite, browser: WebDriver) -> None:
    for base_url in serve(page_site.home, max_upload_bytes=1000):
        _open(browser, base_url)
        _css(browser, "#verify-file").send_keys(str(page_site.files[0]))
        _wait(browser, lambda d: _visible_text(d, ".alert-error"), "no error shown")
        shown = _visible_text(browser, ".alert-error")
        assert "413" in shown and "1000" in shown.replace(",", ""), shown


def test_language_switch(page_site: PageSite, browser: WebDriver) -> None:
    _open(browser, page_site.base_url)
    root = _css(browser, "html")
    assert root.get_attribute("lang") == "en"
    assert "Verify an image" in _visible_text(browser, "main h1")
    _css(browser, "#lang-toggle").click()
    _wait(browser, lambda d: _visible_text(d, "main h1") == "验证图片", "no Chinese heading")
    assert root.get_attribute("lang") == "zh-CN"
    assert "搜索" in _visible_text(browser, "#header nav")
    _css(browser, "#lang-toggle").click()
    _wait(browser, lambda d: _visible_text(d, "main h1") == "Verify an image", "no English")


def test_default_language_follows_the_browser(page_site: PageSite) -> None:
    driver = make_driver("zh-CN")
    try:
        driver.get(page_site.base_url + "#/search")
        _wait(driver, lambda d: _visible_text(d, "main h1") == "搜索目录", "not in Chinese")
        assert _css(driver, "html").get_attribute("lang") == "zh-CN"
        assert (_css(driver, "#search-q").get_attribute("placeholder") or "").startswith("提示词")
    finally:
        driver.quit()


def test_missing_browser_fails_with_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(f"{__name__}.CHROMIUM", Path("/nonexistent/chromium"))
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y chromium"):
        _require_browser()


def _page_strings() -> dict[str, dict[str, str]]:
    """The page's UI strings per language, read from ``i18n.js`` (one ``"key": "text",`` a line)."""
    source = (STATIC / "i18n.js").read_text(encoding="utf-8")
    tables: dict[str, dict[str, str]] = {}
    for lang, body in re.findall(r"^  (en|zh): \{\n(.*?)^  \},", source, re.M | re.S):
        pairs = re.findall(r'^    ("[^"]+"): ("(?:[^"\\]|\\.)*"),$', body, re.M)
        tables[lang] = {json.loads(k): json.loads(v) for k, v in pairs}
    return tables


def test_page_names_and_describes_every_status() -> None:
    """Each status has a name and a sentence in both languages; the English sentence is the
    library's own (``Status.describe()``)."""
    strings = _page_strings()
    assert set(strings) == {"en", "zh"} and len(strings["en"]) > 100
    assert strings["en"].keys() == strings["zh"].keys()
    for status in Status:
        assert strings["en"][f"describe.{status.value}"] == status.describe()
        for lang in ("en", "zh"):
            assert strings[lang][f"status.{status.value}"]
            assert strings[lang][f"describe.{status.value}"]
