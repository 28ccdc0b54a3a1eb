"""The review app, driven offscreen with pytest-qt on a folder of the public-domain portraits.

One window is shared by the module (opening a photo analyses it: seconds, not milliseconds); each
test selects the photo it needs. The window is grabbed to test-output/gui_window.png for a person.
"""
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"     # before Qt is first imported

import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402
import PySide6  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtWidgets import QLabel  # noqa: E402

from retouch import presets, record  # noqa: E402
from retouch.color import to_lab  # noqa: E402
from retouch.measure import worst  # noqa: E402
from retouch.pipeline import StepReport  # noqa: E402

from gui import photo_folder  # noqa: E402
from gui.panels import EditPanel, explain, measure_rows  # noqa: E402
from gui.settings import Spots, build_preset, controls, initial, markers, marks_of, slack  # noqa: E402
from gui.window import ReviewWindow  # noqa: E402
from gui.worker import Worker  # noqa: E402

from portraits import OBAMA_MOLE, OUTPUT  # noqa: E402

pytestmark = pytest.mark.timeout(240)
RENDER_MS = 120_000          # a guarded render on a busy 2-core machine can take a while


@pytest.fixture(scope="module")
def folder(tmp_path_factory, astronaut_rgb, grace_hopper_rgb):
    """A session: both portraits as JPEGs, a file that is not a photo, and a photo with no face."""
    path = tmp_path_factory.mktemp("gui_session")
    Image.fromarray(astronaut_rgb).save(path / "astronaut.jpg", quality=95)
    Image.fromarray(grace_hopper_rgb).save(path / "grace_hopper.jpg", quality=95)
    (path / "broken.jpg").write_bytes(b"this is not a jpeg")
    sky = np.linspace([40, 90, 200], [230, 200, 150], 240).astype(np.uint8)     # a plain gradient
    Image.fromarray(np.repeat(sky[:, None], 320, axis=1)).save(path / "sky.png")
    return path


@pytest.fixture(scope="module")
def window(qapp, folder):
    shown = ReviewWindow()
    shown.resize(1400, 900)
    shown.show()
    yield shown
    shown.close()


def _measured(qtbot, window, action) -> int:
    """Run `action` and wait until its guarded render and measures are on screen; the serial."""
    with qtbot.waitSignal(window.measuresShown, timeout=RENDER_MS) as blocker:
        action()
    return blocker.args[0]


def _own(window) -> list[str]:
    """The kinds of the user's own markers drawn (spots and points; not blemish's marks)."""
    return [marker.kind for marker in window.view.markers if marker.mark is None]


def _protected_at(window, x: float, y: float) -> bool:
    """A protected point is drawn at proxy (x, y): on its own, or as the mark it keeps."""
    return any(m.kind in ("protect", "kept by choice") and np.hypot(m.x - x, m.y - y) < 12
               for m in window.view.markers)


def _select(qtbot, window, name: str) -> None:
    """Show the photo named `name` (its output's name, or its original's) with its measures."""
    row = next(i for i, e in enumerate(window.entries) if name in (e.name, e.original.name))
    if window.index == row and window.result is not None:
        return
    _measured(qtbot, window, lambda: window.strip.setCurrentRow(row))


def test_the_qt_binding_keeps_its_references_to_none(qapp):
    """PySide6 6.12.0 under Python 3.11 drops a reference to None on every call of a method returning
    nothing (setText, update, every painter call): after a few thousand, Python aborts with
    'deallocating None'. The app needs a binding without that bug (6.11.3 is fine)."""
    label = QLabel()
    before = sys.getrefcount(None)
    for _ in range(500):
        label.setText("x")
        label.update()
    lost = before - sys.getrefcount(None)
    assert lost < 50, (f"PySide6 {PySide6.__version__} lost {lost} references to None in 1000 calls: "
                       "the app would crash with 'deallocating None'; pin pyside6-essentials<6.12")


# --- plain data: no window needed --------------------------------------------------------------------

@pytest.mark.parametrize("entry_record, problem, expected", [
    (None, "x.jpg: not an image", "failed"),
    (None, "", "original"),
    ({"steps": [{"status": "applied"}], "warnings": []}, "", "retouched"),
    ({"steps": [{"status": "applied"}, {"status": "backed off"}], "warnings": []}, "", "backed off"),
    ({"steps": [], "warnings": ["no face found: face edits skipped"]}, "", "no face"),
    ({"steps": [{"status": "dropped"}], "review": {"decision": "approved"}}, "", "approved"),
])
def test_badge_says_the_most_important_thing(entry_record, problem, expected):
    assert photo_folder.badge(entry_record, problem) == expected


