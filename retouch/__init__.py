"""retouch: offline portrait retouching where every edit is bounded and measured against the original.

The public API is imported on first use (PEP 562): `retouch --help`, `edits` and `presets` need only the
version, and each command imports what it needs when it needs it.
"""
import importlib
import sys
import types

__version__ = "0.1.0"

__all__ = ["read", "write", "analyse", "retouch", "measure", "load_preset", "__version__"]

_PUBLIC = {"read": ("io", "read"), "write": ("io", "write"), "retouch": ("pipeline", "retouch"),
           "load_preset": ("presets", "load"), "analyse": ("face", "analyse")}


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _PUBLIC[name]
    value = getattr(importlib.import_module(f".{module}", __name__), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """`retouch.measure` is the public function, though a submodule has that name too: importing the
    submodule (as the pipeline does) records it on the package, and that must not replace the function."""

    @property
    def measure(self):
        return importlib.import_module(".measure", __name__).measure

    @measure.setter
    def measure(self, submodule) -> None:
        pass


sys.modules[__name__].__class__ = _Package
