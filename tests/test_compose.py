"""docker-compose.yml, checked statically: no Docker engine runs here or in CI.

Debian's docker-compose 1.29 validates the file against the Compose specification (service
keys, depends_on conditions, interpolation) without an engine; the rest is read from the YAML
and compared with the toolkit's own definitions: names, grafana.yaml through
provisioning.settings, the environment names the code reads, Airflow's option list, the
Dockerfiles and prometheus/prometheus.yml (which promtool checks, and the real Prometheus
binary starts with). The optional Compose profile `alertmanager` is checked the same way.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from fnmatch import fnmatch
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import SplitResult, urlsplit

import pytest
import requests
import yaml

from conftest import PROMETHEUS, PROMTOOL, ROOT, free_port, stop_process_group, wait_for
from drift.schedule import parse_schedule
from fake_grafana import PROFILES
from names import (
    DATA_DIR_ENV,
    MONITOR_JOB,
    MONITOR_PORT,
    MONITOR_TOKEN_ENV,
    MONITOR_URL_ENV,
    SCHEDULE_ENV,
)
from provisioning.settings import (
    DEFAULT_FILE,
    ENVIRONMENTS,
    Settings,
    duration_seconds,
    load_settings,
)

COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERIGNORE = ROOT / ".dockerignore"
PROMETHEUS_CONFIG = ROOT / "prometheus" / "prometheus.yml"
DOCKER_COMPOSE = Path("/usr/bin/docker-compose")
# The code that reads the environment; the names it reads are collected from it by grep.
# The definitions (alerting/, dashboards/) read variables through Env("NAME").
CODE_READING_ENV = [
    ROOT / folder
    for folder in ("drift", "monitor", "provisioning", "dags", "alerting", "dashboards")
]
CODE_READING_ENV_FILES = [ROOT / "provision.py", ROOT / "names.py"]

ALERT_BUDGET_SECONDS = 30  # the settings must let a drifted run fire within this
ALERTMANAGER_PORT = 9093
# Published on the host, by service: the Airflow UI, Grafana, Prometheus, the monitor and
# Alertmanager (with the alertmanager profile).
PUBLISHED = {
    "airflow-apiserver": 8080,
    "grafana": 3000,
    "prometheus": 9090,
    "monitor": MONITOR_PORT,
    "alertmanager": ALERTMANAGER_PORT,
}
# The optional profile: its services, and the files its one-shot exports into their volume.
ALERTMANAGER_PROFILE = "alertmanager"
PROFILE_SERVICES = {"alerting-config", "alertmanager"}
ALERTING_VOLUME = "alerting-config"
EXPORTED_FILES = {"rules.yml", "alertmanager.yml", "templates.tmpl"}
# Alertmanager has telegram_configs since 0.24; the export writes a 0.25 configuration.
OLDEST_ALERTMANAGER = (0, 25)
# Postgres majors both Airflow 3 and the PostgreSQL project support (13 ended in Nov 2025).
SUPPORTED_POSTGRES = range(14, 18)
AIRFLOW_COMPONENTS = {"api-server", "scheduler", "dag-processor", "triggerer"}
SECRET_NAME = re.compile(r"TOKEN|PASSWORD|SECRET|KEY")
REQUIRED_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*):\?(?P<message>[^}]+)\}")
ANY_REFERENCE = re.compile(r"(?<!\$)\$\{?(?P<name>[A-Za-z_][A-Za-z0-9_]*)")
VERSION = re.compile(r"\d+\.\d+")
TELEGRAM_TOKEN_SHAPE = re.compile(r"\d{6,}:[A-Za-z0-9_-]{30,}")


# --- reading the files ------------------------------------------------------------------------


@cache
def compose() -> dict[str, Any]:
    """The file as YAML (anchors and merge keys resolved), not interpolated."""
    return yaml.safe_load(COMPOSE_FILE.read_text())


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def environment(service: str) -> dict[str, str]:
    env = services()[service].get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {name: str(value) for name, value in env.items()}


def split_url(value: str) -> SplitResult:
    """``value`` split as a URL, each ${VAR:?message} standing as the word envref-VAR."""
    return urlsplit(REQUIRED_REFERENCE.sub(lambda m: f"envref-{m['name']}", value))


def command_text(service: str) -> str:
    command = services()[service].get("command") or ""
    return command if isinstance(command, str) else " ".join(str(part) for part in command)


def dockerfile_of(service: str) -> Path | None:
    build = services()[service].get("build")
    if build is None:
        return None
    if isinstance(build, str):
        build = {"context": build}
    return ROOT / build["context"] / build.get("dockerfile", "Dockerfile")


def services_built_from(dockerfile: Path) -> list[str]:
    return [name for name in services() if dockerfile_of(name) == dockerfile]


def toolkit_services() -> list[str]:
    return services_built_from(ROOT / "Dockerfile")


def airflow_services() -> list[str]:
    return services_built_from(ROOT / "docker" / "airflow.Dockerfile")


def is_one_shot(service: str) -> bool:
    """Runs once and exits: restart "no" (every service states its policy, see below)."""
    return str(services()[service].get("restart")) == "no"


def depends_on(service: str) -> dict[str, Any]:
    return services()[service].get("depends_on") or {}


def published_ports(service: str) -> dict[int, int]:
    """host port -> container port, from the short syntax [ip:]host:container[/proto]."""
    ports = {}
    for entry in services()[service].get("ports", []):
        *_, host, container = str(entry).split("/")[0].split(":")
        ports[int(host)] = int(container)
    return ports


def bind_mounts(service: str) -> dict[str, str]:
    """source in the repository -> target in the container."""
    mounts = {}
    for entry in services()[service].get("volumes", []):
        source, target, *_ = str(entry).split(":")
        if source.startswith((".", "/")):
            mounts[source] = target
    return mounts


def named_volumes(service: str) -> dict[str, str]:
    mounts = {}
    for entry in services()[service].get("volumes", []):
        source, target, *_ = str(entry).split(":")
        if not source.startswith((".", "/")):
            mounts[source] = target
    return mounts


def mounted_read_only(service: str, target: str) -> bool:
    for entry in services()[service].get("volumes", []):
        _, mounted, *modes = str(entry).split(":")
        if mounted == target:
            return "ro" in ",".join(modes).split(",")
    raise AssertionError(f"{service} mounts nothing on {target}")


def profiles(service: str) -> list[str]:
    return list(services()[service].get("profiles") or [])


def flags(service: str) -> dict[str, str]:
    """The --name=value arguments of the service's command (list form), by name."""
    words = [str(word) for word in services()[service].get("command") or []]
    return dict(word.partition("=")[::2] for word in words if word.startswith("--"))