def test_discover_pairs_outputs_with_their_originals(tmp_path, astronaut_rgb):
    originals, outputs = tmp_path / "session", tmp_path / "out"
    originals.mkdir(), outputs.mkdir()
    Image.fromarray(astronaut_rgb).save(originals / "a.jpg")
    Image.fromarray(astronaut_rgb).save(outputs / "a.jpg")
    Image.fromarray(astronaut_rgb).save(outputs / "stray.png")
    result = {"preset": "natural", "preset_digest": "0" * 64, "faces": 1, "summary": {}, "budget": {},
              "steps": [{"edit": "skin", "requested": 0.5, "applied": 0.3, "status": "backed off",
                         "bound_by": ["texture"], "metrics": {}, "note": ""}], "metrics": {}, "warnings": []}
    entry = record.build(result, input_path=originals / "a.jpg", input_sha256="", output_path=outputs / "a.jpg",
                         preset_summary={"steps": [{"edit": "skin", "strength": 0.3, "params": {}}]})
    record.write(entry, outputs / "a.jpg")
    entries = photo_folder.discover(outputs)
    assert [(e.original, e.output, e.badge) for e in entries] == [
        (originals / "a.jpg", outputs / "a.jpg", "backed off"), (outputs / "stray.png", None, "original")]
    assert record.settings_of(entries[0].record) == {"skin": {"strength": 0.3, "params": {}}}


def test_every_slider_ends_at_the_declared_hard_maximum(qtbot):
    base = presets.load("natural")
    table = controls(base)
    panel = EditPanel(table)
    qtbot.addWidget(panel)
    states, spots = initial(base)
    panel.set_state(states)
    checked = 0
    for name, control in table.items():
        for key, declaration in control.sliders.items():
            slider = panel.sliders[name][key]
            assert slider.maximum() == declaration.limit, f"{name}.{key}"
            assert slider.minimum() == declaration.lo, f"{name}.{key}"
            slider.setValue(declaration.limit + 10)          # beyond the limit: held at the limit
            assert slider.value() == declaration.limit
            slider.slider.setValue(slider.slider.maximum())  # the user drags to the end
            assert slider.value() == declaration.limit
            checked += 1
    assert checked >= 12 and set(table) >= {"blemish", "skin", "light"}
    # the panel at its extremes still builds a preset the library accepts
    for group in panel.groups.values():
        group.setChecked(True)
    assert len(build_preset(base, panel.state(), spots).steps) == len(table)


def test_spots_toggle_and_scale_to_the_proxy():
    spots = Spots()
    assert spots.toggle("heal", 100, 50, 4) == "added"
    assert spots.toggle("protect", 200, 80, 4) == "added"
    assert spots.values(0.5) == {"spots": ((50.0, 25.0, 2.0),), "keep_marks": ((100.0, 40.0),), "heal_marks": ()}
    assert spots.toggle("heal", 101, 51, 4) == "removed" and spots.heal == []


