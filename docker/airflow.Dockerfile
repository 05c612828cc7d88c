# Airflow with the drift engine installed, so that the DAG imports `drift` and nothing is
# pip-installed at run time. The tag follows the apache-airflow pin in requirements.txt.
# Build context: the repository root (docker-compose.yml sets it).
FROM apache/airflow:3.3.2-python3.11

# Task logs live on a named volume shared by the Airflow services; make sure the mount point
# exists and belongs to the airflow user (uid 50000, gid 0) so that the volume starts so too.
USER root
RUN mkdir -p /opt/airflow/logs /opt/airflow/src \
    && chown -R airflow:0 /opt/airflow/logs /opt/airflow/src
USER airflow

# The project with the same pins as everywhere else. pip runs as the airflow user, as the
# image requires; constraints.txt pins apache-airflow==3.3.2 too, so Airflow itself cannot move.
COPY --chown=airflow:0 pyproject.toml constraints.txt /opt/airflow/src/
COPY --chown=airflow:0 alerting /opt/airflow/src/alerting
COPY --chown=airflow:0 dashboards /opt/airflow/src/dashboards
COPY --chown=airflow:0 drift /opt/airflow/src/drift
COPY --chown=airflow:0 names.py /opt/airflow/src/
COPY --chown=airflow:0 monitor /opt/airflow/src/monitor
COPY --chown=airflow:0 provisioning /opt/airflow/src/provisioning
RUN pip install --no-cache-dir -c /opt/airflow/src/constraints.txt /opt/airflow/src \
    && rm -rf /opt/airflow/src/build /opt/airflow/src/*.egg-info \
    && python -c "import drift.engine, drift.publish, numpy, pandas, scipy"

# dags/ and data/ are bind-mounted from the repository (see docker-compose.yml), so renaming a
# batch from x.csv.off to x.csv on the host takes effect at the next run.
