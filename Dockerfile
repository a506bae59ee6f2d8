# page-tracker's image: a builder stage that tests and builds the wheel, and a slim runtime.
# The base is an ARG so air-gapped CI can swap in a local stand-in (see scripts/container-ci.sh).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/build-venv/bin:$PATH
RUN python3 -m venv /opt/build-venv
WORKDIR /build

# The pinned dependencies alone first: this layer is reused until constraints.txt changes.
COPY pyproject.toml constraints.txt ./
RUN python -m pip install --requirement constraints.txt

COPY README.md ./
COPY src/ src/
COPY test/ test/
RUN python -m pip install --no-deps . \
    && python -m ruff check src test \
    && python -m ruff format --check src test \
    && python -m bandit --quiet --configfile pyproject.toml --recursive src \
    && python -m mypy src \
    && python -m pytest -p no:cacheprovider test/unit \
    && python -m pytest -p no:cacheprovider -m fake test/integration \
    && python -m pip wheel --no-deps --wheel-dir dist .

FROM ${PYTHON_IMAGE} AS runtime
# The commit built, for the page_tracker_build_info metric (make image passes it).
ARG REVISION=unknown
# Logs as one JSON object per line, and metrics on their own port, not the public one.
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PAGE_TRACKER_LOG_FORMAT=json \
    PAGE_TRACKER_METRICS_PORT=9464 \
    PAGE_TRACKER_REVISION=${REVISION}
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin page-tracker \
    && python3 -m venv "$VIRTUAL_ENV"
COPY --from=builder /build/constraints.txt /build/dist/ /tmp/install/
RUN python -m pip install --constraint /tmp/install/constraints.txt /tmp/install/*.whl \
    && rm -rf /tmp/install

# Numeric, so orchestrators can check it is not root without reading /etc/passwd.
USER 10001
WORKDIR /home/page-tracker
EXPOSE 8000 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"]
CMD ["page-tracker", "serve", "--host", "0.0.0.0", "--port", "8000"]