def test_marks_from_a_proxy_render_flip_in_full_resolution_pixels():
    """blemish reports marks in the pixels of the frame it ran on (the proxy's): the app keeps them, and
    the choices a click makes, in full-resolution pixels, and scales both back for the view and the render."""
    entries = [{"x": 100.0, "y": 50.0, "radius": 2.0, "class": "permanent", "kind": "mole", "action": "kept"},
               {"x": 30.0, "y": 40.0, "radius": 1.5, "class": "temporary", "kind": "pimple", "action": "healed"},
               {"x": 70.0, "y": 70.0, "radius": 3.0, "class": "chosen", "kind": "spot drawn by hand",
                "action": "healed by choice"}]
    steps = [StepReport("blemish", 1.0, 1.0, "applied", details={"marks": entries})]
    mole, pimple = marks_of(steps, 0.5)                      # the drawn spot is the user's own: left out
    assert (mole.x, mole.y, mole.radius, mole.action) == (200.0, 100.0, 4.0, "kept")
    assert (pimple.x, pimple.y, pimple.healed) == (60.0, 80.0, True)
    spots = Spots()
    assert spots.flip(mole, slack(0.5)) and spots.flip(pimple, slack(0.5))
    assert spots.heal_marks == [(200.0, 100.0)] and spots.protect == [(60.0, 80.0)]
    assert spots.values(0.5)["heal_marks"] == ((100.0, 50.0),) and spots.values(0.5)["keep_marks"] == ((30.0, 40.0),)
    shown = [mole.flipped(), pimple.flipped()]               # what a click shows until the render says
    assert [(m.action, m.pending) for m in shown] == [("healed by choice", True), ("kept by choice", True)]
    drawn = markers(spots, shown, 0.5, 4.0)
    assert [(m.kind, m.x, m.y, m.radius) for m in drawn] == [("healed by choice", 100.0, 50.0, 2.0),
                                                             ("kept by choice", 30.0, 40.0, 1.5)]
    # the choices go into the preset at full resolution and come back from a record
    base = presets.load("natural")
    states, _ = initial(base)
    params = build_preset(base, states, spots).step("blemish").params
    assert params.heal_marks == ((200.0, 100.0),) and params.keep_marks == ((60.0, 80.0),)
    recorded = {"blemish": {"strength": 1.0, "params": {"heal_marks": params.heal_marks,
                                                        "keep_marks": params.keep_marks}}}
    assert initial(base, recorded)[1] == spots
    # a second click takes each choice back; a choice the render did not follow is drawn on its own
    assert spots.flip(shown[0], slack(0.5)) and spots.flip(shown[1], slack(0.5))
    assert spots == Spots()
    spots.flip(mole, slack(0.5))
    assert [m.kind for m in markers(spots, [mole], 0.5, 4.0)] == ["heal mark", "kept"]


def test_latest_request_wins_and_stale_results_are_dropped(qtbot):
    worker = Worker()
    delivered = []
    def receive(kind, serial, stage, value):
        delivered.append((serial, stage))
        worker.acknowledge()

    worker.produced.connect(receive)
    worker.start()

    def slow(serial):
        def job():
            time.sleep(0.3)
            yield "preview", serial
            time.sleep(0.3)
            yield "guarded", serial
        return job

    worker.submit("render", 1, slow(1))
    time.sleep(0.1)                      # 1 is running
    for serial in (2, 3, 4):
        worker.submit("render", serial, slow(serial))
    qtbot.waitUntil(lambda: (4, "guarded") in delivered and worker.idle(), timeout=5000)
    worker.stop()
    assert delivered == [(1, "preview"), (4, "preview"), (4, "guarded")]


def test_a_full_resolution_render_gives_way_to_a_render(qtbot):
    """A running latest-wins job stops after its stage when a more urgent kind waits."""
    worker = Worker()
    delivered = []

    def receive(kind, serial, stage, value):
        delivered.append((kind, stage))
        worker.acknowledge()

    def staged(*stages):
        def job():
            for stage in stages:
                time.sleep(0.3)
                yield stage, None
        return job

    worker.produced.connect(receive)
    worker.start()
    worker.submit("full", 1, staged("before", "retouching", "after"))
    time.sleep(0.1)
    worker.submit("render", 2, staged("preview", "guarded"))
    qtbot.waitUntil(lambda: ("render", "guarded") in delivered and worker.idle(), timeout=5000)
    worker.stop()
    assert delivered == [("full", "before"), ("render", "preview"), ("render", "guarded")]


# --- the window ---------------------------------------------------------------------------------------

def test_opening_a_folder_shows_the_first_photo_with_its_measures(qtbot, window, folder):
    _measured(qtbot, window, lambda: window.open_folder(folder))
    assert [e.name for e in window.entries] == ["astronaut.jpg", "broken.jpg", "grace_hopper.jpg", "sky.png"]
    assert window.entry.name == "astronaut.jpg"
    assert window.view.before is not None and window.view.after is not None
    flat = worst(window.result.metrics)
    assert flat["identity"] >= window.base.budget["identity"]
    rows = measure_rows(flat, window.base.budget)
    assert [r[0] for r in rows][:2] == ["Identity (same person)", "Skin tone shift, mean dE"]
    assert window.measures.table.item(0, 1).text() == rows[0][1]
    assert all(ok for *_, ok in rows)
    assert "Old backdrop left at the edge" not in [r[0] for r in rows]     # natural replaces no background
    assert window.measures.table.rowCount() == len(rows)


