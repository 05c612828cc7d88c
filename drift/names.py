"""Names shared by the platform's parts: defined once, imported everywhere."""

MONITOR_PORT = 5445
MONITOR_URL_ENV = "MONITOR_URL"
MONITOR_TOKEN_ENV = "MONITOR_TOKEN"

# The course's monitor API, kept for existing DAGs and Grafana rules:
# POST /drift?feature=F&metric=M&value=V sets the gauge drift{feature, metric}.
LEGACY_PATH = "/drift"
LEGACY_METRICS = ("p_value", "p_value_adjusted", "statistic", "effect_size", "drifted")
