#!/bin/bash
# Train face-model members on a GPU machine that has JAX but no TensorFlow (see the README,
# "Face mood"). Carry: the Keras wheels in .whl/ (keras, namex, optree for its Python) and the
# FER-2013 pack (PACK, default .devdata/fer.npz), both made by scripts/prepare_gpu_round.sh. Each argument is one --members list, trained
# by its own process (several share the GPU); results come back as $OUT/p<i>.tar, to unpack
# and `python -m moosic_core.training.face_accelerator import --from` here.
# Steps: install Keras, check that Keras-on-JAX trains here (else fall back to torch), then train
# members in parallel processes until the deadline, and pack each process's results.
set -u
cd "$(dirname "$0")/.."
[ -n "${SKIP_PIP:-}" ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD${EXTRA_PATH:-} PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false XLA_PYTHON_CLIENT_MEM_FRACTION=0.12
PY=${PY:-python3}; PACK=${PACK:-.devdata/fer.npz}
MINUTES=${MINUTES:-7.4}
nvidia-smi -L; nproc; $PY -c "import jax, numpy, ml_dtypes; print('jax', jax.__version__, jax.devices(), 'numpy', numpy.__version__, 'ml_dtypes', ml_dtypes.__version__)"
export KERAS_BACKEND=jax
if ! timeout 120 $PY - <<'PY'
import keras, numpy as np
from moosic_core.training.face import training_model, _targets
from moosic_core.training.face_views import model_input, predict_tta
from moosic_core.training.face_models import ARCHITECTURES
m = ARCHITECTURES["compact"](); t = training_model(m, 1)
t.compile(optimizer="adamw", loss="categorical_crossentropy", jit_compile=True)
x = np.random.randint(0, 255, (64, 48, 48)).astype(np.uint8); y = np.random.randint(0, 7, 64)
t.fit(model_input(x), _targets(y, 7, 0.1), batch_size=32, epochs=1, verbose=0)
print("preflight ok", keras.backend.backend(), t.jit_compile, predict_tta(m, x).shape)
PY
then echo "preflight failed on jax: falling back to torch"; export KERAS_BACKEND=torch; fi
i=0
for spec in "$@"; do
  i=$((i+1))
  $PY -m moosic_core.training.face_accelerator train --pack "$PACK" \
    --out-dir /tmp/p$i --members "$spec" --minutes "$MINUTES" > /tmp/p$i.log 2>&1 &
done
wait
for j in $(seq 1 $i); do
  cp /tmp/p$j.log /tmp/p$j/ 2>/dev/null || { mkdir -p /tmp/p$j; cp /tmp/p$j.log /tmp/p$j/; }
  tar -cf "$OUT/p$j.tar" -C /tmp/p$j .
  grep -c "INFO epoch" /tmp/p$j.log; tail -2 /tmp/p$j.log
done
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv
ls -la "$OUT"