def test_stepping_through_photos_shows_errors_in_the_status_area(qtbot, window, folder):
    _select(qtbot, window, "astronaut.jpg")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_Right)                      # the next-photo shortcut
    qtbot.waitUntil(lambda: "broken.jpg" in window.error.text(), timeout=RENDER_MS)
    assert window.entry.name == "broken.jpg" and window.entry.badge == "failed"
    assert "not an image" in window.error.text() and window.isVisible()
    _measured(qtbot, window, lambda: qtbot.keyClick(window, Qt.Key.Key_J))
    assert window.entry.name == "grace_hopper.jpg" and window.error.text() == ""
    _measured(qtbot, window, lambda: qtbot.keyClick(window, Qt.Key.Key_Right))
    assert window.entry.name == "sky.png" and window.entry.badge == "no face"
    assert "sky.png: no face found" in window.error.text()
    assert "no face measured" in window.measures.verdict.text()
    qtbot.keyClick(window, Qt.Key.Key_Left)                       # the previous-photo shortcut
    assert window.entry.name == "grace_hopper.jpg"
    qtbot.keyClick(window, Qt.Key.Key_Backslash)                 # before/after toggle
    assert window.view.before_only
    qtbot.keyClick(window, Qt.Key.Key_B)
    assert not window.view.before_only


def test_a_slider_re_renders_the_preview_and_the_measures_stay_within_budget(qtbot, window):
    _select(qtbot, window, "astronaut.jpg")
    before_change = window.result.pixels.copy()
    slider = window.panel.sliders["light"]["strength"]
    assert slider.maximum() == slider.declaration.limit
    with qtbot.waitSignal(window.previewShown, timeout=RENDER_MS):
        serial = _measured(qtbot, window, lambda: slider.slider.setValue(0))
    step = window.result.preset.step("light")
    assert step.strength == 0.0 and serial == window.serials.shown
    changed = np.abs(window.result.pixels - before_change).max()
    assert changed > 2 / 255, "moving light's strength to 0 changed nothing on screen"
    flat = worst(window.result.metrics)
    assert not window.base.budget.breaches(flat)
    assert all(s.applied <= s.requested <= window.base.step(s.edit).strength_limit.limit
               for s in window.result.steps)
    assert "light: skipped (strength 0)" in window.measures.steps.text()   # the pipeline skips a step at 0


def test_a_strength_slider_blends_again_without_running_the_edit(qtbot, window, calls):
    _select(qtbot, window, "astronaut.jpg")
    order = [step.edit for step in window.result.preset.steps]
    slider = window.panel.sliders["skin"]["strength"]
    calls.clear()
    with qtbot.waitSignal(window.previewShown, timeout=RENDER_MS):
        _measured(qtbot, window, lambda: slider.slider.setValue(slider.slider.value() - 20))
    assert window.result.preset.step("skin").strength == slider.value() < 0.4
    assert set(calls) == set(order[order.index("skin") + 1:]), "only the later edits ran, once each"
    assert all(count == 1 for count in calls.values())


def test_a_click_on_the_cheek_adds_a_manual_spot_and_another_removes_it(qtbot, window):
    _select(qtbot, window, "astronaut.jpg")
    prepared = window.prepared[window.entry.original]
    cheek = prepared.faces.items[0].landmarks[205]               # image-left cheek, proxy pixels
    window.set_tool("heal")
    point = window.view.to_widget(float(cheek[0]), float(cheek[1])).toPoint()
    _measured(qtbot, window, lambda: qtbot.mouseClick(window.view, Qt.MouseButton.LeftButton, pos=point))
    spots = window.result.preset.step("blemish").params.spots
    assert len(spots) == 1 and abs(spots[0][0] - cheek[0]) < 2 and abs(spots[0][1] - cheek[1]) < 2
    assert _own(window) == ["heal"]
    _measured(qtbot, window, lambda: qtbot.mouseClick(window.view, Qt.MouseButton.LeftButton, pos=point))
    assert _own(window) == [] and window.result.preset.step("blemish").params.spots == ()
    # a click off every face is refused, with a word in the status area
    window.view.clicked.emit(5.0, 5.0, Qt.KeyboardModifier.NoModifier)
    assert "no face" in window.message.text() and _own(window) == []
    # Shift+click protects a point instead (a mole), and it stays in the settings
    _measured(qtbot, window, lambda: qtbot.mouseClick(window.view, Qt.MouseButton.LeftButton,
                                                      Qt.KeyboardModifier.ShiftModifier, point))
    assert _protected_at(window, *cheek)
    assert len(window.result.preset.step("blemish").params.keep_marks) == 1
    window.set_tool("pan")


