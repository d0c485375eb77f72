# syntax=docker/dockerfile:1.7
# Gateway: the only public API (port 8000). Runs the RAG flow over the three model services, with
# Redis for the cache, rate limits and job state. No torch: the gateway only tokenises prompts.
#
# Build from the repository root:  docker build -f docker/gateway.Dockerfile -t batik/gateway:0.1.0 .
#
# Pinned to a patch release of Python on Debian 12; bump the tag deliberately (and rebuild) rather than
# pick up whatever 3.12-slim points at today. See docs/DEPLOY.md for pinning by digest.

# ---- builder: a venv with the "gateway" lock, then our code.
FROM python:3.12.12-slim-bookworm AS builder
ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
# Dependencies get their own layer, rebuilt only when the lock changes: requirements/gateway.txt
# pins every package of the "gateway" extra (`make lock` writes it).
COPY requirements/gateway.txt ./requirements/
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install -r requirements/gateway.txt
COPY pyproject.toml README.md ./
# gateway/ imports services.common (errors, settings, contracts).
COPY services ./services
COPY gateway ./gateway
RUN pip install --no-cache-dir --no-deps --force-reinstall . \
 && python -c "import gateway.app"

# ---- runtime: no pip cache; a non-root user with a numeric UID, so that Kubernetes' runAsNonRoot
# can verify it.
FROM python:3.12.12-slim-bookworm AS runtime
RUN groupadd --gid 10001 batik \
 && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/batik --shell /usr/sbin/nologin batik \
 && mkdir -p /cache/huggingface \
 && chown -R 10001:10001 /cache
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HOME=/cache/huggingface
# The SD tokenizer used for prompt fusion is downloaded at first start.
VOLUME ["/cache/huggingface"]
USER 10001:10001
WORKDIR /home/batik
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# Behind a reverse proxy or Ingress: take the client address from X-Forwarded-For (for rate limits
# and logs), but only from the proxies in FORWARDED_ALLOW_IPS (uvicorn reads it; comma-separated
# addresses or networks). Trusting every peer let any client choose its rate-limit bucket with the
# header. Set it to your ingress or proxy addresses (docs/DEPLOY.md).
ENV FORWARDED_ALLOW_IPS=127.0.0.1
# uvicorn's limits: services/common/server_limits.py (tests/deploy keeps them equal).
CMD ["uvicorn", "gateway.app:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers", "--limit-concurrency", "1024", "--backlog", "2048", "--timeout-keep-alive", "5"]
