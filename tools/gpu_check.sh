#!/bin/bash
# transferkit on a CUDA machine: the test suite (device auto -> cuda), the demo twice (the
# second reads the first's cached sources: does a GPU rerun move?), and the ops torch has no
# deterministic CUDA kernel for. Run from the repository root on the GPU machine; results go
# to $OUT (default ./gpu-check). Packages that machine lacks (pydantic, mlxtend...) can travel
# as wheels in .whl/ (pip download --python-version ... --platform manylinux...), installed here
# into /tmp/site. BENCHMARKS.md ("On a GPU") has what it printed on an H200.
set -u
OUT=${OUT:-gpu-check}; mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
fi
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1 MPLBACKEND=Agg
nvidia-smi -L
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.version.cuda)" || exit 4
START=$(date +%s)
timeout "${TESTS_S:-300}" python3 -m pytest -p no:cacheprovider -rfE --durations=12 > "$OUT/tests.log" 2>&1
echo "pytest rc=$? in $(( $(date +%s) - START )) s"; tail -n 5 "$OUT/tests.log"
for run in 1 2; do
  START=$(date +%s)
  timeout "${DEMO_S:-150}" python3 -m transferkit demo --out "/tmp/demo-cuda$run" > "$OUT/demo$run.log" 2>&1
  echo "demo $run rc=$? in $(( $(date +%s) - START )) s"; tail -n 22 "$OUT/demo$run.log"
  cp "/tmp/demo-cuda$run/summary.json" "$OUT/summary$run.json"
done
python3 - <<'PY' 2>&1 | tee "$OUT/nondeterministic.log"
import warnings

import numpy as np
import torch
from sklearn.datasets import load_digits

from transferkit import TransferClassifier, pretrain

torch.use_deterministic_algorithms(True, warn_only=True)  # warns, naming each op with no deterministic kernel
d = load_digits()
x, y = d.images.astype(np.float32) / 16, d.target
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always")
    src = pretrain(x[y < 5], y[y < 5], epochs=1, device="cuda")
    TransferClassifier("finetune", source=src, device="cuda", method_params={"steps": 20}).fit(x[y >= 5][:50], y[y >= 5][:50])
ops = {str(w.message).split(" does not have a deterministic")[0] for w in seen if "deterministic" in str(w.message)}
print("no deterministic CUDA kernel:", sorted(ops))
PY
