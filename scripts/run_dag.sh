#!/usr/bin/env bash
# Run the simple_detector DAG once with real Airflow (SQLite, `airflow dags test`) and print
# the per-feature results. Extra arguments go to `airflow dags test` (e.g. --conf '{...}').
set -euo pipefail
cd "$(dirname "$0")/.."
export AIRFLOW_HOME=${AIRFLOW_HOME:-$PWD/.airflow}
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_FOLDER=$PWD/dags
log=$AIRFLOW_HOME/last-run.log
mkdir -p "$AIRFLOW_HOME"

echo "==> preparing the Airflow database in $AIRFLOW_HOME"
.venv/bin/airflow db migrate > "$AIRFLOW_HOME/migrate.log" 2>&1 \
  || { tail -20 "$AIRFLOW_HOME/migrate.log"; exit 1; }
echo "==> running the DAG simple_detector (full log: $log)"
if ! .venv/bin/airflow dags test simple_detector "$@" > "$log" 2>&1; then
  grep -E "ERROR|Error|error" "$log" | tail -5
  echo "the DAG failed; see $log" >&2
  exit 1
fi
grep -oE "reference [^ ]+, current [^ ]+" "$log" | head -1
# The apply_detection task logs the results table between these two lines.
sed -n '/drift results$/,/features drifted/p' "$log" | sed '1d; s/ \[unusual_prefix.*//'
grep -oE "(MONITOR_URL is not set: results not sent|run [0-9]+ of [^ ]+ sent to [^ ]+)" "$log" | head -1
