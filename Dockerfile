# One image for `intake worker`, `intake serve` and `intake deliver` (docs/deploy.md); the
# command is the container's arguments: `docker run intake serve`.
#
# Installed the way the README says: the lock (constraints.txt) with the
# noise-cancellation extra. The build stage makes a virtual environment; the runtime stage
# gets only that environment, runs as a non-root user, and keeps its state (the spool of
# payloads waiting for the database, the default SQLite file) on a volume.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/intake
COPY pyproject.toml constraints.txt README.md ./
COPY flows ./flows
COPY sip ./sip
COPY service ./service
RUN /opt/intake/bin/pip install -c constraints.txt ".[noise-cancellation]"

FROM python:3.11-slim AS runtime
ENV PYTHONUNBUFFERED=1 \
    PATH=/opt/intake/bin:$PATH \
    INTAKE_DATA_DIR=/var/lib/intake \
    INTAKE_API__HOST=0.0.0.0 \
    INTAKE_LOG_FORMAT=json
COPY --from=build /opt/intake /opt/intake
COPY deploy/docker/healthcheck.py /opt/intake/healthcheck.py
RUN useradd --system --uid 10001 --home-dir /var/lib/intake intake \
 && mkdir -p /var/lib/intake \
 && chown intake:intake /var/lib/intake \
 && chmod 0700 /var/lib/intake
VOLUME ["/var/lib/intake"]
USER intake
WORKDIR /var/lib/intake

# intake serve: the HTTP API (INTAKE_API__PORT); intake worker: its health endpoint
# (INTAKE_WORKER__HTTP_PORT). intake deliver listens on nothing.
EXPOSE 8080 8081
# Asks whichever of the three runs here (deploy/docker/healthcheck.py). The worker may
# take a minute to prewarm its job processes.
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "/opt/intake/healthcheck.py"]
# SIGTERM drains: the worker lets running calls finish (INTAKE_WORKER__DRAIN_TIMEOUT), so
# give `docker stop` / the orchestrator that long (docker stop -t, stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["intake"]
CMD ["worker"]
