"""retouch: offline portrait retouching where every edit is bounded and measured against the original."""
__version__ = "0.1.0"

from .io import read, write  # noqa: E402
from .measure import measure  # noqa: E402
from .pipeline import retouch  # noqa: E402
from .presets import load as load_preset  # noqa: E402

__all__ = ["read", "write", "analyse", "retouch", "measure", "load_preset", "__version__"]


def analyse(photo, **options):
    """Find and analyse every face (imported on first use: mediapipe and torch are slow to load)."""
    from .face import analyse as _analyse
    return _analyse(photo, **options)
