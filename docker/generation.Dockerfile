# syntax=docker/dockerfile:1.7
# Generation service: Stable Diffusion 1.5 img2img and txt2img (port 8003).
#
# Build from the repository root:  docker build -f docker/generation.Dockerfile -t batik/generation:0.1.0 .
#
# The CUDA base matches the torch wheel: torch 2.13.0's Linux wheels are built for CUDA 13.0 and bring
# cuBLAS, cuDNN and NCCL as pip packages, so the small `base` flavour (cudart, driver forward-compat,
# the NVIDIA_* variables the container toolkit reads) is all the image needs; the `cudnn-runtime`
# flavour would ship a second copy of those libraries (about 2 GB). Change BASE_IMAGE and
# TORCH_INDEX_URL together; for a CPU-only image (docker-compose.cpu.yml does this):
#   --build-arg BASE_IMAGE=ubuntu:24.04 --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG BASE_IMAGE=nvidia/cuda:13.0.2-base-ubuntu24.04

# ---- python-base: the distribution's Python 3.12, shared by both stages so that the venv's
# interpreter link (/usr/bin/python3) resolves in the runtime stage.
FROM ${BASE_IMAGE} AS python-base
ENV DEBIAN_FRONTEND=noninteractive
# DL3008: the base image tag is the pin; apt versions are not (Ubuntu drops superseded versions from
# the archive, which would break every rebuild), so a rebuild picks up security fixes.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# ---- builder: a venv with a CUDA build of torch, then the service's lock, then our code.
FROM python-base AS builder
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-venv \
 && rm -rf /var/lib/apt/lists/*
ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/venv

# Not constraints.txt: that pins the CPU wheel of the dev machines. The PyTorch index is an extra
# index so that torch's own dependencies still come from PyPI; pip prefers its "+cu130" build.
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu130
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --extra-index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}" \
 && echo "torch==${TORCH_VERSION}" > /opt/torch-constraint.txt

WORKDIR /src
# Dependencies get their own layer, rebuilt only when the lock changes: requirements/generation.txt
# pins every package of the "generation" extra (`make lock` writes it) except torch, installed above.
# The constraint keeps pip from swapping that torch build for another one.
COPY requirements/generation.txt ./requirements/
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --constraint /opt/torch-constraint.txt -r requirements/generation.txt
COPY pyproject.toml README.md ./
COPY services ./services
# --no-deps: everything is in the layer above. The import fails the build, not the first start,
# when a module is missing from the image.
RUN pip install --no-cache-dir --no-deps --force-reinstall . \
 && python -c "import services.generation.app"

# ---- runtime: no build tools and no pip cache; a non-root user with a numeric UID, so that
# Kubernetes' runAsNonRoot can verify it. /data/styles exists (owned by that user) so that a new
# `styles` volume takes that owner when generation mounts it first: the finetune-style job writes it.
FROM python-base AS runtime
RUN groupadd --gid 10001 batik \
 && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/batik --shell /usr/sbin/nologin batik \
 && mkdir -p /cache/huggingface /data/styles \
 && chown -R 10001:10001 /cache /data
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HOME=/cache/huggingface
# Model weights are downloaded at first start; keep them out of the container's writable layer.
VOLUME ["/cache/huggingface"]
USER 10001:10001
WORKDIR /home/batik
EXPOSE 8003
# Liveness only: /healthz answers while the models load; readiness (/readyz) is the orchestrator's job.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8003/healthz', timeout=4)"]
# One worker per container: each worker would load its own copy of the model; scale with replicas.
# Keep-alive outlives the gateway's pooled connections, so it never reuses one the server just closed.
# uvicorn's limits: services/common/server_limits.py (tests/deploy keeps them equal).
CMD ["uvicorn", "services.generation.app:app", "--host", "0.0.0.0", "--port", "8003", "--limit-concurrency", "512", "--backlog", "2048", "--timeout-keep-alive", "75"]
