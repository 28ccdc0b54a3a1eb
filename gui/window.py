"""The review window: thumbnail strip, before/after view, edit and measures panels, review and export.

All library work runs on a Worker thread (gui.worker): a photo is read and its proxy analysed once
(cached), every change re-renders the proxy unguarded first (shown at once) and then guarded (the
measures, and the pixels export will make). Zoomed to 100% or closer, the view asks for full-resolution
pixels: the photo is read at full size once (the before side) and retouched at full size once per
guarded result, at the strengths the guard chose on the proxy (the after side); the proxy, scaled up,
shows meanwhile. Results older than what is shown are dropped. Errors go to the status area, never to
a crash.

After each guarded render the marks blemish found are drawn on the photo (gui.settings.Mark: its
details are in the proxy's pixels, turned to full resolution here and back to the proxy's for the
view); with the Pan tool a click on one flips it between heal and keep, and a click on a chosen one
takes the choice back. The Heal spot and Protect tools add (and remove) the user's own points as
before, wherever they click. The choices are blemish's `heal_marks` and `keep_marks`, kept per photo
in full-resolution pixels with the manual spots.
"""
from __future__ import annotations

import functools
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QIcon, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import (QDoubleSpinBox, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QMainWindow, QPushButton, QScrollArea,
                               QSplitter, QToolBar, QVBoxLayout, QWidget)

from retouch import presets, record
from retouch.io import PhotoError
from retouch.measure import verdict, worst
from retouch.params import ParamError
from retouch.pipeline import as_applied

from . import jobs, photo_folder
from .serials import Serials
from .panels import EditPanel, MeasuresPanel
from .settings import (SPOT_EDIT, EditState, Mark, Spots, build_preset, controls, initial, largest_spot, mark_choices,
                       markers, marks_of, slack, unheeded)
from .viewer import CompareView, qimage
from .worker import Worker

THUMB = 112
CACHE = 4                  # analysed photos kept in memory (with their render chains)
BADGE_COLORS = {"approved": QColor(40, 160, 70), "rejected": QColor(200, 50, 50),
                "needs changes": QColor(220, 150, 30), "backed off": QColor(230, 140, 0),
                "retouched": QColor(50, 120, 220), "original": QColor(120, 120, 120),
                "failed": QColor(150, 0, 0), "no face": QColor(150, 60, 60)}


