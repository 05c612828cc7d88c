# The toolkit image: the Stateful Monitor (`python -m monitor`) and Grafana as code
# (`python provision.py ...`). docker-compose.yml runs it as the `monitor` and `provision`
# services; it works on its own too:
#   docker build -t drift-monitoring/toolkit:0.1.0 .
#   docker run --rm -p 5445:5445 -e MONITOR_TOKEN=... drift-monitoring/toolkit:0.1.0
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# A fixed non-root uid/gid; the monitor's state directory is created here so that a named
# volume mounted on it starts out owned by that user.
ARG APP_UID=10001
RUN groupadd --system --gid "${APP_UID}" drift \
    && useradd --system --uid "${APP_UID}" --gid drift --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin drift \
    && mkdir -p /var/lib/monitor \
    && chown "${APP_UID}:${APP_UID}" /var/lib/monitor

WORKDIR /app

# The project with exactly the pins the tests ran with (nothing is installed at run time).
COPY pyproject.toml constraints.txt ./
COPY alerting ./alerting
COPY dashboards ./dashboards
COPY drift ./drift
COPY names.py ./
COPY monitor ./monitor
COPY provisioning ./provisioning
RUN pip install --no-cache-dir -c constraints.txt . \
    && rm -rf build ./*.egg-info \
    && python -c "import drift, monitor.app, provisioning.plan, grafanalib"

# provision.py finds grafana.yaml and environments/ next to the provisioning package it
# imports from /app.
COPY provision.py grafana.yaml ./
COPY environments ./environments

USER ${APP_UID}:${APP_UID}
EXPOSE 5445
CMD ["python", "-m", "monitor", "--host", "0.0.0.0"]
