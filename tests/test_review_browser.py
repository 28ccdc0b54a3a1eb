"""The client gallery in a real browser: Debian's chromium, headless, driven by Playwright for Python.

The page is opened from file:// with no server. Screenshots at desktop and phone size go to test-output/.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from retouch import record, review
from test_review import HOSTILE, make_review_folder

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is not installed (pip install playwright; it drives "
                                  "Debian's chromium, never run `playwright install`)")
CHROMIUM = shutil.which("chromium")
pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                                          "(apt-get install -y chromium)"),
              pytest.mark.timeout(120)]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OUTPUT = Path(__file__).resolve().parents[1] / "test-output"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, review.Gallery]:
    root = tmp_path_factory.mktemp("review-browser")
    out_dir = make_review_folder(root)
    return out_dir, review.build_gallery(out_dir, root / "gallery", title="Smith family, June")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS, timeout=60_000)
        yield chromium
        chromium.close()


class Watch:
    """Everything a page did that a self-contained, offline, safe page must not do."""

    def __init__(self, page):
        self.requests, self.failed, self.errors, self.dialogs = [], [], [], []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("requestfailed", lambda request: self.failed.append(f"{request.url}: {request.failure}"))
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))

    def assert_clean(self):
        assert self.failed == [] and self.errors == [] and self.dialogs == []
        assert all(url.startswith(("file://", "blob:", "data:")) for url in self.requests), self.requests


@pytest.fixture
def open_gallery(browser, built):
    """open_gallery(**context options) -> (page, watch), the gallery loaded from file://."""
    contexts = []

    def opener(**options):
        context = browser.new_context(accept_downloads=True, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        watch = Watch(page)
        page.goto(built[1].index.as_uri())
        return page, watch

    yield opener
    for context in contexts:
        context.close()


def _card(page, gallery: review.Gallery, file: str):
    number = next(photo.number for photo in gallery.photos if photo.file == file)
    card = page.locator(f"#photo-{number}")
    card.scroll_into_view_if_needed()
    return card


def _load_every_image(page) -> None:
    for image in page.locator("img").all():
        image.scroll_into_view_if_needed()
    page.wait_for_function("[...document.images].every(i => i.complete && i.naturalWidth > 0)")


def _strip_brightness(card, page, left: float, right: float) -> float:
    """Mean grey level of the stage between fractions `left` and `right` of its width (a screenshot)."""
    box = card.locator(".stage").bounding_box()
    clip = {"x": box["x"] + left * box["width"], "y": box["y"] + 0.1 * box["height"],
            "width": (right - left) * box["width"], "height": 0.8 * box["height"]}
    return float(np.asarray(Image.open(BytesIO(page.screenshot(clip=clip))).convert("L")).mean())


def test_page_loads_from_file_with_no_network_and_no_errors(open_gallery):
    page, watch = open_gallery(viewport=DESKTOP)
    _load_every_image(page)
    assert page.locator("article.photo").count() == 4
    assert page.locator("#progress").text_content() == "0 of 4 photos reviewed"
    watch.assert_clean()
    assert any(url.endswith(".before.jpg") for url in watch.requests)


def test_dragging_the_slider_shows_more_of_the_retouch(open_gallery, built):
    page, watch = open_gallery(viewport=DESKTOP)
    card = _card(page, built[1], "astronaut.jpg")
    page.wait_for_function("[...document.querySelectorAll('.stage img')].slice(0, 2).every(i => i.complete)")
    divider = card.get_by_role("slider")
    assert divider.get_attribute("aria-valuenow") == "50"
    before = _strip_brightness(card, page, 0.25, 0.45)             # left of the divider: the original
    grip = card.locator(".grip").bounding_box()
    stage = card.locator(".stage").bounding_box()
    page.mouse.move(grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2)
    page.mouse.down()
    page.mouse.move(stage["x"] + 0.2 * stage["width"], grip["y"], steps=8)
    page.mouse.up()
    assert abs(int(divider.get_attribute("aria-valuenow")) - 20) <= 1
    after = _strip_brightness(card, page, 0.25, 0.45)               # now the retouched (lifted) photo
    assert after - before > 8, (before, after)
    watch.assert_clean()


def test_slider_keyboard_and_toggle(open_gallery, built):
    page, _ = open_gallery(viewport=DESKTOP)
    card = _card(page, built[1], "astronaut.jpg")
    divider = card.get_by_role("slider")
    divider.focus()
    for key, value in [("End", "100"), ("Home", "0"), ("ArrowRight", "2"), ("Shift+ArrowRight", "12"),
                       ("ArrowLeft", "10"), ("PageUp", "20")]:
        page.keyboard.press(key)
        assert divider.get_attribute("aria-valuenow") == value, key
    assert divider.get_attribute("aria-valuetext") == "20% before, 80% after"
    toggle = card.locator("button.toggle")
    assert toggle.text_content() == "Show before"
    toggle.click()
    assert divider.get_attribute("aria-valuenow") == "100" and toggle.text_content() == "Show after"
    toggle.click()
    assert divider.get_attribute("aria-valuenow") == "0"


def test_zoom_enlarges_the_photo_and_lets_it_scroll(open_gallery, built):
    page, _ = open_gallery(viewport=DESKTOP)
    card = _card(page, built[1], "grace_hopper.jpg")
    fit = card.locator(".stage").bounding_box()["width"]
    card.get_by_role("button", name="2×").click()
    assert card.locator(".stage").bounding_box()["width"] == pytest.approx(2 * fit, abs=2)
    assert card.get_by_role("button", name="2×").get_attribute("aria-pressed") == "true"
    # a portrait photo: at 2x it is taller than its frame and opens scrolled to its middle
    assert card.locator(".viewport").evaluate("v => v.scrollHeight > v.clientHeight && v.scrollTop > 0")
    card.get_by_role("button", name="4×").click()                   # wider than its frame too, still centred
    offsets = card.locator(".viewport").evaluate(
        "v => [v.scrollLeft - (v.scrollWidth - v.clientWidth) / 2, v.scrollTop - (v.scrollHeight - v.clientHeight) / 2]")
    assert all(abs(offset) <= 2 for offset in offsets), offsets
    card.get_by_role("button", name="Fit").click()
    assert card.locator(".stage").bounding_box()["width"] == pytest.approx(fit, abs=2)


def test_tap_switches_before_and_after_on_a_phone(open_gallery, built):
    page, watch = open_gallery(**PHONE)
    card = _card(page, built[1], "astronaut.jpg")
    divider = card.get_by_role("slider")
    stage = card.locator(".stage")
    box = stage.bounding_box()
    stage.tap(position={"x": 0.8 * box["width"], "y": 0.5 * box["height"]})
    assert divider.get_attribute("aria-valuenow") == "100"
    stage.tap(position={"x": 0.8 * box["width"], "y": 0.5 * box["height"]})
    assert divider.get_attribute("aria-valuenow") == "0"
    watch.assert_clean()


def test_approve_comment_export_reload_and_import(open_gallery, built, tmp_path):
    out_dir, gallery = built
    page, watch = open_gallery(viewport=DESKTOP)
    page.locator("#export").click()
    assert "Nothing to download yet" in page.locator("#export-status").text_content()

    _card(page, gallery, "astronaut.jpg").get_by_label("Approved").check()
    hostile = _card(page, gallery, HOSTILE)
    hostile.get_by_label("Needs changes").check()
    hostile.get_by_label("Comment").fill("Softer shadow please <b>bold</b>")
    assert page.locator("#progress").text_content() == "2 of 4 photos reviewed"
    with page.expect_download() as pending:
        page.locator("#export").click()
    download = pending.value
    assert download.suggested_filename == "decisions.json"
    saved = tmp_path / "decisions.json"
    download.save_as(saved)
    decisions = json.loads(saved.read_text(encoding="utf-8"))
    assert decisions["gallery_id"] == gallery.gallery_id == review.gallery_id(out_dir)
    assert [(p["file"], p["decision"], p["comment"]) for p in decisions["photos"]] == [   # gallery order
        (HOSTILE, "needs changes", "Softer shadow please <b>bold</b>"), ("astronaut.jpg", "approved", "")]
    assert all(dt.datetime.fromisoformat(p["time"]) for p in decisions["photos"])

    page.reload()                                                   # choices survive in localStorage
    assert _card(page, gallery, "astronaut.jpg").get_by_label("Approved").is_checked()
    assert _card(page, gallery, HOSTILE).get_by_label("Comment").input_value() == "Softer shadow please <b>bold</b>"
    assert page.locator("#progress").text_content() == "2 of 4 photos reviewed"
    watch.assert_clean()

    copy = shutil.copytree(out_dir, tmp_path / "out")
    review.import_decisions(saved, copy)
    assert record.read(copy / "astronaut.jpg")["review"]["decision"] == "approved"
    changes = record.read(copy / HOSTILE)["review"]
    assert (changes["decision"], changes["comment"], changes["source"]) == (
        "needs changes", "Softer shadow please <b>bold</b>", "client")


def test_hostile_file_name_is_shown_as_text_and_never_runs(open_gallery, built):
    page, watch = open_gallery(viewport=DESKTOP)
    _load_every_image(page)
    card = _card(page, built[1], HOSTILE)
    assert card.locator("h2").text_content() == HOSTILE
    assert page.get_by_text(HOSTILE, exact=True).count() == 2       # card title and thumbnail strip
    assert page.locator('img[src="x"]').count() == 0
    card.get_by_label("Comment").fill('<img src=y onerror=alert(2)>')
    page.reload()
    _load_every_image(page)
    assert page.locator('img[src="y"]').count() == 0
    watch.assert_clean()


@pytest.mark.parametrize("name, options", [("desktop", {"viewport": DESKTOP}), ("phone", PHONE)])
def test_screenshots_fit_the_screen(open_gallery, built, name, options):
    """The page is as wide as the screen (no sideways scrolling); the screenshots are for a person to look at."""
    page, watch = open_gallery(**options)
    card = _card(page, built[1], "astronaut.jpg")
    card.get_by_label("Approved").check()
    page.wait_for_function("[...document.querySelectorAll('#photo-1 img, .strip img')].every(i => i.complete)")
    width = options["viewport"]["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.evaluate("window.scrollTo(0, 0)")
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=OUTPUT / f"review_{name}.png")
    card.evaluate("card => card.scrollIntoView()")                 # honours the sticky header's margin
    page.screenshot(path=OUTPUT / f"review_{name}_photo.png")
    watch.assert_clean()