def test_approve_exports_and_stores_the_decision_in_the_record(qtbot, window, folder):
    _select(qtbot, window, "astronaut.jpg")
    window.comment.setText("lovely, keep the freckles")
    window.approve()
    target = folder / photo_folder.EXPORT_FOLDER / "astronaut.jpg"
    qtbot.waitUntil(lambda: window.entry.badge == "approved", timeout=RENDER_MS)
    stored = record.read(target)
    assert stored["review"]["decision"] == "approved" and stored["review"]["source"] == "photographer"
    assert stored["review"]["comment"] == "lovely, keep the freckles"
    assert stored["input"]["path"] == str(folder / "astronaut.jpg")
    steps = {s["edit"]: s for s in stored["preset"]["settings"]["steps"]}
    assert steps["light"]["strength"] == 0.0 and len(steps["blemish"]["params"]["keep_marks"]) == 1
    assert window.strip.item(0).toolTip().endswith("approved")
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_X)                          # reject: no change since, no new export
    qtbot.waitUntil(lambda: record.read(target)["review"]["decision"] == "rejected", timeout=10_000)
    qtbot.keyClick(window, Qt.Key.Key_N)                          # needs changes
    qtbot.waitUntil(lambda: record.read(target)["review"]["decision"] == "needs changes", timeout=10_000)
    window.approve()
    OUTPUT.mkdir(exist_ok=True)
    qtbot.wait(50)
    assert window.grab().save(str(OUTPUT / "gui_window.png"))


def test_reopening_the_export_folder_restores_settings_and_decision(qtbot, window, folder):
    _measured(qtbot, window, lambda: window.open_folder(folder / photo_folder.EXPORT_FOLDER))
    entry = window.entry
    assert entry.original == folder / "astronaut.jpg" and entry.badge == "approved"
    assert window.panel.sliders["light"]["strength"].value() == 0.0
    assert len(window._photo(entry).spots.protect) == 1
    cheek = window.prepared[entry.original].faces.items[0].landmarks[205]
    assert _protected_at(window, *cheek)
    window.view.set_mode("side")
    window.view.actual_size()
    assert window.view.full_scale() == 1.0 and not window.view.wants_full()    # the proxy is the photo
    x0, y0, x1, y1 = window.prepared[entry.original].faces.items[0].box
    window.view.zoom, window.view.center = 3.0, QPointF((x0 + x1) / 2, (y0 + y1) / 2)   # both sides follow
    qtbot.wait(50)                       # let the layout settle before the grab
    window.grab().save(str(OUTPUT / "gui_window_side_by_side.png"))
    window.view.set_mode("split")
    window.view.fit()
    assert "applied at" in explain(window.result.steps[0]) or "skipped" in explain(window.result.steps[0])


# --- 100%: full-resolution pixels -----------------------------------------------------------------------

CHECKER = (2500, 200, 2700, 400)         # x0, y0, x1, y1 of a 1-pixel checkerboard, full-resolution pixels


@pytest.fixture(scope="module")
def big_folder(tmp_path_factory, astronaut_rgb):
    """A 3000x2000 portrait (twice the proxy) with a 1-pixel checkerboard in the background, a detail
    only full-resolution pixels show (the proxy averages it to grey)."""
    path = tmp_path_factory.mktemp("gui_big")
    head = astronaut_rgb[:341]
    rgb = np.asarray(Image.fromarray(head).resize((3000, 2000), Image.Resampling.BICUBIC)).copy()
    x0, y0, x1, y1 = CHECKER
    ys, xs = np.mgrid[y0:y1, x0:x1]
    rgb[y0:y1, x0:x1] = np.where(((xs + ys) % 2 == 0)[..., None], 255, 0).astype(np.uint8)
    Image.fromarray(rgb).save(path / "big.png")
    return path