def env_example() -> dict[str, str]:
    pairs = (line.partition("=") for line in ENV_EXAMPLE.read_text().splitlines())
    return {name.strip(): value for name, eq, value in pairs if eq and not name.startswith("#")}


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    instructions = []
    for line in joined.splitlines():
        keyword, _, arguments = line.strip().partition(" ")
        if keyword:
            instructions.append((keyword.upper(), " ".join(arguments.split())))
    return instructions


def resolve_args(path: Path, text: str) -> str:
    """Substitute the Dockerfile's ARG defaults into ``text``."""
    for keyword, arguments in dockerfile_instructions(path):
        if keyword == "ARG" and "=" in arguments:
            name, _, default = arguments.partition("=")
            text = text.replace(f"${{{name}}}", default).replace(f"${name}", default)
    return text


def base_image(path: Path) -> str:
    froms = [
        args.split()[0] for keyword, args in dockerfile_instructions(path) if keyword == "FROM"
    ]
    return froms[0]


def copy_sources(path: Path) -> list[str]:
    sources = []
    for keyword, arguments in dockerfile_instructions(path):
        if keyword in {"COPY", "ADD"}:
            words = [word for word in arguments.split() if not word.startswith("--")]
            sources.extend(words[:-1])
    return sources


def dockerignored(relative: str) -> bool:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    parts = Path(relative).parts
    prefixes = [str(Path(*parts[: i + 1])) for i in range(len(parts))]
    for pattern in patterns:
        tail = pattern.removeprefix("**/")
        if any(fnmatch(prefix, pattern) for prefix in prefixes):
            return True
        if pattern.startswith("**/") and any(fnmatch(part, tail) for part in parts):
            return True
    return False


def image_tag(image: str) -> str | None:
    name = image.rsplit("/", 1)[-1]
    return name.partition(":")[2] or None


@cache
def names_the_code_reads() -> frozenset[str]:
    """Upper-case string literals with an underscore in the code that reads the environment:
    MONITOR_DB, GRAFANA_URL, PROVISION__ (a prefix) and so on."""
    files = [*CODE_READING_ENV_FILES]
    for folder in CODE_READING_ENV:
        files.extend(folder.rglob("*.py"))
    literal = re.compile(r"""["']([A-Z][A-Z0-9]*(?:_[A-Z0-9]*)+)["']""")
    return frozenset(name for path in files for name in literal.findall(path.read_text()))


def read_by_the_code(name: str) -> bool:
    names = names_the_code_reads()
    prefixes = [known for known in names if known.endswith("_")]
    return name in names or any(name.startswith(prefix) for prefix in prefixes)


@cache
def airflow_options() -> frozenset[tuple[str, str]]:
    spec = importlib.util.find_spec("airflow")
    assert spec is not None and spec.submodule_search_locations, "Airflow is not installed"
    template = Path(spec.submodule_search_locations[0]) / "config_templates" / "config.yml"
    sections = yaml.safe_load(template.read_text())
    return frozenset(
        (section, option)
        for section, body in sections.items()
        for option in (body.get("options") or {})
    )


def provision_settings() -> Settings:
    """grafana.yaml as the provision service sees it, with its environment."""
    return load_settings(environ=environment("provision"))


def prometheus_config() -> dict[str, Any]:
    return yaml.safe_load(PROMETHEUS_CONFIG.read_text())


