"""The desktop review app (PySide6): `retouch-gui [FOLDER]`, `retouch gui`, `python -m gui.app`."""