def _pane_centres(window) -> list[np.ndarray]:
    """The 21x21 screen pixels at the centre of each side-by-side pane, from a grab of the view."""
    shot = window.view.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    width, height = shot.width(), shot.height()
    screen = np.frombuffer(shot.constBits(), np.uint8).reshape(height, shot.bytesPerLine())[:, :width * 3]
    screen = screen.reshape(height, width, 3)
    centres = [(pane.center().x(), pane.center().y()) for pane in window.view._panes()]
    return [screen[int(y) - 10:int(y) + 11, int(x) - 10:int(x) + 11] for x, y in centres]


def _checkered(block: np.ndarray) -> bool:
    """Neighbouring pixels alternate black and white (full-resolution pixels, one per screen pixel)."""
    return np.abs(np.diff(block.astype(int), axis=1)).mean() > 200


def test_100_percent_shows_full_resolution_pixels_on_both_sides(qtbot, window, big_folder):
    _measured(qtbot, window, lambda: window.open_folder(big_folder))
    prepared = window.prepared[window.entry.original]
    assert prepared.full_size == (3000, 2000) and prepared.scale == pytest.approx(0.5)
    window.view.set_mode("side")
    x0, y0, x1, y1 = CHECKER
    window.view.center = QPointF((x0 + x1) / 2 * prepared.scale, (y0 + y1) / 2 * prepared.scale)
    qtbot.wait(20)
    assert not any(_checkered(block) for block in _pane_centres(window)), "the proxy cannot show it"
    with qtbot.waitSignal(window.fullShown, timeout=RENDER_MS):
        window.view.actual_size()                                 # the 100% action
    assert window.view.full_scale() == pytest.approx(1.0, abs=1e-12)
    assert window.view.full_before.width() == window.view.full_after.width() == 3000
    assert all(_checkered(block) for block in _pane_centres(window)), "100% shows the photo's own pixels"
    # the after side is the retouch at full resolution: the proxy's after, only sharper
    full_after, proxy_after = window.view.full_after.rgb, window.view.after.rgb
    assert not np.array_equal(full_after, window.view.full_before.rgb)
    halved = np.asarray(Image.fromarray(full_after).resize((1500, 1000), Image.Resampling.BOX))
    assert np.abs(halved.astype(float) - proxy_after).mean() < 2.0
    # panning moves both sides together, still at full resolution
    point = window.view.rect().center()
    qtbot.mousePress(window.view, Qt.MouseButton.LeftButton, pos=point)
    qtbot.mouseMove(window.view, point + QPoint(-30, -10))
    qtbot.mouseRelease(window.view, Qt.MouseButton.LeftButton, pos=point + QPoint(-30, -10))
    left, right = _pane_centres(window)
    assert np.array_equal(left, right) and _checkered(left)
    # a new setting shows the proxy's after at once and its full-resolution after once it is guarded
    with qtbot.waitSignal(window.fullShown, timeout=RENDER_MS):
        window.panel.sliders["skin"]["strength"].slider.setValue(0)
    assert window.view.full_after is not None and window.result.preset.step("skin").strength == 0.0
    OUTPUT.mkdir(exist_ok=True)
    window.view.set_mode("split")
    window.view.center = QPointF(700, 280)                    # the face, proxy pixels
    qtbot.wait(50)
    assert window.grab().save(str(OUTPUT / "gui_window_100_percent.png"))
    window.view.fit()


def test_declared_choices_and_colours_become_a_combobox_and_a_colour_button(qtbot):
    from gui.panels import ChoiceBox, ColourButton, TextField
    base = presets.load("corporate")
    panel = EditPanel(controls(base))
    qtbot.addWidget(panel)
    states, spots = initial(base)
    panel.set_state(states)
    mode, colour, image = (panel.texts["background"][key] for key in ("mode", "color", "image"))
    assert isinstance(mode, ChoiceBox) and isinstance(colour, ColourButton) and isinstance(image, TextField)
    assert [mode.itemText(i) for i in range(mode.count())] == ["color", "gradient", "image"]
    assert mode.value() == "gradient" and colour.value() == "#6b6e72"       # corporate's studio-grey gradient
    mode.setValue("color")
    colour.setValue("#336699")
    built = build_preset(base, panel.state(), spots)
    assert (built.step("background").params.mode, built.step("background").params.color) == ("color", "#336699")


# --- marks: drawn after each guarded render, flipped by a click -------------------------------------------

