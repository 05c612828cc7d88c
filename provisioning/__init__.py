"""Grafana as code: the machinery behind ``python provision.py``. The definitions live in
``dashboards/`` and ``alerting/``; this package reads settings, talks to Grafana's HTTP API,
plans and applies changes, and exports file-provisioning files."""
