"""Events through docker-py: a container's life as a decoded event stream."""

import time

IMAGE = "busybox:latest"


def test_container_events(client, names):
    since = time.time() - 1
    c = client.containers.run(IMAGE, ["true"], name=names("ev"), detach=True)
    assert c.wait(timeout=30)["StatusCode"] == 0
    c.remove()
    until = time.time() + 1
    events = list(client.events(since=since, until=until, decode=True, filters={"container": c.id}))
    actions = [e["Action"] for e in events]
    for a in ("create", "start", "die", "destroy"):
        assert a in actions, actions
    assert actions.index("create") < actions.index("start") < actions.index("die") < actions.index("destroy")
    die = events[actions.index("die")]
    assert die["Type"] == "container"
    assert die["Actor"]["Attributes"]["exitCode"] == "0"
    assert die["Actor"]["Attributes"]["name"] == c.name


def test_events_filter_by_type(client, names):
    since = time.time() - 1
    v = client.volumes.create(names("evvol"))
    v.remove()
    events = list(client.events(since=since, until=time.time() + 1, decode=True, filters={"type": "volume"}))
    assert {e["Type"] for e in events} == {"volume"}
    assert [e["Action"] for e in events if e["Actor"]["ID"] == v.name] == ["create", "destroy"]
