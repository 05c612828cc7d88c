# Two commands do all set-up on a fresh machine:
#   make run    the whole flow locally: monitor, Prometheus, the DAG, alerts, Grafana files
#               (RUN_ARGS="--prometheus-port 9191 --keep-running" passes options on)
#   make test   lint and run the whole test suite
PYTHON ?= python3.11
VENV := .venv
RUN_ARGS ?=

# Debian packages the tests run for real: Prometheus (promtool), Alertmanager (amtool),
# headless Chromium, docker-compose 1.29 (validates docker-compose.yml offline: no engine),
# strace (shows the secret alertmanager.yml is created private, never chmod-ed after), and
# a Java runtime for the drift engine's Spark backend (Spark 4 runs on Java 17 or 21; bookworm
# ships 17), and shellcheck (actionlint runs it on the CI workflow's run: blocks).
SYSTEM_PACKAGES := prometheus prometheus-alertmanager chromium chromium-driver docker-compose strace \
	openjdk-17-jre-headless shellcheck
SYSTEM_COMMANDS := prometheus promtool amtool chromium chromedriver docker-compose strace java \
	shellcheck
# make run needs the Prometheus binary only.
RUN_PACKAGES := prometheus
RUN_COMMANDS := prometheus

# $(call apt_install,PACKAGES): install Debian packages (as root), quietly.
apt_install = apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -qq --no-install-recommends $(1)
# $(call install_missing,COMMANDS,PACKAGES): install PACKAGES when one of COMMANDS is missing.
install_missing = for c in $(1); do command -v $$c > /dev/null || missing=1; done; \
	if [ -n "$$missing" ]; then $(call apt_install,$(2)); fi

.PHONY: run test lint clean system-packages run-packages

# pip_install.py: pip's progress in a few lines (the first install takes about 2 minutes).
# Debian's Python has no ensurepip (so no venv) without its -venv package: python3.11-venv.
$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	$(PYTHON) -m ensurepip --version > /dev/null 2>&1 || \
		{ $(call apt_install,$(notdir $(PYTHON))-venv); }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python scripts/pip_install.py $(VENV)/pip-install.log \
		-c constraints.txt -r requirements-dev.txt
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $@

run: $(VENV)/.installed run-packages
	$(VENV)/bin/python scripts/run_local.py $(RUN_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint system-packages
	$(VENV)/bin/python -m pytest

system-packages:
	@$(call install_missing,$(SYSTEM_COMMANDS),$(SYSTEM_PACKAGES))

run-packages:
	@$(call install_missing,$(RUN_COMMANDS),$(RUN_PACKAGES))

clean:
	rm -rf $(VENV) .airflow .pytest_cache .ruff_cache