def monitor_scrape_job() -> dict[str, Any]:
    """The scrape job whose target is the monitor service."""
    for job in prometheus_config()["scrape_configs"]:
        for static in job.get("static_configs", []):
            if any(target.split(":")[0] == "monitor" for target in static["targets"]):
                return job
    raise AssertionError("no scrape job targets the monitor service")


def run_compose_config(env_file: Path, *profiles_: str) -> subprocess.CompletedProcess[str]:
    """`docker-compose config -q` with only ``env_file`` as the source of variables."""
    assert DOCKER_COMPOSE.exists(), "docker-compose is missing: `make system-packages`"
    selected = [word for profile in profiles_ for word in ("--profile", profile)]
    files = ["-f", str(COMPOSE_FILE), "--env-file", str(env_file)]
    return subprocess.run(
        [str(DOCKER_COMPOSE), *files, *selected, "config", "-q"],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def iter_env(services_: list[str]) -> Iterator[tuple[str, str, str]]:
    for service in services_:
        for name, value in environment(service).items():
            yield service, name, value


# --- a valid Compose file, and required values -----------------------------------------------


def test_the_file_is_a_valid_compose_file_with_the_example_values() -> None:
    result = run_compose_config(ENV_EXAMPLE)
    assert result.returncode == 0, result.stderr


def test_the_file_is_valid_with_the_alertmanager_profile_too() -> None:
    result = run_compose_config(ENV_EXAMPLE, ALERTMANAGER_PROFILE)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", sorted(env_example()))
def test_a_missing_required_value_stops_start_up_naming_it(name: str, tmp_path: Path) -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    env_file = tmp_path / ".env"
    env_file.write_text("\n".join(line for line in lines if not line.startswith(f"{name}=")))
    result = run_compose_config(env_file)
    assert result.returncode != 0
    assert f"set {name} in .env" in result.stderr


def test_every_variable_the_file_needs_is_required_and_documented_in_the_example() -> None:
    text = COMPOSE_FILE.read_text()
    referenced = {m["name"] for m in ANY_REFERENCE.finditer(text)}
    required = {m["name"] for m in REQUIRED_REFERENCE.finditer(text)}
    assert referenced == required  # no optional ${VAR} that silently becomes empty
    assert required == set(env_example())
    lines = ENV_EXAMPLE.read_text().splitlines()
    for index, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            assert lines[index - 1].startswith("#"), f"no comment above {line}"


def test_the_example_values_are_placeholders_not_secrets() -> None:
    for name, value in env_example().items():
        assert value.startswith("replace-me"), name
        assert not TELEGRAM_TOKEN_SHAPE.search(value), name


# --- images ----------------------------------------------------------------------------------


def all_images() -> list[str]:
    images = [str(service["image"]) for service in services().values() if "image" in service]
    dockerfiles = sorted({path for name in services() if (path := dockerfile_of(name))})
    return sorted({*images, *(base_image(path) for path in dockerfiles)})


def test_every_service_names_its_image() -> None:
    assert all("image" in service for service in services().values())


def test_images_built_here_are_never_pulled_from_a_registry() -> None:
    built = [name for name in services() if dockerfile_of(name)]
    assert built
    assert {services()[name].get("pull_policy") for name in built} == {"build"}


@pytest.mark.parametrize("image", all_images())
def test_every_image_is_pinned_to_a_version(image: str) -> None:
    tag = image_tag(image)
    assert tag is not None, f"{image} has no tag"
    assert "latest" not in tag
    assert VERSION.search(tag), f"{image}: the tag names no version"


def test_airflow_is_the_version_the_project_pins() -> None:
    pin = re.search(r"^apache-airflow==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    assert pin is not None
    dockerfile = ROOT / "docker" / "airflow.Dockerfile"
    assert base_image(dockerfile) == f"apache/airflow:{pin[1]}-python3.11"
    assert {image_tag(services()[name]["image"]) for name in airflow_services()} == {pin[1]}


def test_the_images_run_the_python_the_project_targets() -> None:
    assert base_image(ROOT / "Dockerfile").startswith("python:3.11.")
    assert base_image(ROOT / "Dockerfile").endswith("-slim-bookworm")
    assert base_image(ROOT / "docker" / "airflow.Dockerfile").endswith("-python3.11")


def test_grafana_is_the_newest_release_line_the_toolkit_is_tested_against() -> None:
    newest = max(PROFILES, key=lambda name: tuple(int(part) for part in name.split(".")))
    image, _, tag = services()["grafana"]["image"].partition(":")
    assert image == "grafana/grafana"
    assert tag.startswith(f"{newest}.")  # a patch release of the newest profile's minor


def test_the_toolkit_image_is_tagged_with_the_project_version() -> None:
    version = re.search(r'^version = "(.+)"$', (ROOT / "pyproject.toml").read_text(), re.M)
    assert version is not None
    tags = {image_tag(services()[name]["image"]) for name in toolkit_services()}
    assert tags == {version[1]}
    assert set(toolkit_services()) == {"monitor", "provision", "alerting-config"}


def test_postgres_is_a_version_airflow_supports() -> None:
    tag = image_tag(services()["postgres"]["image"])
    assert tag is not None
    assert int(tag.split(".")[0]) in SUPPORTED_POSTGRES


# --- files the stack needs exist -------------------------------------------------------------


@pytest.mark.parametrize("service", [name for name in services() if dockerfile_of(name)])
def test_every_build_context_and_dockerfile_exists(service: str) -> None:
    dockerfile = dockerfile_of(service)
    assert dockerfile is not None and dockerfile.is_file()
    build = services()[service]["build"]
    assert (ROOT / (build if isinstance(build, str) else build["context"])).is_dir()


@pytest.mark.parametrize("service", [name for name in services() if bind_mounts(name)])
def test_every_bind_mounted_file_or_folder_exists(service: str) -> None:
    for source in bind_mounts(service):
        assert (ROOT / source).exists(), f"{service} mounts {source}, which does not exist"


def test_every_named_volume_is_declared() -> None:
    declared = set(compose().get("volumes") or {})
    used = {volume for name in services() for volume in named_volumes(name)}
    assert used == declared


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "docker/airflow.Dockerfile"])
def test_every_copy_source_exists_and_reaches_the_builder(dockerfile: str) -> None:
    sources = copy_sources(ROOT / dockerfile)
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), f"{dockerfile} copies {source}, which does not exist"
        assert not dockerignored(source), f"{dockerfile} copies {source}, which is dockerignored"


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "docker/airflow.Dockerfile"])
def test_the_modules_a_build_imports_to_check_itself_exist(dockerfile: str) -> None:
    imported = [
        module.strip()
        for keyword, arguments in dockerfile_instructions(ROOT / dockerfile)
        if keyword == "RUN"
        for line in re.findall(r'python -c "import ([^"]+)"', arguments)
        for module in line.split(",")
    ]
    assert imported
    for module in imported:
        assert importlib.util.find_spec(module) is not None, f"{dockerfile} imports {module}"


