#!/bin/bash
# Prepare, here, what scripts/gpu_train_face_members.sh needs on a GPU machine that has JAX but
# no TensorFlow, Keras or network: the Keras wheels for its Python (.whl/) and FER-2013 packed
# into one lossless .npz (.devdata/fer.npz). Both paths are git-ignored; pass them to the
# device tool as carry. FER_DIR defaults to ../shared/data/fer2013; DEVICE_PY to 3.12.
set -euo pipefail
cd "$(dirname "$0")/.."
FER_DIR=${FER_DIR:-../shared/data/fer2013}
DEVICE_PY=${DEVICE_PY:-3.12}
# the versions this checkout's venv trains with, so both machines run the same Keras
pins=$(.venv/bin/python -c "from importlib.metadata import version as v
print(' '.join(f'{p}=={v(p)}' for p in ('keras', 'namex', 'optree')))")
rm -rf .whl && mkdir -p .whl .devdata
.venv/bin/pip download --quiet --no-deps --only-binary=:all: --python-version "$DEVICE_PY" \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux_2_27_x86_64 --platform manylinux_2_28_x86_64 --platform any \
  -d .whl $pins
[ -f .devdata/fer.npz ] || .venv/bin/python -m moosic_core.training.face_accelerator pack \
  --fer-dir "$FER_DIR" --out .devdata/fer.npz
ls -la .whl .devdata