OBAMA_SCALE = 1.6          # obama enlarged, so the proxy is smaller than the photo (0.82 of it)


@pytest.fixture(scope="module")
def marks_folder(tmp_path_factory, astronaut_rgb):
    """Obama's portrait enlarged to 1456x1819 (the proxy is 1201x1500: marks come back in the proxy's
    pixels), and astronaut to switch to."""
    from retouch import samples
    path = tmp_path_factory.mktemp("gui_marks")
    obama = Image.fromarray(samples.portrait_rgb("obama"))
    size = (round(obama.width * OBAMA_SCALE), round(obama.height * OBAMA_SCALE))
    obama.resize(size, Image.Resampling.BICUBIC).save(path / "obama.png")
    Image.fromarray(astronaut_rgb).save(path / "astronaut.jpg", quality=95)
    return path


MOLE = (OBAMA_MOLE[0] * OBAMA_SCALE, OBAMA_MOLE[1] * OBAMA_SCALE)      # full-resolution pixels


def _mark_near(window, x: float, y: float, **wanted):
    """The mark drawn nearest full-resolution (x, y) among those with the wanted fields."""
    marks = [m for m in window.marks if all(getattr(m, key) == value for key, value in wanted.items())]
    return min(marks, key=lambda m: np.hypot(m.x - x, m.y - y))


def _click_mark(qtbot, window, mark) -> None:
    """Click `mark` with the Pan tool where the view draws it (side by side, zoomed in on it), and wait
    for the guarded render."""
    marker = next(m for m in window.view.markers if m.mark == mark)
    window.set_tool("pan")
    window.view.set_mode("side")
    window.view.zoom, window.view.center = 4.0, QPointF(marker.x, marker.y)
    point = window.view.to_widget(marker.x, marker.y).toPoint()
    assert window.view.marker_at(marker.x, marker.y) == marker
    _measured(qtbot, window, lambda: qtbot.mouseClick(window.view, Qt.MouseButton.LeftButton, pos=point))


def _contrast(window, mark) -> float:
    """Mean dE76 between the after and before proxy pixels inside `mark`."""
    scale = window.prepared[window.entry.original].scale
    before = window.prepared[window.entry.original].proxy.pixels
    ys, xs = np.mgrid[:before.shape[0], :before.shape[1]]
    inside = np.hypot(xs - mark.x * scale, ys - mark.y * scale) <= max(mark.radius * scale, 1.0)
    return float(np.linalg.norm(to_lab(window.result.pixels[inside]) - to_lab(before[inside]), axis=-1).mean())


def _export(qtbot, window) -> dict:
    entry = window.entry
    written = entry.record
    window.export()
    qtbot.waitUntil(lambda: entry.record is not written and not window._photo(entry).dirty, timeout=RENDER_MS)
    return record.read(entry.output)


def _recorded(stored: dict, field: str) -> list:
    return next(s for s in stored["preset"]["settings"]["steps"] if s["edit"] == "blemish")["params"][field]


def _recorded_mark(stored: dict, x: float, y: float) -> dict:
    step = next(s for s in stored["steps"] if s["edit"] == "blemish")
    return min(step["details"]["marks"], key=lambda m: np.hypot(m["x"] - x, m["y"] - y))


