"""Names shared by the platform's parts: defined once, imported everywhere."""

MONITOR_PORT = 5445
PROMETHEUS_PORT = 9090  # published on the host by Compose and by the local run
# Prometheus's scrape job for the monitor (prometheus/prometheus.yml): its `up` series
# tells whether the monitor answers.
MONITOR_JOB = "drift-monitor"
MONITOR_URL_ENV = "MONITOR_URL"
MONITOR_TOKEN_ENV = "MONITOR_TOKEN"
# The DAG's schedule, a duration such as 10m (unset or empty: manual runs only).
SCHEDULE_ENV = "DRIFT_SCHEDULE"
# The DAG's defaults for its params data_dir (the folder with control/ and audit/) and dataset.
DATA_DIR_ENV = "DRIFT_DATA_DIR"
DATASET_ENV = "DRIFT_DATASET"

# The monitor's JSON API: one request carries one drift run.
RUNS_PATH = "/api/v1/runs"
DATASETS_PATH = "/api/v1/datasets"

# Prometheus metrics exposed by the monitor at /metrics.
DATASET_LABEL = "dataset"
FEATURE_LABEL = "feature"
BATCH_LABEL = "batch"  # which side of a comparison: "reference" or "current"
KIND_LABEL, TEST_LABEL, STATUS_LABEL = "kind", "test", "status"  # on FEATURE_INFO
# On RUN_INFO: the file names of the batches compared, and the correction used.
CURRENT_LABEL, REFERENCE_LABEL, CORRECTION_LABEL = "current", "reference", "correction"
P_VALUE = "drift_feature_p_value"
P_VALUE_ADJUSTED = "drift_feature_p_value_adjusted"
STATISTIC = "drift_feature_statistic"
EFFECT_SIZE = "drift_feature_effect_size"
# The effect size a feature must reach, with p below alpha, to have drifted (per feature).
EFFECT_SIZE_THRESHOLD = "drift_feature_effect_size_threshold"
DRIFTED = "drift_feature_drifted"
SAMPLE_SIZE = "drift_feature_sample_size"
MISSING_RATIO = "drift_feature_missing_ratio"
FEATURE_INFO = "drift_feature_info"
FEATURES_TESTED = "drift_dataset_features_tested"
FEATURES_SKIPPED = "drift_dataset_features_skipped"  # absent, all missing, constant, dates
FEATURES_DRIFTED = "drift_dataset_features_drifted"
DATASET_DRIFTED = "drift_dataset_drifted"
DATASET_ALPHA = "drift_dataset_alpha"
LAST_RUN_TIMESTAMP = "drift_dataset_last_run_timestamp_seconds"
# Only for a dataset whose runs come on a schedule: how long it may go without a run.
DATASET_STALE_AFTER = "drift_dataset_stale_after_seconds"
RUN_INFO = "drift_dataset_run_info"

# The course's API, kept for existing DAGs and Grafana rules:
# POST /drift?feature=F&metric=M&value=V sets the gauge drift{feature, metric}.
LEGACY_PATH = "/drift"
LEGACY_GAUGE = "drift"

# Grafana: the alert label that routes drift alerts to Telegram (the rule sets it, the
# notification policy matches it), and the uids that make re-applies idempotent.
ALERT_LABEL = "drift_threshold_detected"
STALE_LABEL = "drift_run_stale"  # set by the rule that fires when no run came for too long
MONITOR_DOWN_LABEL = "drift_monitor_down"  # set by the rule that fires when no scrape works
ALERT_LABEL_VALUE = "true"
