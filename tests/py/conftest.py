"""Fixtures of the docker-py suite: a client of the berthd that run.sh
started (BERTH_PY_SOCK), the loopback registry (BERTH_PY_REGISTRY) and
names unique to a test, removed afterwards."""

import os
import uuid

import docker
import pytest


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run the suite through tests/py/run.sh", returncode=2)
    return value


@pytest.fixture(scope="session")
def client():
    c = docker.DockerClient(base_url="unix://" + _env("BERTH_PY_SOCK"), version="auto", timeout=60)
    yield c
    c.close()


@pytest.fixture(scope="session")
def api(client):
    return client.api


@pytest.fixture(scope="session")
def registry():
    return _env("BERTH_PY_REGISTRY")


@pytest.fixture(scope="session")
def data_root():
    return os.path.join(_env("BERTH_PY_ROOT"), "data")


@pytest.fixture
def names(client):
    """names("web") -> "py-web-<hex>"; containers, volumes and networks of
    those names are removed after the test."""
    made = []

    def make(prefix):
        n = f"py-{prefix}-{uuid.uuid4().hex[:8]}"
        made.append(n)
        return n

    yield make
    # containers first: a volume or network in use cannot go
    for getter, kwargs in ((client.containers.get, {"force": True, "v": True}),
                           (client.volumes.get, {"force": True}),
                           (client.networks.get, {})):
        for n in made:
            try:
                getter(n).remove(**kwargs)
            except docker.errors.NotFound:
                pass