def badge_icon(thumb: QPixmap | None, word: str) -> QIcon:
    """The thumbnail with its status word on a coloured band."""
    canvas = QPixmap(THUMB, THUMB)
    canvas.fill(QColor(30, 30, 32))
    painter = QPainter(canvas)
    if thumb is not None:
        scaled = thumb.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                              Qt.TransformationMode.SmoothTransformation)
        painter.drawPixmap((THUMB - scaled.width()) // 2, (THUMB - scaled.height()) // 2, scaled)
    painter.fillRect(0, THUMB - 20, THUMB, 20, BADGE_COLORS.get(word, QColor(90, 90, 90)))
    painter.setPen(QColor(255, 255, 255))
    painter.drawText(0, THUMB - 20, THUMB, 20, Qt.AlignmentFlag.AlignCenter, word)
    painter.end()
    return QIcon(canvas)


@dataclass
class PhotoState:
    """What the window keeps per photo while the folder is open: panel state, spots and chosen marks,
    unsaved changes."""

    states: dict[str, EditState]
    spots: Spots
    dirty: bool = False


class ReviewWindow(QMainWindow):
    draftShown = Signal(int)        # render serial whose half-size draft is on screen (slow edits only)
    previewShown = Signal(int)      # render serial whose quick preview is on screen
    measuresShown = Signal(int)     # render serial whose guarded result and measures are on screen
    fullShown = Signal(int)         # serial whose full-resolution after side is on screen

    def __init__(self, *, preset: str = presets.DEFAULT):
        super().__init__()
        self.base = presets.load(preset)
        self.entries: list[photo_folder.Entry] = []
        self.index = -1
        self.folder: Path | None = None
        self.photos: dict[Path, PhotoState] = {}
        self.prepared: OrderedDict[Path, jobs.Prepared] = OrderedDict()
        self.thumbs: dict[Path, QPixmap] = {}
        self.serials = Serials()        # which of the worker's answers are still wanted
        self.result = None              # newest guarded Result shown
        self.marks: list[Mark] = []     # the marks blemish judged in it, full-resolution pixels
        self.full = jobs.FullResolution()          # the photo kept at full size (filled by the worker)
        self.full_asked: tuple | None = None       # (photo, preset digest or None) last asked for at full size
        self.pending_review: dict[Path, tuple[str | None, str]] = {}   # original -> review after export
        self.exports: dict[int, Path] = {}                              # export serial -> original
        self.worker = Worker()
        self.worker.produced.connect(self._produced)
        self.worker.failed.connect(self._failed)
        self.worker.start()
        self.thumbnailer = Worker()
        self.thumbnailer.produced.connect(self._thumbnail)
        self.thumbnailer.failed.connect(lambda kind, serial, message: self.show_error(message))
        self.thumbnailer.start()
        self._build()
        self.setWindowTitle("retouch review")
        self.resize(1400, 900)

    # --- layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.view = CompareView()
        self.view.clicked.connect(self._clicked)
        self.view.viewChanged.connect(self._request_full)
        self.strip = QListWidget()
        self.strip.setViewMode(QListWidget.ViewMode.IconMode)
        self.strip.setFlow(QListWidget.Flow.LeftToRight)
        self.strip.setWrapping(False)
        self.strip.setIconSize(QSize(THUMB, THUMB))
        self.strip.setFixedHeight(THUMB + 44)
        self.strip.setMovement(QListWidget.Movement.Static)
        self.strip.currentRowChanged.connect(self._row_changed)
        self.strip.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        self.panel = EditPanel(controls(self.base))
        self.panel.changed.connect(self._settings_changed)
        self.measures = MeasuresPanel()
        edits_column = QWidget()
        column = QVBoxLayout(edits_column)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self._box("Marks and spots", self._spots_box()))
        column.addWidget(self._box("Edits", self.panel))
        scroll = QScrollArea()
        scroll.setWidget(edits_column)
        scroll.setWidgetResizable(True)
        side = QWidget()
        side.setMinimumWidth(420)
        column = QVBoxLayout(side)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self._box("Measures against the original", self.measures))
        column.addWidget(self._box("Review", self._review_box()))
        column.addWidget(scroll, 1)

        centre = QWidget()
        stack = QVBoxLayout(centre)
        stack.setContentsMargins(0, 0, 0, 0)
        stack.addWidget(self.view, 1)
        stack.addWidget(self.strip)
        splitter = QSplitter()
        splitter.addWidget(centre)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 1)
        splitter.setSizes([980, 420])
        self.setCentralWidget(splitter)

        self.message = QLabel()
        self.error = QLabel()
        self.error.setStyleSheet("color: #c03030;")
        self.error.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.statusBar().addWidget(self.message, 1)
        self.statusBar().addWidget(self.error, 2)
        self._actions()

    @staticmethod
    def _box(title: str, content: QWidget) -> QGroupBox:
        box = QGroupBox(title)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(content)
        return box

    def _spots_box(self) -> QWidget:
        widget = QWidget()
        column = QVBoxLayout(widget)
        column.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        column.addLayout(row)
        row.addWidget(QLabel("radius (px)"))
        self.radius = QDoubleSpinBox()
        self.radius.setDecimals(1)
        self.radius.setSingleStep(0.5)
        self.radius.setRange(0.5, 400.0)
        self.radius.setValue(4.0)
        self.radius.setToolTip("radius of a new spot, in full-resolution pixels")
        row.addWidget(self.radius)
        row.addStretch(1)
        clear = QPushButton("Clear spots and choices")
        clear.clicked.connect(self.clear_spots)
        row.addWidget(clear)
        self.spot_count = QLabel()          # what became of the marks: "4 spots healed, 2 moles kept"
        self.spot_count.setWordWrap(True)
        column.addWidget(self.spot_count)
        legend = QLabel('<span style="color:#50c8ff">\u25ef healed</span> &nbsp; '
                        '<span style="color:#ffbe28">\u25ef kept</span> &nbsp; '
                        '<span style="color:#96dca0">\u25ef lightened</span> &nbsp; '
                        "\u25c9 your choice. Pan tool: click a mark to flip it (kept ones show from 50%); "
                        "M shows or hides them")
        legend.setWordWrap(True)
        column.addWidget(legend)
        return widget

    def _review_box(self) -> QWidget:
        widget = QWidget()
        column = QVBoxLayout(widget)
        column.setContentsMargins(0, 0, 0, 0)
        self.decision = QLabel()
        self.comment = QLineEdit()
        self.comment.setPlaceholderText("comment (Enter saves it)")
        self.comment.returnPressed.connect(self.save_comment)
        buttons = QHBoxLayout()
        for text, slot in (("Approve (A)", self.approve), ("Needs changes (N)", self.needs_changes),
                           ("Reject (X)", self.reject), ("Export (Ctrl+E)", self.export)):
            button = QPushButton(text)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        column.addWidget(self.decision)
        column.addWidget(self.comment)
        column.addLayout(buttons)
        return widget

    def _actions(self) -> None:
        bar = QToolBar("main")
        bar.setMovable(False)
        self.addToolBar(bar)

        def action(text: str, keys: tuple[str, ...], slot, *, checkable: bool = False) -> QAction:
            item = QAction(text, self)
            item.setShortcuts([QKeySequence(k) for k in keys])
            item.setToolTip(f"{text} ({', '.join(keys)})")
            item.setCheckable(checkable)
            item.triggered.connect(slot)
            bar.addAction(item)
            return item

        action("Open", ("Ctrl+O",), self.choose_folder)
        action("Previous", ("Left", "PgUp", "K"), self.previous)
        action("Next", ("Right", "PgDown", "J"), self.next)
        bar.addSeparator()
        self.before_action = action("Before", ("\\", "B"), self.view.toggle_before, checkable=True)
        self.side_action = action("Side by side", ("S",), self.toggle_side, checkable=True)
        action("Fit", ("F",), self.view.fit)
        action("100%", ("1", "Z"), self.view.actual_size)
        self.marks_action = action("Marks", ("M",), self.view.set_show_marks, checkable=True)
        self.marks_action.setChecked(True)
        bar.addSeparator()
        tools = QActionGroup(self)
        self.tool = "pan"
        for text, key, tool in (("Pan / flip marks", "V", "pan"), ("Heal spot", "H", "heal"),
                                ("Protect", "P", "protect")):
            item = action(text, (key,), functools.partial(self.set_tool, tool), checkable=True)
            item.setChecked(tool == "pan")
            tools.addAction(item)
        bar.addSeparator()
        action("Approve", ("A",), self.approve)
        action("Needs changes", ("N",), self.needs_changes)
        action("Reject", ("X",), self.reject)
        action("Export", ("Ctrl+E",), self.export)

    # --- folder and photo --------------------------------------------------------------------------
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of portraits")
        if folder:
            self.open_folder(folder)

    def open_folder(self, folder: str | Path) -> None:
        try:
            entries = photo_folder.discover(folder)
        except OSError as error:
            self.show_error(str(error))
            return
        self.show_entries(entries, Path(folder))

    def show_entries(self, entries: list[photo_folder.Entry], folder: Path) -> None:
        """Show `entries` (a folder's, or the files Edit-In was handed) in the strip, the first selected."""
        self.entries = entries
        self.folder = folder
        self.photos.clear()
        self.strip.blockSignals(True)
        self.strip.clear()
        for entry in self.entries:
            item = QListWidgetItem(badge_icon(None, entry.badge), entry.name)
            item.setToolTip(f"{entry.name}: {entry.badge}")
            self.strip.addItem(item)
        self.strip.blockSignals(False)
        paths = [entry.shown for entry in self.entries]
        self.thumbnailer.submit("load", self.serials.next(), functools.partial(_thumbnails, paths))
        self.show_message(f"{self.folder}: {len(self.entries)} photos")
        if not self.entries:
            self.view.placeholder = f"No photos in {self.folder}"
            self.view.set_images(None, None, keep_view=False)
            return
        self.strip.setCurrentRow(0)

    def _row_changed(self, row: int) -> None:
        if 0 <= row < len(self.entries):
            self.select(row)

    def next(self) -> None:
        if self.entries:
            self.strip.setCurrentRow(min(self.index + 1, len(self.entries) - 1))

    def previous(self) -> None:
        if self.entries:
            self.strip.setCurrentRow(max(self.index - 1, 0))

    @property
    def entry(self) -> photo_folder.Entry | None:
        return self.entries[self.index] if 0 <= self.index < len(self.entries) else None

    def _photo(self, entry: photo_folder.Entry) -> PhotoState:
        if entry.original not in self.photos:
            self.photos[entry.original] = PhotoState(*initial(self.base, record.settings_of(entry.record)))
        return self.photos[entry.original]

    def select(self, index: int) -> None:
        self.index = index
        entry = self.entries[index]
        state = self._photo(entry)
        self.panel.set_state(state.states)
        self._show_review(entry)
        self.setWindowTitle(f"{entry.name} \u2014 retouch review")
        self.result = None
        self.marks = []
        self.full_asked = None
        serial = self.serials.new_photo()
        self.measures.clear("")
        self.show_message(f"{entry.name} ({index + 1} of {len(self.entries)}): {entry.badge}")
        self.show_error("")
        if entry.problem:
            self._cannot_show(entry.problem)
            return
        prepared = self.prepared.get(entry.original)
        if prepared is not None:
            self._show_prepared(prepared)
            return
        self.view.placeholder = f"Loading {entry.original.name}\u2026"
        self.view.set_images(None, None, keep_view=False)
        self.worker.submit("load", serial, functools.partial(jobs.prepare, entry.original))

    def _cannot_show(self, message: str) -> None:
        self.view.placeholder = message
        self.view.set_images(None, None, keep_view=False)
        self.measures.clear("")
        self.show_error(message)

    def _show_prepared(self, prepared: jobs.Prepared) -> None:
        self.view.set_images(prepared.rgb, None, keep_view=False, pixel_scale=prepared.scale)
        self._fit_spot_radius(prepared)
        self._update_spots()
        if prepared.warning:
            self.entry.warning = prepared.warning
            self._refresh_item(self.index)
            self.show_error(prepared.warning)
        self.request_render()

    # --- rendering ---------------------------------------------------------------------------------
    def current_preset(self, *, scale: float = 1.0):
        """The preset the panel stands for; spots at `scale` (the proxy's, or 1 for export)."""
        state = self._photo(self.entry)
        return build_preset(self.base, state.states, state.spots, scale=scale)

    def request_render(self) -> None:
        """Queue a render of the current photo with the panel's settings (if it is analysed)."""
        entry = self.entry
        prepared = self.prepared.get(entry.original) if entry else None
        if prepared is None:
            return
        try:
            preset = self.current_preset(scale=prepared.scale)
            draft_preset = self.current_preset(scale=prepared.draft.scale)
        except ParamError as error:
            self.show_error(str(error))
            return
        serial = self.serials.new_render()
        self.full_asked = None
        self.measures.pending()
        self.worker.submit("render", serial, functools.partial(jobs.render, prepared, preset, draft_preset))

    def _settings_changed(self) -> None:
        if self.entry is None:
            return
        state = self._photo(self.entry)
        state.states = self.panel.state()
        state.dirty = True
        self.request_render()

    def _produced(self, kind: str, serial: int, stage: str, value) -> None:
        try:
            self._handle(kind, serial, stage, value)
        finally:
            self.worker.acknowledge()

    def _handle(self, kind: str, serial: int, stage: str, value) -> None:
        if kind == "load":
            self._remember(value)
            if self.entry is not None and value.path == self.entry.original and self.serials.of_this_photo(serial):
                self._show_prepared(value)
        elif kind == "render":
            self._rendered(serial, stage, value)
        elif kind == "full":
            self._full_shown(serial, stage, value)
        elif kind == "export":
            self.exports.pop(serial, None)
            self._exported(*value)

    def _remember(self, prepared: jobs.Prepared) -> None:
        self.prepared[prepared.path] = prepared
        self.prepared.move_to_end(prepared.path)
        while len(self.prepared) > CACHE:
            self.prepared.popitem(last=False)

    def _rendered(self, serial: int, stage: str, rendered: jobs.Rendered) -> None:
        if not self.serials.show(serial):
            return                      # older than what is on screen, or another photo's
        self.view.set_after(rendered.rgb)
        if stage == "draft":
            self.show_message(f"draft at half size {rendered.seconds * 1000:.0f} ms; rendering\u2026")
            self.draftShown.emit(serial)
            return
        if stage == "preview":
            self.show_message(f"preview {rendered.seconds * 1000:.0f} ms; measuring\u2026")
            self.previewShown.emit(serial)
            return
        self.result = rendered.result
        self.serials.show_result(serial)
        scale = self.prepared[self.entry.original].scale
        self.marks = marks_of(rendered.result.steps, scale)
        self._update_spots()
        flat = worst(rendered.result.metrics)
        budget = rendered.result.preset.budget
        self.measures.show_result(flat, budget, rendered.result.steps, verdict(flat, budget))
        missed = unheeded(self._photo(self.entry).spots, self.marks, slack(scale))
        self.show_message(f"guarded render {rendered.seconds * 1000:.0f} ms"
                          + (f"; {missed} of your heal choices healed nothing (the mark is larger than "
                             "blemish ever heals, or not on skin)" if missed else ""))
        self.measuresShown.emit(serial)
        self._request_full()

    # --- full resolution (100% and closer) ------------------------------------------------------------
    def _request_full(self) -> None:
        """Ask for the full-resolution pixels the view wants: the before side (read once per photo), and
        the after side of the guarded result on screen if it is the newest asked for."""
        entry = self.entry
        prepared = self.prepared.get(entry.original) if entry else None
        if prepared is None or not self.view.wants_full():
            return
        preset = None
        if self.result is not None and self.serials.result_is_newest:
            try:
                preset = as_applied(self.current_preset(), self.result.steps)
            except ParamError as error:
                self.show_error(str(error))
        wanted = (entry.original, preset.digest if preset else None)
        if wanted == self.full_asked:
            return
        self.full_asked = wanted
        self.show_message("100%: rendering full-resolution pixels\u2026")
        self.worker.submit("full", self.serials.next(),
                           functools.partial(jobs.full_size, entry.original, self.full, preset))

    def _full_shown(self, serial: int, stage: str, value) -> None:
        """Full-resolution pixels arrived: the before of the photo shown, or the after of the newest
        settings (anything older is dropped: the proxy shows meanwhile)."""
        entry = self.entry
        if entry is None or not self.serials.of_this_photo(serial):
            return
        current = self.serials.after_newest_render(serial)
        if stage == "before" and value[0] == entry.original:
            self.view.set_full("before", value[1])
        elif stage == "retouching" and current:
            self.show_message(f"100%: retouching at full resolution: {value}\u2026")
        elif stage == "after" and current:
            self.view.set_full("after", value)
            self.fullShown.emit(serial)
            self.show_message("100%: full-resolution pixels, after at the strengths the guard chose")

    def _failed(self, kind: str, serial: int, message: str) -> None:
        """A job failed: say so where it matters (another photo's load or an old render: nowhere)."""
        current = self.serials.current(serial)
        if kind == "load" and current:
            self.entry.problem = message
            self._refresh_item(self.index)
            self._cannot_show(message)
        elif kind == "render" and current:
            self.measures.clear(f"not measured: {message}")
            self.show_error(message)
        elif kind == "full" and current:
            self.show_error(f"100%: {message}")
        elif kind == "export":
            self.pending_review.pop(self.exports.pop(serial, None), None)
            self.show_error(message)

    # --- spots -------------------------------------------------------------------------------------
    def set_tool(self, tool: str) -> None:
        self.tool = tool
        self.show_message({"pan": "drag to pan, drag the line to compare; click a mark to flip it",
                           "heal": "click a blemish to heal it; click a circle to remove it",
                           "protect": "click a mole or mark to protect it; click a circle to remove it"}[tool])

    def _clicked(self, x: float, y: float, modifiers) -> None:
        """A click on the image (proxy pixels): with the Pan tool, one on a mark flips it; with the
        heal/protect tools, it adds a spot or removes the one there (Shift: the other kind)."""
        entry = self.entry
        prepared = self.prepared.get(entry.original) if entry else None
        if prepared is None:
            return
        if self.tool == "pan":
            marker = self.view.marker_at(x, y)
            if marker is not None:
                self.flip_mark(marker.mark)
            return
        kind = self.tool
        if modifiers & Qt.KeyboardModifier.ShiftModifier:
            kind = "protect" if kind == "heal" else "heal"
        self.toggle_spot(kind, x / prepared.scale, y / prepared.scale)

    def flip_mark(self, mark: Mark) -> None:
        """Flip a mark blemish judged between heal and keep by the user's choice, or take the choice back;
        it shows the new side (dashed) until the guarded render says what became of it."""
        prepared = self.prepared[self.entry.original]
        state = self._photo(self.entry)
        where = f"{mark.kind} at ({mark.x:.0f}, {mark.y:.0f})"
        if not state.spots.flip(mark, slack(prepared.scale)):
            self.show_message(f"{where}: {mark.action}, but by no choice of yours near it")
            return
        flipped = mark.flipped()
        self.marks = [flipped if m is mark else m for m in self.marks]
        state.dirty = True
        chosen = "heal" if flipped.action == "healed by choice" else "keep"
        self.show_message(f"{where}: {'choice taken back' if mark.chosen else chosen + ' by your choice'}")
        self._update_spots()
        self.request_render()

    def toggle_spot(self, kind: str, x: float, y: float) -> None:
        """Add a heal spot or protected point at full-resolution (x, y), or remove the one there.

        Spots only act on faces, so a click outside every face is refused with a message."""
        prepared = self.prepared[self.entry.original]
        inside = any(x0 <= x * prepared.scale < x1 and y0 <= y * prepared.scale < y1
                     for x0, y0, x1, y1 in (face.box for face in prepared.faces))
        state = self._photo(self.entry)
        if not inside and not state.spots.at(x, y, float(self.radius.value())):
            self.show_message(f"({x:.0f}, {y:.0f}) is on no face: spots go on a face's skin")
            return
        what = state.spots.toggle(kind, x, y, float(self.radius.value()))
        state.dirty = True
        self.show_message(f"{kind} spot {what} at ({x:.0f}, {y:.0f})")
        self._update_spots()
        self.request_render()

    def clear_spots(self) -> None:
        if self.entry is None:
            return
        state = self._photo(self.entry)
        state.spots = Spots()
        state.dirty = True
        self._update_spots()
        self.request_render()

    def _fit_spot_radius(self, prepared: jobs.Prepared) -> None:
        """Spot radii up to the largest blemish heals on this photo's biggest face (moles stay)."""
        if not len(prepared.faces):
            return
        interocular = max(face.interocular for face in prepared.faces) / prepared.scale
        largest = max(0.5, int(largest_spot(interocular) * 10) / 10)
        self.radius.setRange(0.5, largest)
        self.radius.setValue(largest * 0.75)
        self.radius.setToolTip(f"radius of a new spot in full-resolution pixels; up to {largest:g} px here "
                               "(larger marks are moles or scars and are never healed)")

    def _update_spots(self) -> None:
        """Draw the user's spots and the marks, and say what became of the marks."""
        entry = self.entry
        prepared = self.prepared.get(entry.original) if entry else None
        spots = self._photo(entry).spots if entry else Spots()
        scale = prepared.scale if prepared else 1.0
        self.view.set_markers(markers(spots, self.marks, scale, float(self.radius.value())))
        step = next((s for s in self.result.steps if s.edit == SPOT_EDIT), None) if self.result else None
        done = record.mark_words({"details": step.details}) if step else ""
        choices = mark_choices(spots)
        self.spot_count.setText(" · ".join(words for words in (done, choices) if words)
                                or ("no marks found" if self.result else "marks show after the guarded render"))

    # --- view --------------------------------------------------------------------------------------
    def toggle_side(self) -> None:
        self.view.set_mode("split" if self.view.mode == "side" else "side")
        self.side_action.setChecked(self.view.mode == "side")

    # --- review and export -------------------------------------------------------------------------
    def approve(self) -> None:
        self.review("approved")

    def needs_changes(self) -> None:
        self.review("needs changes")

    def reject(self) -> None:
        self.review("rejected")

    def save_comment(self) -> None:
        entry = self.entry
        decision = (entry.record or {}).get("review", {}).get("decision") if entry else None
        self.review(decision)

    def review(self, decision: str | None) -> None:
        """Store the decision and comment in the record; export first when there is no output yet or
        the settings changed since (a decision is always about a file on disk)."""
        entry = self.entry
        if entry is None or entry.problem:
            return
        comment = self.comment.text()
        if entry.output is None or self._photo(entry).dirty:
            self.pending_review[entry.original] = (decision, comment)
            self.export()
            return
        self._store_review(entry, decision, comment)

    def _store_review(self, entry: photo_folder.Entry, decision: str | None, comment: str) -> None:
        try:
            photo_folder.review(entry, decision, comment)
        except (OSError, ValueError) as error:
            self.show_error(str(error))
            return
        self._refresh_item(self.entries.index(entry))
        if entry is self.entry:
            self._show_review(entry)
        self.show_message(f"{entry.name}: {decision or 'comment saved'}")

    def export(self) -> None:
        """Write the current photo at full resolution with the current settings, and its record."""
        entry = self.entry
        if entry is None or entry.problem:
            return
        try:
            preset = self.current_preset()
        except ParamError as error:
            self.show_error(str(error))
            return
        target = photo_folder.export_target(entry, self.entries, preset.output.format, preset.output.suffix)
        serial = self.serials.next()
        self.exports[serial] = entry.original
        self.show_message(f"exporting {entry.original.name} \u2192 {target}\u2026")
        self.worker.submit("export", serial, functools.partial(_export, entry, target, preset))

    def _exported(self, entry: photo_folder.Entry, outcome) -> None:
        entry.output = outcome.output
        entry.record = outcome.record
        self._photo(entry).dirty = False
        self.show_message(f"exported {outcome.output}")
        if entry.original in self.pending_review:
            self._store_review(entry, *self.pending_review.pop(entry.original))
        else:
            self._refresh_item(self.entries.index(entry))
            if entry is self.entry:
                self._show_review(entry)

    def _show_review(self, entry: photo_folder.Entry) -> None:
        review = (entry.record or {}).get("review") or {}
        self.comment.setText(review.get("comment") or "")
        where = entry.output.name if entry.output else "not exported yet"
        self.decision.setText(f"{review.get('decision') or 'no decision'} ({where})")

    def _refresh_item(self, index: int) -> None:
        entry = self.entries[index]
        item = self.strip.item(index)
        item.setIcon(badge_icon(self.thumbs.get(entry.shown, self.thumbs.get(entry.original)), entry.badge))
        item.setToolTip(f"{entry.name}: {entry.problem or entry.badge}")

    def _thumbnail(self, kind: str, serial: int, stage: str, value) -> None:
        """A thumbnail arrived, or the file turned out unreadable (then its badge says so at once)."""
        self.thumbnailer.acknowledge()
        path, found = value
        if stage == "thumbnail":
            self.thumbs[path] = QPixmap.fromImage(qimage(found))
        for index, entry in enumerate(self.entries):
            if entry.shown == path:
                if stage == "unreadable" and entry.output is None:
                    entry.problem = found
                self._refresh_item(index)

    # --- status ------------------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        self.message.setText(text)

    def show_error(self, text: str) -> None:
        self.error.setText(text)

    def idle(self) -> bool:
        return self.worker.idle()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.worker.stop()
        self.thumbnailer.stop()
        super().closeEvent(event)


def _export(entry: photo_folder.Entry, target: Path, preset):
    if entry.target is not None:          # Edit-In: written back over the host's file, from the copy handed over
        from retouch.edit_in import write_back
        yield "exported", (entry, write_back(entry.original, target, preset))
        return
    for _, outcome in jobs.export(entry.original, target, preset):
        yield "exported", (entry, outcome)


def _thumbnails(paths: list[Path]):
    """One thumbnail per photo, as stages (a newer folder abandons the rest); unreadable ones skipped."""
    for path in paths:
        try:
            yield "thumbnail", (path, jobs.thumbnail(path, THUMB))
        except PhotoError as error:
            yield "unreadable", (path, str(error))