@pytest.mark.timeout(900)
def test_a_click_on_a_kept_mole_heals_it_by_choice_and_the_export_records_it(qtbot, window, marks_folder):
    _measured(qtbot, window, lambda: window.open_folder(marks_folder))
    _select(qtbot, window, "obama.png")
    scale = window.prepared[window.entry.original].scale
    assert scale == pytest.approx(1500 / 1819, abs=1e-3)
    # blemish's details are in the proxy's pixels; the window's marks in the photo's
    step = next(s for s in window.result.steps if s.edit == "blemish")
    detail = min(step.details["marks"], key=lambda m: np.hypot(m["x"] - MOLE[0] * scale, m["y"] - MOLE[1] * scale))
    assert np.hypot(detail["x"] - MOLE[0] * scale, detail["y"] - MOLE[1] * scale) < 4 * scale
    mole = _mark_near(window, *MOLE)
    assert np.hypot(mole.x - MOLE[0], mole.y - MOLE[1]) < 4 and (mole.kind, mole.action) == ("mole", "kept")
    assert mole.x == pytest.approx(detail["x"] / scale) and mole.radius == pytest.approx(detail["radius"] / scale)
    assert "mole" in window.spot_count.text() and "kept" in window.spot_count.text()
    kept_contrast = _contrast(window, mole)

    _click_mark(qtbot, window, mole)
    healed = _mark_near(window, *MOLE)
    assert healed.action == "healed by choice" and not healed.pending
    assert window._photo(window.entry).spots.heal_marks == [(round(mole.x, 1), round(mole.y, 1))]
    (x, y), = window.result.preset.step("blemish").params.heal_marks           # the render's: the proxy's pixels
    assert (x, y) == pytest.approx((round(mole.x, 1) * scale, round(mole.y, 1) * scale))
    step = next(s for s in window.result.steps if s.edit == "blemish")
    assert step.applied > 0 and _contrast(window, mole) > kept_contrast + 3, "the mole chosen is healed"
    assert "your choices: 1 healed" in window.spot_count.text()
    OUTPUT.mkdir(exist_ok=True)
    qtbot.wait(50)
    assert window.grab().save(str(OUTPUT / "gui_window_marks.png"))

    # the choice stays with the photo while another is shown
    _select(qtbot, window, "astronaut.jpg")
    assert all(m.action != "healed by choice" for m in window.marks)
    _select(qtbot, window, "obama.png")
    assert _mark_near(window, *MOLE).action == "healed by choice"

    # the export carries it at full resolution, and the full-resolution render followed it
    stored = _export(qtbot, window)
    (x, y), = _recorded(stored, "heal_marks")
    assert np.hypot(x - MOLE[0], y - MOLE[1]) < 4
    assert _recorded_mark(stored, *MOLE)["action"] == "healed by choice"


@pytest.mark.timeout(900)
def test_a_click_on_a_healed_spot_keeps_it_by_choice_and_a_second_click_takes_it_back(qtbot, window,
                                                                                       marks_folder):
    _select(qtbot, window, "obama.png")
    healed = [m for m in window.marks if m.action == "healed"]
    assert healed, "blemish heals some of obama's own spots"
    # one alone (no other mark's centre within its drawn circle), for an unambiguous click
    spot = next(m for m in healed
                if not any(o is not m and np.hypot(o.x - m.x, o.y - m.y) < 2 * max(m.radius, o.radius, 4)
                           for o in window.marks))
    healed_contrast = _contrast(window, spot)
    _click_mark(qtbot, window, spot)
    kept = _mark_near(window, spot.x, spot.y)
    assert kept.action == "kept by choice" and np.hypot(kept.x - spot.x, kept.y - spot.y) < 1
    assert _contrast(window, spot) < healed_contrast, "the spot chosen to stay is no longer healed"
    assert (round(spot.x, 1), round(spot.y, 1)) in window._photo(window.entry).spots.protect
    stored = _export(qtbot, window)
    assert any(np.hypot(x - spot.x, y - spot.y) < 1 for x, y in _recorded(stored, "keep_marks"))
    assert _recorded_mark(stored, spot.x, spot.y)["action"] == "kept by choice"
    assert len(_recorded(stored, "heal_marks")) == 1                          # the mole's, from before
    # a second click takes the choice back: blemish heals it again
    _click_mark(qtbot, window, kept)
    assert _mark_near(window, spot.x, spot.y).action == "healed"
    assert window._photo(window.entry).spots.protect == []


@pytest.mark.timeout(600)
def test_reopening_the_folder_restores_the_choices_from_the_record(qtbot, window, marks_folder):
    output = next(e.output for e in window.entries if e.original.name == "obama.png")
    assert output.parent == marks_folder / photo_folder.EXPORT_FOLDER
    stored = record.read(output)
    _measured(qtbot, window, lambda: window.open_folder(marks_folder))
    _select(qtbot, window, "obama.png")
    spots = window._photo(window.entry).spots
    assert spots.heal_marks == [tuple(p) for p in _recorded(stored, "heal_marks")]
    assert spots.protect == [tuple(p) for p in _recorded(stored, "keep_marks")]
    assert _mark_near(window, *MOLE).action == "healed by choice"
    assert sum(m.action == "kept by choice" for m in window.marks) >= 1
    window.view.set_mode("split")
    window.view.fit()
    qtbot.wait(50)
    assert window.grab().save(str(OUTPUT / "gui_window_marks_fit.png"))