def test_the_toolkit_image_holds_the_settings_provision_reads() -> None:
    copied = copy_sources(ROOT / "Dockerfile")
    for path in (DEFAULT_FILE, ENVIRONMENTS):
        assert path.relative_to(ROOT).as_posix() in copied


def test_the_build_context_leaves_out_secrets_and_bulk() -> None:
    for path in [".env", ".git", ".venv", ".airflow", "tests", "bench", "drift/__pycache__"]:
        assert dockerignored(path), path


def test_every_script_a_toolkit_service_runs_is_in_the_image() -> None:
    copied = set(copy_sources(ROOT / "Dockerfile"))
    for service in toolkit_services():
        words = shlex.split(command_text(service))
        scripts = [word for word in words if word.endswith(".py")]
        modules = [words[i + 1] for i, word in enumerate(words[:-1]) if word == "-m"]
        assert scripts or modules, service
        for script in scripts:
            assert (ROOT / script).is_file() and script in copied, script
        for module in modules:
            assert (ROOT / module / "__main__.py").is_file() and module in copied, module


def test_the_dags_and_data_are_mounted_where_airflow_and_the_dag_look() -> None:
    for service in airflow_services():
        mounts = bind_mounts(service)
        env = environment(service)
        dags_folder = env.get("AIRFLOW__CORE__DAGS_FOLDER", "/opt/airflow/dags")
        assert mounts["./dags"] == dags_folder, service
        assert mounts["./data"] == env[DATA_DIR_ENV], service


@pytest.mark.parametrize("service", airflow_services())
def test_the_dag_runs_every_ten_minutes_by_itself(service: str) -> None:
    env = environment(service)
    # Paused at creation, a scheduled DAG would never run until someone unpaused it.
    assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "false"
    assert parse_schedule(env[SCHEDULE_ENV]) == timedelta(minutes=10)


