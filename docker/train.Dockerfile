# syntax=docker/dockerfile:1.7
# Training image: the one-shot fine-tuning jobs, `batik finetune` (a BLIP-2 LoRA adapter) and
# `batik finetune-style` (a Stable Diffusion style LoRA). No server: compose and k8s give each job
# its command. Both read an index (FAISS), score and plot their runs (sacrebleu, rouge-score,
# matplotlib) and train with QLoRA / 8-bit AdamW on CUDA (bitsandbytes): the `train` extra, which
# the captioning image (a service) does not install.
#
# Build from the repository root:  docker build -f docker/train.Dockerfile -t batik/train:0.1.0 .
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

# ---- builder: a venv with a CUDA build of torch, then the training lock, then our code.
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
# Dependencies get their own layer, rebuilt only when the lock changes: requirements/train.txt
# pins every package of the "train" extra (`make lock` writes it) except torch, installed above.
# The constraint keeps pip from swapping that torch build for another one.
COPY requirements/train.txt ./requirements/
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --constraint /opt/torch-constraint.txt -r requirements/train.txt
COPY pyproject.toml README.md ./
COPY services ./services
# --no-deps: everything is in the layer above. The jobs import their heavy modules lazily, so the
# build imports them here: a distribution missing from the image fails the build, not the job.
RUN pip install --no-cache-dir --no-deps --force-reinstall . \
 && python -c "import services.cli, faiss, sacrebleu, rouge_score, matplotlib, diffusers, peft" \
 && batik finetune --help >/dev/null \
 && batik finetune-style --help >/dev/null

# ---- runtime: no build tools and no pip cache; a non-root user with a numeric UID, so that
# Kubernetes' runAsNonRoot can verify it.
FROM python-base AS runtime
RUN groupadd --gid 10001 batik \
 && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/batik --shell /usr/sbin/nologin batik \
 && mkdir -p /cache/huggingface /data/index /data/adapters /data/styles \
 && chown -R 10001:10001 /cache /data
COPY --from=builder /opt/venv /opt/venv
# MPLBACKEND: no display in a job; the loss plot is written as a PNG.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HOME=/cache/huggingface \
    MPLBACKEND=Agg
# Base weights are downloaded by the first run; keep them out of the container's writable layer.
VOLUME ["/cache/huggingface"]
USER 10001:10001
WORKDIR /home/batik
# A job, not a service: no port and no HEALTHCHECK (Compose and Kubernetes watch the exit status).
# The jobs set their own command; without one the image lists them.
CMD ["batik", "--help"]
