# syntax=docker/dockerfile:1.7
# Library: every generated design with its provenance (port 8004). Metadata in SQL (PostgreSQL in
# deployments, LIBRARY_DB_URL; SQLite in LIBRARY_DIR otherwise), PNGs in a content-addressed store on
# the /data/library volume. Internal: only the gateway reaches it. No torch, no model.
#
# Build from the repository root:  docker build -f docker/library.Dockerfile -t batik/library:0.1.0 .
#
# The same image runs the migrations (`batik db upgrade`: the k8s Job) and backups
# (`batik designs export --out /data/library/backup.tar`).

# ---- builder: a venv with the "library" lock, then our code.
FROM python:3.12.12-slim-bookworm AS builder
ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
# requirements/library.txt pins every package of the "library" extra (`make lock` writes it).
COPY requirements/library.txt ./requirements/
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install -r requirements/library.txt
COPY pyproject.toml README.md ./
COPY services ./services
RUN pip install --no-cache-dir --no-deps --force-reinstall . \
 && python -c "import services.library.app"

# ---- runtime: a non-root user with a numeric UID that owns the data volume.
FROM python:3.12.12-slim-bookworm AS runtime
RUN groupadd --gid 10001 batik \
 && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/batik --shell /usr/sbin/nologin batik \
 && mkdir -p /data/library \
 && chown -R 10001:10001 /data
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LIBRARY_DIR=/data/library
VOLUME ["/data/library"]
USER 10001:10001
WORKDIR /home/batik
EXPOSE 8004
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8004/healthz', timeout=4)"]
# uvicorn's limits: services/common/server_limits.py (tests/deploy keeps them equal).
CMD ["uvicorn", "services.library.app:app", "--host", "0.0.0.0", "--port", "8004", "--limit-concurrency", "512", "--backlog", "2048", "--timeout-keep-alive", "75"]
