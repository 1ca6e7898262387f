"""Healthchecks through docker-py: the healthcheck= argument of run,
State.Health in inspect, the health filter of containers.list, and the
health_status events."""

import json
import threading
import time

from test_containers import IMAGE, wait_for

NS = 1_000_000


def health_of(c):
    c.reload()
    return c.attrs["State"].get("Health") or {}


def test_healthy_then_unhealthy(client, names):
    c = client.containers.run(
        IMAGE, ["sh", "-c", "touch /ok; sleep 300"], name=names("hc"), detach=True,
        healthcheck={"test": ["CMD-SHELL", "test -e /ok"], "interval": 200 * NS,
                     "timeout": 2000 * NS, "retries": 2})
    assert health_of(c).get("Status") in ("starting", "healthy")
    wait_for("healthy", lambda: health_of(c).get("Status") == "healthy")
    h = health_of(c)
    assert h["FailingStreak"] == 0
    assert h["Log"] and h["Log"][-1]["ExitCode"] == 0
    assert c in client.containers.list(filters={"health": "healthy"})
    assert c not in client.containers.list(filters={"health": "unhealthy"})
    c.exec_run(["rm", "/ok"])
    wait_for("unhealthy", lambda: health_of(c).get("Status") == "unhealthy")
    h = health_of(c)
    assert h["FailingStreak"] >= 2
    assert len(h["Log"]) <= 5
    assert h["Log"][-1]["ExitCode"] == 1
    assert c in client.containers.list(filters={"health": "unhealthy"})


def test_health_status_events(client, names):
    since = int(time.time()) - 1
    c = client.containers.run(
        IMAGE, ["sleep", "300"], name=names("hev"), detach=True,
        healthcheck={"test": ["CMD", "true"], "interval": 200 * NS, "retries": 1})
    wait_for("healthy", lambda: health_of(c).get("Status") == "healthy")
    events = client.events(since=since, until=int(time.time()) + 1, decode=True,
                           filters={"container": c.id, "event": "health_status"})
    got = [e.get("status") or e.get("Action") for e in events]
    assert any(s.startswith("health_status: healthy") for s in got), got


def test_no_healthcheck_has_no_health(client, names):
    c = client.containers.run(IMAGE, ["sleep", "300"], name=names("nohc"), detach=True)
    wait_for("running", lambda: (c.reload() or c.status) == "running")
    assert "Health" not in c.attrs["State"] or c.attrs["State"]["Health"] is None
    assert c in client.containers.list(filters={"health": "none"})
