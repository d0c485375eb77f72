# syntax=docker/dockerfile:1.7
# Dashboard: the Streamlit app for designers (port 8501). A client of the gateway only
# (DASHBOARD_GATEWAY_URL); it holds no model and needs no GPU.
#
# Build from the repository root:  docker build -f docker/dashboard.Dockerfile -t batik/dashboard:0.1.0 .

# ---- builder: a venv with the "dashboard" lock, then our code.
FROM python:3.12.12-slim-bookworm AS builder
ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
# Dependencies get their own layer, rebuilt only when the lock changes: requirements/dashboard.txt
# pins every package of the "dashboard" extra (`make lock` writes it).
COPY requirements/dashboard.txt ./requirements/
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install -r requirements/dashboard.txt
COPY pyproject.toml README.md ./
# The dashboard reuses the wire contracts in services/common.
COPY services ./services
COPY dashboard ./dashboard
RUN pip install --no-cache-dir --no-deps --force-reinstall .

# ---- runtime
FROM python:3.12.12-slim-bookworm AS runtime
RUN groupadd --gid 10001 batik \
 && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/batik --shell /usr/sbin/nologin batik
COPY --from=builder /opt/venv /opt/venv
# `streamlit run` takes a script path, not a module.
COPY dashboard /app/dashboard
# The upload box takes what the gateway takes: its GATEWAY_MAX_UPLOAD_BYTES default (10485760) in
# MiB. Raise both together (tests/deploy checks the default pair).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_SERVER_MAX_UPLOAD_SIZE=10 \
    DASHBOARD_GATEWAY_URL=http://gateway:8000
USER 10001:10001
WORKDIR /app
EXPOSE 8501
# Streamlit serves its own liveness endpoint; it has no /healthz route of ours.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]
CMD ["streamlit", "run", "/app/dashboard/app.py", "--server.address", "0.0.0.0", "--server.port", "8501"]
