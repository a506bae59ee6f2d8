"""Checks on the built image and the compose stack; scripts/container-ci.sh runs them."""

import json
import os
import shlex
import subprocess
import time

import pytest
import requests

from test.e2e.serving import wait_until_ready
from test.ports import free_port


@pytest.fixture(scope="module")
def image(pytestconfig: pytest.Config) -> str:
    given: str | None = pytestconfig.getoption("image")
    if not given:
        pytest.fail("needs --image (scripts/container-ci.sh passes it)")
    return given


@pytest.fixture(scope="module")
def compose(pytestconfig: pytest.Config) -> list[str]:
    given: str | None = pytestconfig.getoption("compose")
    if not given:
        pytest.fail("needs --compose (scripts/container-ci.sh passes it)")
    return shlex.split(given)


@pytest.fixture(scope="module")
def flask_url(pytestconfig: pytest.Config) -> str:
    given: str | None = pytestconfig.getoption("flask_url")
    if not given:
        pytest.fail("needs --flask-url, the stack's published address")
    return given.rstrip("/")


def run(
    *command: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, check=check, timeout=120, env=env
    )


def in_image(image: str, script: str) -> subprocess.CompletedProcess[str]:
    return run("docker", "run", "--rm", "--network", "none", "--entrypoint", "sh", image, "-c",
               script, check=False)  # fmt: skip


def test_the_app_runs_as_a_regular_user(image: str) -> None:
    uid = in_image(image, "id -u").stdout.strip()
    assert uid.isdigit()
    assert int(uid) != 0
    assert run("docker", "image", "inspect", "--format", "{{.Config.User}}", image).stdout.strip()


def test_the_runtime_image_has_no_compiler(image: str) -> None:
    found = in_image(image, "command -v gcc cc c++ clang make || true").stdout.split()
    assert found == []


def test_the_runtime_image_has_no_test_or_lint_tools(image: str) -> None:
    result = in_image(image, "python -m pip list --format=json")
    installed = {package["name"].lower() for package in json.loads(result.stdout)}
    assert "page-tracker" in installed
    assert installed.isdisjoint({"pytest", "ruff", "mypy", "bandit", "fakeredis", "hypothesis"})


def test_the_image_declares_port_healthcheck_and_serve(image: str) -> None:
    config = json.loads(run("docker", "image", "inspect", image).stdout)[0]["Config"]
    assert "8000/tcp" in config["ExposedPorts"]
    assert "/readyz" in " ".join(config["Healthcheck"]["Test"])
    assert config["Cmd"][:2] == ["page-tracker", "serve"]


def count(flask_url: str) -> int:
    text = requests.get(f"{flask_url}/", timeout=5).text
    return int(text.removeprefix("This page has been seen ").removesuffix(" times."))


def test_the_count_survives_down_and_up(compose: list[str], flask_url: str) -> None:
    run(*compose, "up", "--detach", "web-service")
    try:
        wait_until_ready(flask_url)
        before = count(flask_url)
        run(*compose, "down", "--timeout", "5")
        run(*compose, "up", "--detach", "web-service")
        wait_until_ready(flask_url)
        assert count(flask_url) == before + 1
    finally:
        run(*compose, "down", "--timeout", "5")


def test_redis_is_not_reachable_from_the_host(compose: list[str]) -> None:
    # No host port leads to Redis, and only the internal backend network holds it.  (The
    # engine's own bridge address is routable from the engine host by Docker's design.)
    run(*compose, "up", "--detach", "redis-service")
    try:
        container = run(*compose, "ps", "--quiet", "redis-service").stdout.strip()
        inspected = json.loads(run("docker", "inspect", container).stdout)[0]
        published = {
            port: bindings
            for port, bindings in inspected["NetworkSettings"]["Ports"].items()
            if bindings
        }
        assert published == {}
        networks = inspected["NetworkSettings"]["Networks"]
        assert [name.split("_")[-1] for name in networks] == ["backend-network"]
    finally:
        run(*compose, "down", "--timeout", "5")


def test_prometheus_of_the_observability_profile_scrapes_the_app(compose: list[str]) -> None:
    # Grafana has no Debian package to build a stand-in from: Prometheus and the app come up.
    address = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "PAGE_TRACKER_PROMETHEUS_PUBLISH": address}
    observed = [*compose, "--profile", "observability"]
    run(*observed, "up", "--detach", "web-service", "prometheus-service", env=env)
    try:
        deadline, targets = time.monotonic() + 90, []
        while time.monotonic() < deadline:
            try:
                answer = requests.get(f"http://{address}/api/v1/targets", timeout=5).json()
                targets = answer["data"]["activeTargets"]
                if [target["health"] for target in targets] == ["up"]:
                    break
            except requests.RequestException:
                pass
            time.sleep(1)
        assert [(t["labels"]["job"], t["health"]) for t in targets] == [("page-tracker", "up")]
        query = {"query": "page_tracker_build_info"}
        found = requests.get(f"http://{address}/api/v1/query", params=query, timeout=5).json()
        (build,) = found["data"]["result"]
        assert len(build["metric"]["revision"]) == 40  # the commit the image was built from
    finally:
        run(*observed, "down", "--timeout", "5", env=env)
