"""The errors every layer may raise about files: one line naming the file and the reason."""
from __future__ import annotations


class PhotoError(Exception):
    """A photo that cannot be read or written; the message is one line naming the file and the reason."""


class DiskFull(PhotoError):
    """A write that failed because the disk (or the user's quota) is full; nothing of it was left behind."""
