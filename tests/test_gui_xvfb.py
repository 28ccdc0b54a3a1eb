"""The review app as a real X11 window: `python -m gui.app FOLDER` under Xvfb, screenshotted from the
display server once the first photo's measures are on screen (test-output/gui_xvfb.png)."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from portraits import OUTPUT

ROOT = Path(__file__).resolve().parent.parent
SCREEN = (1400, 900)

pytestmark = pytest.mark.timeout(300)


def _missing_xcb_libraries() -> list[str]:
    """Shared libraries Qt's X11 platform plugin needs that this machine lacks (from ldd)."""
    import PySide6
    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.exists() or shutil.which("ldd") is None:
        return []
    listing = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True).stdout
    return sorted(set(re.findall(r"(\S+) => not found", listing)))


@pytest.fixture(scope="module")
def display():
    """A fresh Xvfb server on a display number it picks itself (-displayfd); its DISPLAY name."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (Debian package xvfb): the real-window test needs an X server")
    missing = _missing_xcb_libraries()
    if missing:
        pytest.skip(f"Qt's xcb platform plugin cannot load, missing: {', '.join(missing)} "
                    "(Debian packages libxcb-icccm4, libxcb-keysyms1, ...)")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0",
                               f"{SCREEN[0]}x{SCREEN[1]}x24", "-nolisten", "tcp"],
                              pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        number = pipe.readline().strip()
    if not number:
        server.kill()
        pytest.fail("Xvfb started but did not report a display number")
    yield f":{number}"
    server.terminate()
    server.wait(timeout=10)


def test_the_app_opens_a_folder_in_a_real_window(display, tmp_path, astronaut_rgb, grace_hopper_rgb):
    folder = tmp_path / "session"
    folder.mkdir()
    Image.fromarray(astronaut_rgb).save(folder / "astronaut.jpg", quality=95)
    Image.fromarray(grace_hopper_rgb).save(folder / "grace_hopper.jpg", quality=95)
    OUTPUT.mkdir(exist_ok=True)
    shot = OUTPUT / "gui_xvfb.png"
    shot.unlink(missing_ok=True)
    env = os.environ | {"DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    done = subprocess.run([sys.executable, "-m", "gui.app", str(folder), "--screenshot", str(shot),
                           "--quit-after", "200000"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    screen = np.asarray(Image.open(shot).convert("RGB")).astype(np.float32)
    assert screen.shape[:2] == (SCREEN[1], SCREEN[0])
    covered = (screen.max(axis=2) > 0).mean()            # Xvfb's bare root window is black
    assert covered > 0.9, f"only {covered:.0%} of the screen is drawn: is the window there?"
    # the astronaut's orange suit is on screen (the photo itself was drawn, not only the chrome)
    red, green, blue = screen[..., 0], screen[..., 1], screen[..., 2]
    suit = (red > 180) & (green > 60) & (green < 140) & (blue < 90)
    assert suit.mean() > 0.02
