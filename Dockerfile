# The Wyoming server (wyoming-qwen-asr) as a container image.
#
#   podman build --format docker -t wyoming-qwen-asr .      (or: docker build -t ...)
#
# BASE may be any Debian bookworm (or newer) image with python3 >= 3.11 and its venv module:
# the official python image (default) or a plain Debian root with python3 + python3-venv.
# Nothing here relies on where a particular base keeps Python.
ARG BASE=python:3.11-slim-bookworm

# -- build: compile pyalsaaudio (mic extra) into a virtualenv ---------------------------------
FROM ${BASE} AS build
ENV DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# The official python images ship Python's headers; Debian's python3 needs python3-dev.
RUN set -eu; \
    packages="gcc libc6-dev libasound2-dev"; \
    if ! python3 -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("include"), "Python.h")))'; then \
        packages="$packages python3-dev"; \
    fi; \
    apt-get update; \
    apt-get install -y --no-install-recommends $packages; \
    apt-get clean; rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
COPY pyproject.toml README.md /src/
COPY .ci/constraints.txt /src/.ci/constraints.txt
COPY custom_components/qwen_asr/realtime /src/custom_components/qwen_asr/realtime
COPY wyoming_server /src/wyoming_server
# The versions CI tests (constraints); pip's cache survives between builds. Behind a proxy
# that re-signs TLS, give pip its settings as build secrets (nothing of them stays in the
# image): --secret id=pip_conf,src=my-pip.conf [--secret id=pip_ca,src=proxy-ca.crt] with
# "cert = /run/secrets/pip_ca" in my-pip.conf. pip and setuptools leave the final venv.
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=secret,id=pip_conf,target=/etc/pip.conf \
    --mount=type=secret,id=pip_ca \
    python3 -m venv /opt/wyoming-qwen-asr \
    && /opt/wyoming-qwen-asr/bin/pip install --disable-pip-version-check --no-warn-script-location \
        -c /src/.ci/constraints.txt "/src[zeroconf,mic]" \
    && /opt/wyoming-qwen-asr/bin/pip uninstall --disable-pip-version-check -q -y pip setuptools \
    && /opt/wyoming-qwen-asr/bin/wyoming-qwen-asr --version

# -- runtime: the virtualenv and the shared libraries it needs, nothing to build with ----------
FROM ${BASE}
ENV DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/wyoming-qwen-asr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# libasound2: the microphone; ca-certificates: verifying Qwen's wss:// endpoints.
RUN set -eu; \
    apt-get update; \
    apt-get install -y --no-install-recommends libasound2 ca-certificates; \
    apt-get clean; rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin; \
    useradd --uid 10300 --user-group --groups audio --home-dir /nonexistent \
        --no-create-home --shell /usr/sbin/nologin wyoming
COPY --from=build /opt/wyoming-qwen-asr /opt/wyoming-qwen-asr

# Every option is an environment variable (README, "Options"); the key comes from a secret
# file (docker/podman secret "qwen_api_key"), or QWEN_API_KEY if set.
ENV QWEN_ASR_URI=tcp://0.0.0.0:10300 \
    QWEN_API_KEY_FILE=/run/secrets/qwen_api_key
USER wyoming
EXPOSE 10300
# Describe -> Info on the URI the server listens on (QWEN_ASR_URI).
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD ["wyoming-qwen-asr", "health", "--timeout", "5"]
# The server drains requests in progress for up to 30 s after SIGTERM.
STOPSIGNAL SIGTERM
ENTRYPOINT ["wyoming-qwen-asr"]
CMD ["serve"]