def test_the_readme_says_how_often_the_dag_runs_in_compose() -> None:
    interval = parse_schedule(environment("airflow-scheduler")[SCHEDULE_ENV])
    assert interval is not None
    minutes = int(interval.total_seconds() // 60)
    assert f"every {minutes} minutes" in (ROOT / "README.md").read_text()


# --- ports, URLs, names and ids agree with the toolkit -----------------------------------------


@pytest.mark.parametrize(("service", "port"), PUBLISHED.items())
def test_the_ports_are_published_on_the_host(service: str, port: int) -> None:
    assert published_ports(service).get(port) == port


def test_the_monitor_listens_on_the_port_the_toolkit_defines() -> None:
    env = environment("monitor")
    assert int(env.get("MONITOR_PORT", MONITOR_PORT)) == MONITOR_PORT
    words = shlex.split(command_text("monitor"))
    assert "--port" not in words or int(words[words.index("--port") + 1]) == MONITOR_PORT
    # 127.0.0.1, the default, would be unreachable from the other containers.
    host = words[words.index("--host") + 1] if "--host" in words else env.get("MONITOR_HOST")
    assert host == "0.0.0.0"


def test_prometheus_scrapes_the_monitor_service_on_its_port() -> None:
    targets = [t for s in monitor_scrape_job()["static_configs"] for t in s["targets"]]
    assert targets == [f"monitor:{MONITOR_PORT}"]
    assert monitor_scrape_job().get("metrics_path", "/metrics") == "/metrics"


@pytest.mark.parametrize("service", airflow_services())
def test_the_dag_reaches_the_monitor_with_its_token(service: str) -> None:
    env = environment(service)
    url = urlsplit(env[MONITOR_URL_ENV])
    assert (url.hostname, url.port) == ("monitor", MONITOR_PORT)
    assert env[MONITOR_TOKEN_ENV] == environment("monitor")[MONITOR_TOKEN_ENV]


def test_grafanas_data_source_points_at_the_prometheus_service() -> None:
    url = urlsplit(provision_settings().values["prometheus"]["url"])
    assert url.hostname == "prometheus" and "prometheus" in services()
    assert url.port == PUBLISHED["prometheus"]


def test_the_provision_service_reaches_grafana_inside_the_network() -> None:
    settings = provision_settings()
    url = urlsplit(settings.grafana.url)
    assert (url.hostname, url.port) == ("grafana", 3000)
    public = urlsplit(settings.values["public_url"])  # links in the Telegram messages
    assert (public.hostname, public.port) == ("localhost", PUBLISHED["grafana"])


def test_the_airflow_services_reach_each_other_and_postgres_by_service_name() -> None:
    for service in airflow_services():
        env = environment(service)
        execution_api = urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
        assert (execution_api.hostname, execution_api.port) == ("airflow-apiserver", 8080)
        database = split_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        assert (database.hostname, database.port) == ("postgres", 5432)
        assert database.password == "envref-POSTGRES_PASSWORD"
        assert database.username == environment("postgres")["POSTGRES_USER"]
        assert database.path == "/" + environment("postgres")["POSTGRES_DB"]


@pytest.mark.parametrize("service", toolkit_services())
def test_every_name_passed_to_a_toolkit_service_is_one_the_code_reads(service: str) -> None:
    unknown = [name for name in environment(service) if not read_by_the_code(name)]
    assert unknown == []


@pytest.mark.parametrize("service", airflow_services())
def test_every_name_passed_to_airflow_is_an_airflow_option_or_read_by_the_dag(
    service: str,
) -> None:
    for name in environment(service):
        if name.startswith("AIRFLOW__"):
            section, _, option = name.removeprefix("AIRFLOW__").lower().partition("__")
            # AIRFLOW__SECTION__KEY, or KEY_CMD / KEY_SECRET: read from a command or a backend.
            candidates = {option, option.removesuffix("_cmd"), option.removesuffix("_secret")}
            known = {(section, c) for c in candidates} & airflow_options()
            assert known, f"{name}: no such Airflow option"
        else:
            assert read_by_the_code(name) or name in command_text(service), name


def test_the_secrets_the_code_needs_are_passed() -> None:
    assert MONITOR_TOKEN_ENV in environment("monitor")
    provision = environment("provision")
    assert {"TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID"} <= set(provision)
    assert "GRAFANA_TOKEN" in provision or {"GRAFANA_USER", "GRAFANA_PASSWORD"} <= set(provision)
    grafana = environment("grafana")
    assert provision["GRAFANA_USER"] == grafana["GF_SECURITY_ADMIN_USER"]
    assert provision["GRAFANA_PASSWORD"] == grafana["GF_SECURITY_ADMIN_PASSWORD"]
    telegram = {"TELEGRAM_BOT_TOKEN", "TELEGRAM_CHAT_ID"}
    assert {name: environment("alerting-config")[name] for name in telegram} == {
        name: provision[name] for name in telegram
    }  # Alertmanager and Grafana send to the same chat
    assert "GF_SECURITY_SECRET_KEY" in grafana  # else Grafana's public default key
    keys = {
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API__SECRET_KEY",
    }
    shared = {name: {environment(s)[name] for s in airflow_services()} for name in keys}
    assert all(len(values) == 1 for values in shared.values())  # the same in every component


def toolkit_image_user() -> tuple[str, str]:
    """The toolkit image's uid, and its RUN instructions joined (ARG defaults substituted)."""
    dockerfile = ROOT / "Dockerfile"
    instructions = [
        (keyword, resolve_args(dockerfile, arguments))
        for keyword, arguments in dockerfile_instructions(dockerfile)
    ]
    user = [arguments for keyword, arguments in instructions if keyword == "USER"][-1]
    run = " ".join(arguments for keyword, arguments in instructions if keyword == "RUN")
    return user.split(":")[0], run


def owned_by_toolkit_user(directory: str) -> bool:
    """The image creates ``directory`` owned by its user, so a new named volume mounted on it
    gets that owner (Docker copies the ownership of the image's directory)."""
    uid, run = toolkit_image_user()
    return bool(re.search(rf'chown "?{uid}:{uid}"? {re.escape(directory)}(\s|$)', run))


def test_the_monitor_state_volume_belongs_to_the_image_user() -> None:
    uid, run = toolkit_image_user()
    assert uid.isdigit() and uid != "0"
    state_dir = str(Path(environment("monitor")["MONITOR_DB"]).parent)
    assert state_dir in named_volumes("monitor").values()
    assert re.search(rf'--uid "?{uid}"? ', run)
    assert owned_by_toolkit_user(state_dir)
    assert all("user" not in services()[name] for name in toolkit_services())


def test_airflow_runs_as_the_images_airflow_user() -> None:
    instructions = dockerfile_instructions(ROOT / "docker" / "airflow.Dockerfile")
    users = [arguments for keyword, arguments in instructions if keyword == "USER"]
    assert users[-1] in {"airflow", "50000"}  # uid 50000, gid 0: the image's convention
    assert all(services()[name].get("user", "50000:0") == "50000:0" for name in airflow_services())


# --- start-up order and health ---------------------------------------------------------------


def test_every_service_states_its_restart_policy() -> None:
    policies = {name: service.get("restart") for name, service in services().items()}
    assert set(policies.values()) == {"no", "unless-stopped"}, policies


@pytest.mark.parametrize("service", [name for name in services() if not is_one_shot(name)])
def test_every_long_running_service_has_a_health_check(service: str) -> None:
    healthcheck = services()[service].get("healthcheck") or {}
    assert healthcheck.get("test") and healthcheck["test"][0] in {"CMD", "CMD-SHELL"}
    assert not healthcheck.get("disable")


@pytest.mark.parametrize(
    ("service", "port"),
    [*PUBLISHED.items(), ("airflow-scheduler", 8974)],
)
def test_each_http_health_check_probes_the_port_its_service_listens_on(
    service: str, port: int
) -> None:
    probe = " ".join(services()[service]["healthcheck"]["test"])
    url = re.search(r"https?://[^\s\"')]+", probe)
    assert url is not None, probe
    assert urlsplit(url[0]).hostname in {"localhost", "127.0.0.1"}
    assert urlsplit(url[0]).port == port


def test_every_dependency_waits_for_health_or_completion() -> None:
    for service in services():
        dependencies = depends_on(service)
        assert isinstance(dependencies, dict), f"{service}: depends_on without conditions"
        for dependency, rule in dependencies.items():
            condition = rule["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services()[dependency], (service, dependency)
            else:
                assert condition == "service_completed_successfully", (service, dependency)
                assert is_one_shot(dependency), (service, dependency)


def test_airflow_starts_only_after_its_database_is_migrated() -> None:
    init = [name for name in airflow_services() if "db migrate" in command_text(name)]
    assert init == ["airflow-init"]
    assert "db init" not in command_text("airflow-init")
    assert depends_on("airflow-init")["postgres"]["condition"] == "service_healthy"
    components = set()
    for service in set(airflow_services()) - {"airflow-init"}:
        assert depends_on(service)["airflow-init"] == {
            "condition": "service_completed_successfully"
        }
        assert depends_on(service)["postgres"]["condition"] == "service_healthy"
        components.update(set(command_text(service).split()) & AIRFLOW_COMPONENTS)
    assert components == AIRFLOW_COMPONENTS
    assert {environment(name)["AIRFLOW__CORE__EXECUTOR"] for name in airflow_services()} == {
        "LocalExecutor"
    }


def test_provisioning_runs_once_after_grafana_is_healthy() -> None:
    words = shlex.split(command_text("provision"))
    assert words[:3] == ["python", "provision.py", "apply"]
    assert float(words[words.index("--wait") + 1]) > 0
    assert depends_on("provision")["grafana"] == {"condition": "service_healthy"}
    assert is_one_shot("provision")


# --- no secret in the file -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "name", "value"),
    [item for item in iter_env(list(services())) if SECRET_NAME.search(item[1])],
)
def test_every_secret_comes_from_the_env_file(service: str, name: str, value: str) -> None:
    if name.endswith(("_FILE", "_PATH")):
        assert value.startswith("/"), f"{service}: {name} should be a path"
    else:
        assert REQUIRED_REFERENCE.fullmatch(value), f"{service}: {name} is a literal"


def test_no_password_is_written_into_a_url() -> None:
    passwords = [
        (service, name, split_url(value).password)
        for service, name, value in iter_env(list(services()))
        if "://" in value and split_url(value).password is not None
    ]
    assert passwords  # the Airflow database URL has one
    for service, name, password in passwords:
        assert password.startswith("envref-"), f"{service}: {name} holds a literal password"


# --- Prometheus ------------------------------------------------------------------------------


def test_promtool_accepts_the_prometheus_config() -> None:
    result = subprocess.run(
        [str(PROMTOOL), "check", "config", str(PROMETHEUS_CONFIG)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_monitor_is_scraped_as_the_job_the_monitor_down_rule_watches() -> None:
    """The rule watches up{job=...}: under another job name Grafana's rule would see no data
    and page for good, and the Prometheus rule would never fire. The local run reuses this
    file with its own target."""
    assert monitor_scrape_job()["job_name"] == MONITOR_JOB
    spec = importlib.util.spec_from_file_location("run_local", ROOT / "scripts" / "run_local.py")
    assert spec and spec.loader
    run_local = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_local)
    local = run_local.prometheus_config("127.0.0.1:5999")["scrape_configs"]
    assert [job["job_name"] for job in local] == [MONITOR_JOB]
    assert local[0]["static_configs"] == [{"targets": ["127.0.0.1:5999"]}]


def test_prometheus_loads_the_config_from_the_repository() -> None:
    command = services()["prometheus"]["command"]
    config_file = next(arg.split("=", 1)[1] for arg in command if arg.startswith("--config.file"))
    assert bind_mounts("prometheus")["./prometheus/prometheus.yml"] == config_file


def scrape_seconds() -> float:
    job = monitor_scrape_job()
    interval = job.get("scrape_interval", prometheus_config()["global"]["scrape_interval"])
    return duration_seconds(interval)


def test_the_worst_case_alert_delay_the_settings_imply_is_within_budget() -> None:
    """Arithmetic on configuration: a scrape, an evaluation and the pending period, added up,
    fit in the budget. It measures nothing; the measured delay from a run to the message is in
    bench/telegram_latency.py and tests/test_alertmanager_telegram.py."""
    alerting = provision_settings().values["alerting"]
    worst_case = (
        scrape_seconds()
        + duration_seconds(alerting["interval"])
        + duration_seconds(alerting["pending_period"])
    )
    assert worst_case <= ALERT_BUDGET_SECONDS


def test_grafana_yaml_states_the_scrape_interval_prometheus_uses() -> None:
    scrape_interval = provision_settings().values["prometheus"]["scrape_interval"]
    assert duration_seconds(scrape_interval) == scrape_seconds()


def test_the_environment_helpers_see_what_compose_sees() -> None:
    # The checks above read the YAML themselves; make sure they see the merged anchors.
    assert environment("airflow-scheduler")[MONITOR_URL_ENV] == f"http://monitor:{MONITOR_PORT}"
    assert "AIRFLOW_ADMIN_PASSWORD" in environment("airflow-apiserver")
    assert "AIRFLOW_ADMIN_PASSWORD" not in environment("airflow-scheduler")


# --- the alertmanager profile: Prometheus-native alerting -----------------------------------


def export_directory() -> str:
    """Where the alerting-config service's command exports the files."""
    words = shlex.split(command_text("alerting-config"))
    start = words.index("export")
    arguments = iter(words[start + 1 :])
    for word in arguments:
        if word.startswith("--"):
            if "=" not in word:
                next(arguments)  # the option's value
        else:
            return word
    raise AssertionError("the export names no directory")


def rule_globs() -> list[str]:
    return [str(pattern) for pattern in prometheus_config().get("rule_files") or []]


def alertmanager_targets() -> list[str]:
    return [
        target
        for alertmanager in prometheus_config()["alerting"]["alertmanagers"]
        for static in alertmanager["static_configs"]
        for target in static["targets"]
    ]


def test_the_profile_adds_alertmanager_and_its_config_and_nothing_else() -> None:
    profiled = {name for name in services() if profiles(name)}
    assert profiled == PROFILE_SERVICES
    assert all(profiles(name) == [ALERTMANAGER_PROFILE] for name in profiled)


def test_the_default_stack_depends_on_no_service_of_the_profile() -> None:
    # Compose refuses to start a service whose dependency is in a profile not enabled.
    for service in services():
        if not profiles(service):
            assert not set(depends_on(service)) & PROFILE_SERVICES, service


def test_alertmanager_is_pinned_to_a_version_with_telegram() -> None:
    image = services()["alertmanager"]["image"]
    assert image.partition(":")[0] == "prom/alertmanager"
    tag = image_tag(image)
    assert tag is not None and re.fullmatch(r"v\d+\.\d+\.\d+", tag), image
    assert tuple(int(part) for part in tag[1:].split(".")[:2]) >= OLDEST_ALERTMANAGER


def test_alertmanager_starts_once_its_config_is_exported() -> None:
    assert depends_on("alertmanager") == {
        "alerting-config": {"condition": "service_completed_successfully"}
    }
    assert is_one_shot("alerting-config")
    # It reloads Prometheus once the rules are written, so Prometheus must be up by then.
    assert depends_on("alerting-config") == {"prometheus": {"condition": "service_healthy"}}


def test_the_export_is_written_into_the_shared_volume_and_made_readable() -> None:
    words = shlex.split(command_text("alerting-config"))
    start = words.index("provision.py")
    assert words[start + 1 : start + 4] == ["export", "--target", "prometheus"]
    directory = export_directory()
    assert named_volumes("alerting-config") == {ALERTING_VOLUME: directory}
    assert not bind_mounts("alerting-config")  # alertmanager.yml holds the bot token
    # Written by the toolkit user (the volume's owner), read by Prometheus and Alertmanager,
    # which run as nobody.
    assert owned_by_toolkit_user(directory)
    assert re.search(rf"chmod -R a\+rX {re.escape(directory)}\n", command_text("alerting-config"))


def test_alertmanager_reads_the_exported_config_read_only() -> None:
    mount = named_volumes("alertmanager")[ALERTING_VOLUME]
    assert mounted_read_only("alertmanager", mount)
    config_file = PurePosixPath(flags("alertmanager")["--config.file"])
    # templates.tmpl, which the config names by a relative path, lies next to it.
    assert config_file == PurePosixPath(mount) / "alertmanager.yml"


def test_alertmanager_runs_alone_with_its_state_on_a_volume() -> None:
    assert flags("alertmanager")["--cluster.listen-address"] == ""  # no gossip, no peers
    assert flags("alertmanager")["--storage.path"] in named_volumes("alertmanager").values()
    assert flags("alertmanager").get("--web.listen-address", ":9093").endswith(":9093")


def test_prometheus_loads_the_exported_rules_from_the_mounted_volume() -> None:
    mount = named_volumes("prometheus")[ALERTING_VOLUME]
    assert mounted_read_only("prometheus", mount)
    assert rule_globs()
    for pattern in rule_globs():
        # A glob: one that matches nothing (no profile, an empty volume) is no error.
        assert re.search(r"[*?\[]", pattern), pattern
        assert str(PurePosixPath(pattern).parent) == mount
        matched = {name for name in EXPORTED_FILES if fnmatch(name, PurePosixPath(pattern).name)}
        assert matched == {"rules.yml"}, pattern


def test_prometheus_sends_alerts_to_the_alertmanager_service() -> None:
    assert alertmanager_targets() == [f"alertmanager:{ALERTMANAGER_PORT}"]
    assert "alertmanager" in services()


def test_the_export_is_followed_by_a_reload_of_prometheus_and_alertmanager() -> None:
    urls = re.findall(r"https?://[^\s\"')]+", command_text("alerting-config"))
    reloads = {(urlsplit(url).hostname, urlsplit(url).port, urlsplit(url).path) for url in urls}
    assert reloads == {
        ("prometheus", PUBLISHED["prometheus"], "/-/reload"),
        ("alertmanager", ALERTMANAGER_PORT, "/-/reload"),
    }
    assert "--web.enable-lifecycle" in flags("prometheus")  # else /-/reload answers 403


def test_prometheus_starts_without_the_profile_and_loads_the_rules_on_reload(
    tmp_path: Path,
) -> None:
    """The real Prometheus with the repository's config and the service's flags; the rule glob
    moved from the volume to a folder that starts out empty, as the volume does."""
    assert PROMETHEUS.exists(), "prometheus is missing: `make system-packages`"
    folder = tmp_path / "alerting"
    folder.mkdir()
    config = prometheus_config()
    config["rule_files"] = [str(folder / PurePosixPath(p).name) for p in rule_globs()]
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    url = f"http://127.0.0.1:{free_port()}"
    here = {
        "--config.file": str(config_file),
        "--storage.tsdb.path": str(tmp_path / "data"),
        "--web.listen-address": urlsplit(url).netloc,
    }
    service_flags = [
        str(word)
        for word in services()["prometheus"]["command"]
        if str(word).partition("=")[0] not in here
    ]
    log = tmp_path / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(PROMETHEUS), *(f"{name}={value}" for name, value in here.items()), *service_flags],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:

        def ready() -> bool:
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                return requests.get(f"{url}/-/ready", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        def rule_files() -> set[str]:
            groups = requests.get(f"{url}/api/v1/rules", timeout=5).json()["data"]["groups"]
            return {group["file"] for group in groups}

        wait_for(ready, "ready Prometheus")
        flags_seen = requests.get(f"{url}/api/v1/status/flags", timeout=5).json()["data"]
        assert flags_seen["config.file"] == str(config_file)  # ours, not another on the port
        assert rule_files() == set()
        # What alerting-config writes; alertmanager.yml would fail a reload if it were loaded
        # as a rule file.
        rules = {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "vector(1)"}]}]}
        (folder / "rules.yml").write_text(yaml.safe_dump(rules))
        (folder / "alertmanager.yml").write_text("route:\n  receiver: telegram\n")
        (folder / "templates.tmpl").write_text('{{ define "t" }}{{ end }}\n')
        response = requests.post(f"{url}/-/reload", timeout=10)
        assert response.status_code == 200, response.text
        assert rule_files() == {str(folder / "rules.yml")}

        def alertmanagers() -> set[str]:
            data = requests.get(f"{url}/api/v1/alertmanagers", timeout=5).json()["data"]
            return {urlsplit(a["url"]).netloc for a in data["activeAlertmanagers"]}

        # Discovery is throttled (about 5 s after a start or reload): poll.
        assert wait_for(alertmanagers, "Alertmanager to alert") == set(alertmanager_targets())
    finally:
        stop_process_group(process)
