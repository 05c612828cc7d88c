"""Grafana dashboards as code (grafanalib), rendered to the JSON that Grafana's API accepts."""
