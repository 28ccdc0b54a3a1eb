"""The before/after view: a draggable split line or side by side, zoom to fit or 100%, synced panning.

Both sides are drawn through one view transform (zoom and the image point at the centre of each half),
so zooming or panning one side moves the other with it. The transform is in the proxy's pixels, and so
are the coordinates handed out (clicks for spots) and the markers; the window scales them to full
resolution. 100% means one full-resolution pixel per screen pixel: closer than one proxy pixel per
screen pixel, each side is drawn from its full-resolution image where the window has handed one over
(`set_full`), else from the proxy scaled up.

Markers are circles, blue where a mark is (or will be) healed and orange where it is kept: the user's
own spots and choices drawn bold with a dot in the middle, what blemish decided by itself thin (the
many marks it keeps faint, and only from KEPT_FROM zoom: a face has hundreds, too small to tell apart
or click further out), and a choice waiting for its render dashed. `show_marks` hides blemish's marks
(the user's spots stay).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import QWidget

from .settings import Marker

SPLIT_GRAB = 8          # pixels either side of the split line that grab it
MIN_ZOOM, MAX_ZOOM = 0.05, 16.0      # screen pixels per full-resolution pixel
MARKER_MIN = 4.0        # screen pixels: the smallest radius a marker is drawn with
MARKER_GRAB = 3.0       # screen pixels past a marker's circle that a click still lands on it
KEPT_FROM = 0.5         # screen pixels per full-resolution pixel from which marks blemish kept are drawn
HEAL, KEEP = QColor(80, 200, 255), QColor(255, 190, 40)


@dataclass(frozen=True)
class Look:
    """How a marker is drawn: colour, pen width, a dot in the middle (the user's own choice)."""

    color: QColor
    width: float
    dot: bool = False


LOOKS = {"heal": Look(HEAL, 2.0, True), "protect": Look(KEEP, 2.0, True), "heal mark": Look(HEAL, 2.0, True),
         "healed by choice": Look(HEAL, 2.5, True), "kept by choice": Look(KEEP, 2.5, True),
         "healed": Look(HEAL, 1.5), "lightened": Look(QColor(150, 220, 160), 1.5),
         "kept": Look(QColor(255, 190, 40, 130), 1.0)}


def qimage(rgb: np.ndarray) -> QImage:
    """8-bit RGB (HxWx3) -> a QImage that owns its memory."""
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class Layer:
    """One side's 8-bit pixels, and its image at the scale last drawn: scaled down once per scale (Qt's
    smooth scaling averages areas, faster here than OpenCV's INTER_AREA), so repaints (dragging the
    split line, panning) only copy pixels. At 100% and above: the pixels."""

    def __init__(self, rgb: np.ndarray):
        self.rgb = rgb
        self._whole: QImage | None = None
        self._drawn: tuple[float, QImage] | None = None

    def width(self) -> int:
        return self.rgb.shape[1]

    def height(self) -> int:
        return self.rgb.shape[0]

    def image(self, scale: float) -> QImage:
        """The pixels at `scale` (screen pixels per pixel), never enlarged (the painter enlarges)."""
        scale = min(scale, 1.0)
        if self._drawn is None or self._drawn[0] != scale:
            if self._whole is None:
                self._whole = qimage(self.rgb)
            size = (max(1, round(self.width() * scale)), max(1, round(self.height() * scale)))
            self._drawn = (scale, self._whole if scale == 1.0 else self._whole.scaled(
                *size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation))
        return self._drawn[1]


class CompareView(QWidget):
    """Before and after of one photo. Modes: "split" (draggable line) and "side" (side by side);
    `before_only` shows the whole before image (the backslash key)."""

    clicked = Signal(float, float, object)   # image x, y, Qt.KeyboardModifiers
    viewChanged = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.before: Layer | None = None     # the proxy's pixels
        self.after: Layer | None = None
        self.full_before: Layer | None = None    # full-resolution pixels, where handed over
        self.full_after: Layer | None = None
        self.pixel_scale = 1.0               # proxy pixels per full-resolution pixel
        self.mode = "split"
        self.before_only = False
        self.split = 0.5                     # share of the width left of the split line
        self.zoom: float | None = None       # None: fit
        self.center = QPointF(0, 0)          # image point at the centre of each half
        self.markers: list[Marker] = []      # image px
        self.show_marks = True               # draw blemish's marks (the user's spots are always drawn)
        self.placeholder = "Open a folder of portraits (Ctrl+O)"
        self._drag: tuple[str, QPointF, QPointF] | None = None
        self._press: QPointF | None = None
        self.setMinimumSize(320, 240)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    # --- content -----------------------------------------------------------------------------------
    def set_images(self, before: np.ndarray | None, after: np.ndarray | None, *, keep_view: bool,
                   pixel_scale: float = 1.0) -> None:
        """Show new 8-bit proxy pixels (`pixel_scale`: proxy pixels per full-resolution pixel) and drop
        any full-resolution ones; `keep_view` keeps zoom and position (a re-render of the same photo)."""
        self.before = None if before is None else Layer(before)
        self.after = None if after is None else Layer(after)
        self.full_before = self.full_after = None
        self.pixel_scale = pixel_scale
        if not keep_view and self.before is not None:
            self.zoom = None
            self.center = QPointF(self.before.width() / 2, self.before.height() / 2)
        self.update()

    def set_after(self, after: np.ndarray) -> None:
        """New 8-bit proxy pixels for the after side (its full-resolution ones, if any, are now stale)."""
        self.after = Layer(after)
        self.full_after = None
        self.update()

    def set_full(self, side: str, rgb: np.ndarray) -> None:
        """Full-resolution 8-bit pixels for `side` ("before" or "after"), drawn from 100% closer."""
        setattr(self, f"full_{side}", Layer(rgb))
        self.update()

    def set_markers(self, markers: list[Marker]) -> None:
        self.markers = list(markers)
        self.update()

    def set_show_marks(self, show: bool) -> None:
        self.show_marks = show
        self.update()

    def shown_markers(self) -> list[Marker]:
        """The markers drawn (and clickable) at this zoom."""
        kept = self.full_scale() >= KEPT_FROM
        return [m for m in self.markers
                if m.mark is None or self.show_marks and (kept or m.kind != "kept" or m.pending)]

    def marker_at(self, x: float, y: float) -> Marker | None:
        """The shown marker of a mark whose drawn circle (MARKER_GRAB screen px wider) holds image point
        (x, y); of several, the one whose centre is nearest."""
        s = self.scale()
        near = [(np.hypot(m.x - x, m.y - y), m.radius, index) for index, m in enumerate(self.shown_markers())
                if m.mark is not None and np.hypot(m.x - x, m.y - y) * s <= max(m.radius * s, MARKER_MIN) + MARKER_GRAB]
        return self.shown_markers()[min(near)[2]] if near else None

    # --- view state --------------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.update()
        self.viewChanged.emit()

    def toggle_before(self) -> None:
        self.before_only = not self.before_only
        self.update()
        self.viewChanged.emit()

    def fit(self) -> None:
        self.zoom = None
        if self.before is not None:
            self.center = QPointF(self.before.width() / 2, self.before.height() / 2)
        self.update()
        self.viewChanged.emit()

    def actual_size(self) -> None:
        """One full-resolution pixel per screen pixel, around the current centre."""
        self.zoom = 1.0 / self.pixel_scale
        self.update()
        self.viewChanged.emit()

    def _panes(self) -> list[QRectF]:
        """The widget rectangles the image is drawn in: one, or two halves side by side."""
        width, height = self.width(), self.height()
        if self.mode == "side" and not self.before_only:
            return [QRectF(0, 0, width / 2, height), QRectF(width / 2, 0, width / 2, height)]
        return [QRectF(0, 0, width, height)]

    def scale(self) -> float:
        """Screen pixels per proxy pixel."""
        if self.zoom is not None or self.before is None:
            return self.zoom or 1.0
        pane = self._panes()[0]
        return min(pane.width() / self.before.width(), pane.height() / self.before.height())

    def full_scale(self) -> float:
        """Screen pixels per full-resolution pixel (1.0 at 100%)."""
        return self.scale() * self.pixel_scale

    def wants_full(self) -> bool:
        """Closer than one proxy pixel per screen pixel, where the proxy is smaller than the photo: only
        full-resolution pixels show what is there."""
        return self.before is not None and self.pixel_scale < 1.0 and self.scale() > 1.0

    def _target(self, pane: QRectF) -> QRectF:
        """Where the whole image lands in `pane` under the shared transform."""
        s = self.scale()
        left = pane.center().x() - self.center.x() * s
        top = pane.center().y() - self.center.y() * s
        return QRectF(left, top, self.before.width() * s, self.before.height() * s)

    def to_widget(self, x: float, y: float, *, pane: int = 0) -> QPointF:
        """Image pixel -> widget point in the given pane (0: the only one, or the before side)."""
        target = self._target(self._panes()[pane])
        return QPointF(target.left() + x * self.scale(), target.top() + y * self.scale())

    def to_image(self, point: QPointF) -> QPointF | None:
        """Widget point -> image pixel coordinates (None outside the image)."""
        if self.before is None:
            return None
        pane = next((p for p in self._panes() if p.contains(point)), self._panes()[0])
        target = self._target(pane)
        s = self.scale()
        x, y = (point.x() - target.left()) / s, (point.y() - target.top()) / s
        if not (0 <= x < self.before.width() and 0 <= y < self.before.height()):
            return None
        return QPointF(x, y)

    # --- painting ----------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(38, 38, 40))
        if self.before is None:
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            return
        panes = self._panes()
        if self.before_only:
            self._draw(painter, panes[0], "before")
        elif self.mode == "side":
            self._draw(painter, panes[0], "before")
            self._draw(painter, panes[1], "after")
            painter.setPen(QPen(QColor(20, 20, 20), 2))
            painter.drawLine(QPointF(panes[1].left(), 0), QPointF(panes[1].left(), self.height()))
        else:
            line = self.split * self.width()
            painter.save()
            painter.setClipRect(QRectF(0, 0, line, self.height()))
            self._draw(painter, panes[0], "before")
            painter.restore()
            painter.save()
            painter.setClipRect(QRectF(line, 0, self.width() - line, self.height()))
            self._draw(painter, panes[0], "after", label_right=True)
            painter.restore()
            painter.setPen(QPen(QColor(255, 255, 255, 220), 2))
            painter.drawLine(QPointF(line, 0), QPointF(line, self.height()))
            painter.setBrush(QColor(255, 255, 255, 220))
            painter.drawEllipse(QPointF(line, self.height() / 2), 7, 7)

    def _layer(self, side: str) -> Layer:
        """What `side` is drawn from: its full-resolution pixels when they are wanted and there, else
        the proxy's (the after side shows the before until it is rendered)."""
        proxy, full = ((self.after, self.full_after) if side == "after" and self.after is not None
                       else (self.before, self.full_before))
        return full if full is not None and self.wants_full() else proxy

    def _draw(self, painter: QPainter, pane: QRectF, side: str, *, label_right: bool = False) -> None:
        painter.save()
        painter.setClipRect(pane, Qt.ClipOperation.IntersectClip)
        target = self._target(pane)
        s = self.scale()
        visible = target.intersected(pane)
        if not visible.isEmpty():               # only the part on screen: a 24-megapixel layer stays cheap
            layer = self._layer(side)
            image = layer.image(s * self.before.width() / layer.width())
            across, down = image.width() / target.width(), image.height() / target.height()
            left, top = visible.left() - target.left(), visible.top() - target.top()
            painter.drawImage(visible, image, QRectF(left * across, top * down,
                                                     visible.width() * across, visible.height() * down))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for marker in self.shown_markers():
            centre = QPointF(target.left() + marker.x * s, target.top() + marker.y * s)
            radius = max(marker.radius * s, MARKER_MIN)
            if not pane.intersects(QRectF(centre.x() - radius, centre.y() - radius, 2 * radius, 2 * radius)):
                continue                        # off screen (zoomed in, most of a face's marks are)
            look = LOOKS.get(marker.kind, LOOKS["kept"])
            pen = QPen(look.color, look.width)
            if marker.pending:
                pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(centre, radius, radius)
            if look.dot:
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(look.color)
                painter.drawEllipse(centre, 2.5, 2.5)
        painter.restore()
        painter.setPen(QColor(255, 255, 255))
        box = pane.adjusted(10, 8, -10, -8)
        align = Qt.AlignmentFlag.AlignTop | (Qt.AlignmentFlag.AlignRight if label_right
                                             else Qt.AlignmentFlag.AlignLeft)
        painter.drawText(box, align, side)

    # --- mouse -------------------------------------------------------------------------------------
    def _near_split(self, point: QPointF) -> bool:
        return (self.mode == "split" and not self.before_only
                and abs(point.x() - self.split * self.width()) <= SPLIT_GRAB)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        point = event.position()
        self._press = point
        if event.button() == Qt.MouseButton.LeftButton and self._near_split(point):
            self._drag = ("split", point, self.center)
        elif event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton):
            self._drag = ("pan", point, QPointF(self.center))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        point = event.position()
        if self._drag is None:
            self.setCursor(Qt.CursorShape.SplitHCursor if self._near_split(point) else Qt.CursorShape.CrossCursor)
            return
        kind, start, center = self._drag
        if kind == "split":
            self.split = min(max(point.x() / max(self.width(), 1), 0.0), 1.0)
        else:
            if self.zoom is None:
                self.zoom = self.scale()
            delta = (point - start) / self.scale()
            self.center = center - delta
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        point, press, drag = event.position(), self._press, self._drag
        self._drag = self._press = None
        moved = press is not None and (point - press).manhattanLength() > 3
        if drag and drag[0] == "pan" and moved:
            self.viewChanged.emit()
            return
        if drag and drag[0] == "split" or moved or event.button() != Qt.MouseButton.LeftButton:
            return
        spot = self.to_image(point)
        if spot is not None:
            self.clicked.emit(spot.x(), spot.y(), event.modifiers())

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        """Zoom around the point under the cursor (both sides follow)."""
        if self.before is None:
            return
        anchor = self.to_image(event.position())
        factor = 1.25 if event.angleDelta().y() > 0 else 0.8
        old = self.scale()
        self.zoom = min(max(old * factor, MIN_ZOOM / self.pixel_scale), MAX_ZOOM / self.pixel_scale)
        if anchor is not None:
            ratio = old / self.zoom
            self.center = anchor + (self.center - anchor) * ratio
        self.update()
        self.viewChanged.emit()
