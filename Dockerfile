# The suite, built from this checkout, running the root benchmarking job offline.
#   docker build -t jointbench .
#   docker run --rm -v "$PWD/workspace:/app/workspace" jointbench
FROM python:3.11.7-slim-bookworm

# PyPI's Linux torch wheel pulls the CUDA libraries (several GB); the CPU build is enough here.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLBACKEND=Agg \
    HF_HUB_OFFLINE=1 \
    PATH=/app/.venv/bin:$PATH

WORKDIR /app
RUN python -m venv .venv \
 && .venv/bin/pip install torch==2.13.0 --index-url "$TORCH_INDEX"
COPY . .
RUN bash scripts/setup.sh && jointbench doctor

CMD ["jointbench", "run", "benchmarkingjob.yaml"]
