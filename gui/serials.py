"""Which of the worker's answers the window still wants. No Qt here.

Every request to the worker gets the next serial number. Answers come back tagged with it, possibly late
and out of date: a render for settings the photographer has since moved, or for a photo no longer shown.
The window asks this ledger before showing anything, so an older answer never replaces a newer one.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Serials:
    """The serials of the newest requests of each kind and of what is on screen."""

    last: int = 0          # the newest serial handed out
    photo: int = 0         # the first serial of the photo shown: anything older is another photo's
    render: int = 0        # the newest render asked for
    shown: int = 0         # the newest render on screen: anything older is dropped
    result: int = 0        # the render whose guarded result and measures are on screen

    def next(self) -> int:
        """A serial for a request that nothing else waits on (thumbnails, full size, export)."""
        self.last += 1
        return self.last

    def new_photo(self) -> int:
        """The serial of a new photo's first request: every older answer is now another photo's."""
        self.photo = self.next()
        return self.photo

    def new_render(self) -> int:
        self.render = self.next()
        return self.render

    def of_this_photo(self, serial: int) -> bool:
        return serial >= self.photo

    def current(self, serial: int) -> bool:
        """Whether an answer (or a failure) is at least as new as the photo and the render on screen."""
        return serial >= max(self.shown, self.photo)

    def show(self, serial: int) -> bool:
        """Whether a render's answer may go on screen; if so it is now the one shown."""
        if not self.current(serial):
            return False
        self.shown = serial
        return True

    def show_result(self, serial: int) -> None:
        """A guarded result (with its measures) went on screen."""
        self.result = serial

    @property
    def result_is_newest(self) -> bool:
        """Whether the guarded result on screen is for the newest settings asked for."""
        return self.result == self.render

    def after_newest_render(self, serial: int) -> bool:
        """Whether a full-size request was made after the newest render (so it shows its settings)."""
        return serial > self.render and self.of_this_photo(serial)
