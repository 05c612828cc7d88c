"""The Stateful Monitor: keeps the latest drift results durably, exposes them to Prometheus
at /metrics, and shows them to people on a status page. Run with ``python -m monitor``."""
