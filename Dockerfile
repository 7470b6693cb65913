# The suite, built from this checkout, running the root benchmarking job offline.
#   docker build -t jointbench .
#   docker run --rm -v "$PWD/workspace:/app/workspace" jointbench
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLBACKEND=Agg \
    HF_HUB_OFFLINE=1

WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY . .
RUN pip install --no-deps -e . && jointbench doctor

CMD ["jointbench", "run", "benchmarkingjob.yaml"]
