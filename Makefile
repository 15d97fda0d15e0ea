# Quick start:  make run   (install + launch the app)      make test   (install + run every test)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ARGS ?=
PYTEST_ARGS ?=
OFFLINE := GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 NO_PROXY=127.0.0.1,localhost

.PHONY: run test install install-dev install-gpu browser tiny tiny-demo clean

run: $(VENV)/.runtime
	$(PY) app.py $(ARGS)

test: $(VENV)/.dev browser
	$(OFFLINE) $(PY) -m pytest $(PYTEST_ARGS)

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev
# On a CUDA machine: the linear-attention kernels (see requirements-gpu.txt).
install-gpu: $(VENV)/.runtime
	$(PY) -m pip install -r requirements-gpu.txt

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Debian's Chromium for the browser test (Playwright's own browser download is not used).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: /usr/bin/chromium missing and apt-get unavailable: the browser test will be skipped"; fi; \
	fi

# A tiny random-weight MiniCPM-V 4.6 checkpoint, and the app running on it (offline, nonsense-speaking).
tiny: $(VENV)/.runtime
	$(PY) -m devtools.tiny checkpoints/tiny

tiny-demo: tiny
	$(PY) app.py --model checkpoints/tiny $(ARGS)

clean:
	rm -rf $(VENV) checkpoints .pytest_cache test-artifacts build dist *.egg-info
