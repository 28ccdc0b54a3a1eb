"""Shared fixtures: the public-domain test portraits (see retouch.samples), a sample session, and a count
of the calls of every registered edit."""
from __future__ import annotations

from pathlib import Path

import dataclasses

import numpy as np
import pytest

from retouch import edits, samples
from retouch.io import unit_float
from retouch.photo import Photo


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)      # shared by every test: nobody may change it
    return array


@pytest.fixture(scope="session")
def astronaut_rgb() -> np.ndarray:
    """skimage's astronaut, uint8 RGB 512x512, read-only."""
    return _read_only(samples.astronaut_rgb().copy())


@pytest.fixture(scope="session")
def grace_hopper_rgb() -> np.ndarray:
    """matplotlib's Grace Hopper, uint8 RGB 600 high and 512 wide, read-only."""
    return _read_only(samples.grace_hopper_rgb().copy())


@pytest.fixture
def astronaut(astronaut_rgb: np.ndarray) -> Photo:
    """A fresh Photo of the astronaut (float32, 8-bit source, no metadata)."""
    return Photo(unit_float(astronaut_rgb))


@pytest.fixture
def grace_hopper(grace_hopper_rgb: np.ndarray) -> Photo:
    """A fresh Photo of Grace Hopper (float32, 8-bit source, no metadata)."""
    return Photo(unit_float(grace_hopper_rgb))


@pytest.fixture(scope="session")
def portrait_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session folder as `make demo` writes it: both portraits as JPEGs and a DNG (do not modify)."""
    folder = tmp_path_factory.mktemp("session")
    samples.write_sample_session(folder)
    return folder


@pytest.fixture
def calls(monkeypatch):
    """How often each edit's function runs from now on (the registry's entries count their calls)."""
    counted = {}
    for name, edit in edits.load_all().items():
        def counting(photo, faces, params, *, _apply=edit.apply, _name=name):
            counted[_name] = counted.get(_name, 0) + 1
            return _apply(photo, faces, params)
        monkeypatch.setitem(edits.REGISTRY, name, dataclasses.replace(edit, apply=counting))
    return counted
