"""The side panels: the edit panel generated from the Param declarations, and the measures panel.

Every slider runs from the parameter's low end to its hard maximum (`Param.limit`, or the preset's
lower limit): the GUI cannot express a value the library would reject. The measures panel shows each
measure against its budget limit, says in plain words which edits the guard backed off and why, and
whose Content Credentials an export will carry.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QColorDialog, QComboBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QSlider, QSizePolicy, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget, QHeaderView)

from retouch.budget import Budget, default_limits
from retouch.measure import MEASURES
from retouch.params import Choice, Colour, Param
from retouch.pipeline import StepReport
from retouch.provenance import export_note

from .settings import EditControls, EditState

FLOAT_STEPS = 200       # slider positions across a float parameter's range


class ParamSlider(QWidget):
    """A slider over [declaration.lo, declaration.limit] with the value shown beside it.

    Floats are mapped onto FLOAT_STEPS integer positions; the top position is exactly the limit.
    A value set in code (from a record) is kept exactly until the user moves the slider.
    """

    changed = Signal()

    def __init__(self, name: str, declaration: Param, parent: QWidget | None = None):
        super().__init__(parent)
        self.declaration = declaration
        self.steps = (int(declaration.limit - declaration.lo) if declaration.kind is int else FLOAT_STEPS)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, max(self.steps, 1))
        self.slider.setToolTip(f"{declaration.doc}\nrange {declaration.describe()}")
        self.label = QLabel(name)
        self.label.setToolTip(self.slider.toolTip())
        self.shown = QLabel()
        self.shown.setMinimumWidth(48)
        self.shown.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 3)
        layout.addWidget(self.slider, 5)
        layout.addWidget(self.shown, 1)
        self._value = declaration.default
        self.setValue(declaration.default)
        self.slider.valueChanged.connect(self._moved)

    def _at(self, position: int) -> float:
        lo, limit = self.declaration.lo, self.declaration.limit
        value = min(lo + (limit - lo) * position / max(self.steps, 1), limit)
        return self.declaration.kind(round(value) if self.declaration.kind is int else value)

    def minimum(self) -> float:
        return self._at(self.slider.minimum())

    def maximum(self) -> float:
        return self._at(self.slider.maximum())

    def value(self) -> float:
        return self._value

    def setValue(self, value: float) -> None:  # noqa: N802 (Qt style, like QSlider)
        """Clamp into [lo, limit] as a QSlider does; no signal."""
        lo, limit = self.declaration.lo, self.declaration.limit
        self._value = self.declaration.kind(min(max(value, lo), limit))
        position = round((self._value - lo) / max(limit - lo, 1e-12) * self.steps)
        self.slider.blockSignals(True)
        self.slider.setValue(position)
        self.slider.blockSignals(False)
        self._show()

    def _moved(self, position: int) -> None:
        self._value = self._at(position)
        self._show()
        self.changed.emit()

    def _show(self) -> None:
        self.shown.setText(f"{self._value:d}" if self.declaration.kind is int else f"{self._value:.3g}")


class TextField(QLineEdit):
    """A free text parameter (a backdrop image's path)."""

    def value(self) -> str:
        return self.text()

    def setValue(self, value: str) -> None:  # noqa: N802 (Qt style)
        self.setText(str(value))


class ChoiceBox(QComboBox):
    """A combobox over a declared choice's options."""

    def __init__(self, declaration: Choice, parent: QWidget | None = None):
        super().__init__(parent)
        self.addItems(list(declaration.options))
        self.setToolTip(declaration.doc)

    def value(self) -> str:
        return self.currentText()

    def setValue(self, value: str) -> None:  # noqa: N802 (Qt style)
        self.setCurrentText(str(value))


class ColourButton(QPushButton):
    """A button showing a declared colour; a click opens the colour dialog. Emits `changed` on a pick."""

    changed = Signal()

    def __init__(self, declaration: Colour, parent: QWidget | None = None):
        super().__init__(parent)
        self.declaration = declaration
        self.setToolTip(f"{declaration.doc}\n{declaration.describe()}")
        self._value = declaration.default
        self.clicked.connect(self._pick)
        self._show()

    def value(self) -> str:
        return self._value

    def setValue(self, value: str) -> None:  # noqa: N802 (Qt style)
        self._value = self.declaration.check(value, "colour") if str(value).strip() else ""
        self._show()

    def _pick(self) -> None:
        picked = QColorDialog.getColor(QColor(self._value or "#808080"), self, self.declaration.doc)
        if picked.isValid():
            self.setValue(picked.name())
            self.changed.emit()

    def _show(self) -> None:
        self.setText(self._value or "none")
        self.setStyleSheet(f"background-color: {self._value};" if self._value else "")


class EditPanel(QWidget):
    """Per edit: a checkable group (the toggle), its strength and parameter sliders, a combobox or a colour
    button per declared choice or colour, and a text field per free text parameter."""

    changed = Signal()

    def __init__(self, controls: dict[str, EditControls], parent: QWidget | None = None):
        super().__init__(parent)
        self.controls = controls
        self.groups: dict[str, QGroupBox] = {}
        self.sliders: dict[str, dict[str, ParamSlider]] = {}
        self.texts: dict[str, dict[str, TextField | ChoiceBox | ColourButton]] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for name, control in controls.items():
            layout.addWidget(self._group(name, control))
        layout.addStretch(1)

    def _group(self, name: str, control: EditControls) -> QGroupBox:
        group = QGroupBox(name)
        group.setCheckable(True)
        group.setToolTip(control.doc)
        group.toggled.connect(self.changed)
        column = QVBoxLayout(group)
        column.setContentsMargins(6, 4, 6, 4)
        column.setSpacing(2)
        self.sliders[name] = {}
        for key, declaration in control.sliders.items():
            slider = ParamSlider(key, declaration)
            slider.changed.connect(self.changed)
            column.addWidget(slider)
            self.sliders[name][key] = slider
        self.texts[name] = {}
        for key, declaration in control.choices.items():
            if isinstance(declaration, Choice):
                field = ChoiceBox(declaration)
                field.currentTextChanged.connect(self.changed)
            else:
                field = ColourButton(declaration)
                field.changed.connect(self.changed)
            self._row(column, key, field)
            self.texts[name][key] = field
        for key in control.texts:
            field = TextField()
            field.editingFinished.connect(self.changed)
            self._row(column, key, field)
            self.texts[name][key] = field
        self.groups[name] = group
        return group

    @staticmethod
    def _row(column: QVBoxLayout, key: str, field: QWidget) -> None:
        row = QHBoxLayout()
        row.addWidget(QLabel(key), 3)
        row.addWidget(field, 6)
        column.addLayout(row)

    def state(self) -> dict[str, EditState]:
        states = {}
        for name, group in self.groups.items():
            values = {key: slider.value() for key, slider in self.sliders[name].items()}
            values.update({key: field.value() for key, field in self.texts[name].items()})
            states[name] = EditState(group.isChecked(), values)
        return states

    def set_state(self, states: dict[str, EditState]) -> None:
        """Show `states` without emitting `changed` (switching photos is not an edit)."""
        self.blockSignals(True)
        for name, state in states.items():
            if name not in self.groups:
                continue
            self.groups[name].setChecked(state.enabled)
            for key, slider in self.sliders[name].items():
                if key in state.values:
                    slider.setValue(state.values[key])
            for key, field in self.texts[name].items():
                field.setValue(state.values.get(key, ""))
        self.blockSignals(False)


# --- measures -------------------------------------------------------------------------------------

def measure_rows(flat: dict[str, float | None], budget: Budget) -> list[tuple[str, str, str, bool]]:
    """(measure, value, limit, within budget) per budgeted measure that applies to this photo (a measure not
    taken here, e.g. the hair edge where no background was replaced, has no row), in the table's order."""
    broken = set(budget.breaches(flat))
    rows = []
    for name, (side, limit) in budget.table().items():
        if name not in flat:
            continue
        entry = MEASURES[name]
        rows.append((entry.label, entry.show(flat.get(name)),
                     ("\u2265 " if side == "min" else "\u2264 ") + entry.show(limit), name not in broken))
    return rows


def explain(step: StepReport) -> str:
    """One plain sentence on what the guard did to a step."""
    reasons = sorted({MEASURES[name].plain if name in MEASURES else name for name in step.bound_by})
    why = " and ".join(reasons)
    if step.status == "backed off":
        return f"{step.edit}: lowered from {step.requested:.2f} to {step.applied:.2f} to protect {why}"
    if step.status == "dropped":
        return f"{step.edit}: left out, even a little would have changed {why} too much"
    if step.status == "skipped":
        return f"{step.edit}: skipped ({step.note})"
    return f"{step.edit}: applied at {step.applied:.2f}"


class MeasuresPanel(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.table = QTableWidget(len(default_limits()), 3)
        self.table.setHorizontalHeaderLabels(["measure", "value", "limit"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        rows = self.table.verticalHeader().defaultSectionSize() * len(default_limits())
        self.table.setFixedHeight(rows + self.table.horizontalHeader().sizeHint().height() + 4)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.steps = QLabel()
        self.steps.setWordWrap(True)
        self.credentials = QLabel()         # whose Content Credentials the export will carry
        self.credentials.setWordWrap(True)
        for label in (self.verdict, self.steps, self.credentials):
            label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.steps.setTextFormat(Qt.TextFormat.PlainText)
        self.credentials.setTextFormat(Qt.TextFormat.PlainText)   # a studio's name is never markup
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 0, 0)
        layout.addWidget(self.verdict, 1, 0)
        layout.addWidget(self.steps, 2, 0)
        layout.addWidget(self.credentials, 3, 0)
        self.clear("")

    def clear(self, message: str) -> None:
        self.table.clearContents()
        self.verdict.setText(message)
        self.steps.setText("")
        self.credentials.setText("")

    def pending(self) -> None:
        self.verdict.setText("measuring\u2026")

    def show_result(self, flat: dict[str, float | None], budget: Budget, steps: list[StepReport],
                    verdict: str) -> None:
        rows = measure_rows(flat, budget)
        self.table.setRowCount(len(rows))
        for row, (label, value, limit, ok) in enumerate(rows):
            for column, text in enumerate((label, value, limit)):
                item = QTableWidgetItem(text)
                if column == 1:
                    item.setForeground(QColor(40, 150, 60) if ok else QColor(200, 40, 40))
                self.table.setItem(row, column, item)
        self.verdict.setText(verdict)
        self.steps.setText("\n".join(explain(step) for step in steps))
        self.credentials.setText(export_note())
