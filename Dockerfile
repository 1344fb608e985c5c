# The intake worker (and CLI). Built from the same lock as CI: constraints.txt.
FROM python:3.11-slim AS runtime

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY pyproject.toml constraints.txt README.md ./
COPY flows ./flows
COPY sip ./sip
COPY service ./service
RUN pip install -c constraints.txt ".[noise-cancellation]" \
 && useradd --system --uid 10001 intake \
 && mkdir -p /app/data \
 && chown intake:intake /app/data \
 && chmod 0700 /app/data
# This machine's state: the spool of payloads waiting for the database (and the default
# SQLite file). A volume, writable by the non-root user, so it outlives the container.
ENV INTAKE_DATA_DIR=/app/data
VOLUME ["/app/data"]
USER intake

# The worker's health endpoint (INTAKE_WORKER__HTTP_PORT).
EXPOSE 8081
# SIGTERM drains: running calls finish before the process exits.
STOPSIGNAL SIGTERM
ENTRYPOINT ["intake"]
CMD ["worker"]
