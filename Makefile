# Vigil: two commands. `make run` starts the workstation, `make test` runs the whole suite.
# Both create .venv when it is missing and install everything the repo needs.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Debian packages: PortAudio and XCB libraries for Qt/audio, Xvfb for a virtual screen, a CJK font (Chinese UI),
# espeak-ng, ffmpeg, pocketsphinx-testdata (LibriVox speech) and the Asterisk English prompts (real short
# answers, 16-kHz G.722) for the tests, poppler-utils for PDFs.
APT_PACKAGES := libportaudio2 libxcb-icccm4 libxcb-keysyms1 xvfb fonts-wqy-microhei espeak-ng ffmpeg poppler-utils pocketsphinx-testdata asterisk-core-sounds-en-g722 asterisk-core-sounds-en

.PHONY: run test lint bench package system-packages clean

run: $(STAMP)
	$(VENV)/bin/vigil gui

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/lint-imports
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

bench: $(STAMP)
	$(VENV)/bin/vigil bench --720p

# The onedir PyInstaller bundle dist/vigil/ (build/ keeps PyInstaller's cache); installer/README.md says more.
package: $(STAMP)
	$(PY) -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller installer/vigil.spec
	@du -sh dist/vigil

system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "Vigil needs these Debian packages:$$missing"; \
		echo "install them with: sudo apt-get install$$missing"; \
		if command -v dpkg >/dev/null; then exit 1; fi; \
	fi

$(STAMP): pyproject.toml | system-packages
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24"
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache build dist *.egg-info
