"""Schedules: rate and cron expressions through the API and the CLI, next firing
times, a rate schedule firing on time with EventBridge's Scheduled Event, a constant
payload, disabled schedules, and schedules surviving a restart."""

import json
import re
import time

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def put(d, name, body):
    status, _, b = d.request("PUT", "/v1/schedules/" + name, body)
    return status, json.loads(b) if b else None


def test_crud_next_firings_and_errors(daemon):
    daemon.deploy_fixture("echo")
    status, s = put(daemon, "noon", {"expression": "cron(0 12 ? * MON-FRI *)",
                                      "function": "echo"})
    assert status == 201, s
    assert s["enabled"] is True and s["last_fired_ms"] == 0 and s["payload"] is None
    assert len(s["next_firings"]) == 5
    for t in s["next_firings"]:
        assert ISO.fullmatch(t) and t.endswith("T12:00:00.000Z")
    # Replacing keeps the name; 200 the second time.
    status, s = put(daemon, "noon", {"expression": "0 0 1 1 *", "function": "echo",
                                      "payload": {"k": [1]}})
    assert status == 200 and s["payload"] == {"k": [1]}
    assert s["next_firings"][0].endswith("-01-01T00:00:00.000Z")
    # Errors name what is wrong.
    for body, code, says in (
            ({"expression": "rate(1 minutes)", "function": "echo"}, 400, "singular"),
            ({"expression": "cron(0 12 * * * *)", "function": "echo"}, 400, "exactly one"),
            ({"expression": "cron(0 25 * * ? *)", "function": "echo"}, 400, "hours"),
            ({"expression": "rate(5 minutes)", "function": "nope"}, 404, "does not exist"),
            ({"expression": "rate(5 minutes)"}, 400, "'function' is required"),
            ({"function": "echo"}, 400, "'expression' is required"),
            ({"expression": "rate(5 minutes)", "function": "echo", "enabled": "yes"}, 400,
             "enabled"),
            ({"expression": "rate(5 minutes)", "function": "echo", "when": 1}, 400,
             "unknown field")):
        status, b = put(daemon, "bad", body)
        assert status == code and says in b["error"]["message"], (body, b)
    status, _, b = daemon.request("PUT", "/v1/schedules/bad%20name", {"expression": "x"})
    assert status == 400
    status, _, b = daemon.request("PUT", "/v1/schedules/x", b"{not json")
    assert status == 400
    assert daemon.request("GET", "/v1/schedules/bad")[0] == 404
    assert daemon.request("DELETE", "/v1/schedules/bad")[0] == 404
    assert daemon.request("POST", "/v1/schedules/bad/enable")[0] == 404
    # Disable: no next firings; enable again.
    status, _, b = daemon.request("POST", "/v1/schedules/noon/disable")
    assert status == 200 and json.loads(b)["enabled"] is False
    assert json.loads(b)["next_firings"] == []
    status, _, b = daemon.request("POST", "/v1/schedules/noon/enable")
    assert json.loads(b)["enabled"] is True and json.loads(b)["next_firings"]
    names = [s["name"] for s in json.loads(daemon.request("GET", "/v1/schedules")[2])[
        "schedules"]]
    assert names == ["noon"]
    assert daemon.request("DELETE", "/v1/schedules/noon")[0] == 204
    assert json.loads(daemon.request("GET", "/v1/schedules")[2])["schedules"] == []


def test_cli(daemon):
    daemon.deploy_fixture("echo")
    r = daemon.cli("schedule", "add", "nightly", "cron(30 2 * * ? *)", "echo", check=True)
    assert "T02:30:00" in r.stdout.decode()
    r = daemon.cli("schedule", "add", "ping", "rate(5 minutes)", "echo", "--payload",
                   '{"warmer":true}', "--disabled", check=True)
    assert "enabled       no" in r.stdout.decode()
    out = daemon.cli("schedule", "ls", check=True).stdout.decode()
    assert "nightly" in out and "cron(30 2 * * ? *)" in out and "ping" in out
    daemon.cli("schedule", "enable", "ping", check=True)
    out = daemon.cli("schedule", "get", "ping", check=True).stdout.decode()
    assert "enabled       yes" in out
    daemon.cli("schedule", "disable", "ping", check=True)
    daemon.cli("schedule", "rm", "ping", check=True)
    r = daemon.cli("schedule", "rm", "ping")
    assert r.returncode == 1 and b"does not exist" in r.stderr
    r = daemon.cli("schedule", "add", "x", "rate(2 minute)", "echo")
    assert r.returncode == 1 and b"singular" in r.stderr
    assert daemon.cli("schedule", "frob").returncode == 2
    assert daemon.cli("schedule", "add", "x").returncode == 2
    assert daemon.cli("schedule", "add", "x", "rate(1 day)", "echo", "--payload",
                      "{").returncode == 2
    assert daemon.cli("schedule", "ls", "--payload", "{}").returncode == 2


def test_rate_fires_on_time_and_survives_restart(make_daemon, tmp_path):
    data = tmp_path / "sched"
    d = make_daemon(data=data)
    d.deploy_fixture("recorder", "job")
    t0 = time.time() * 1000
    status, s = put(d, "every-minute", {"expression": "rate(1 minute)", "function": "job"})
    assert status == 201
    created = s["updated_ms"]
    assert abs(created - t0) < 2000
    put(d, "warm", {"expression": "rate(1 minute)", "function": "job",
                    "payload": {"warmer": True}})
    put(d, "off", {"expression": "rate(1 minute)", "function": "job", "enabled": False})
    # A schedule whose function is deleted stays (as an EventBridge rule whose target
    # is gone does) and reports why its firing queued nothing.
    d.deploy_fixture("echo", "victim")
    put(d, "orphan", {"expression": "rate(1 minute)", "function": "victim"})
    d.cli("rm", "victim", check=True)
    # The first firing is one period after creation.
    deadline = time.time() + 90
    events = []
    while time.time() < deadline and len(events) < 2:
        events = [json.loads(l.split("EVENT ", 1)[1]) for l in d.logs("job") if "EVENT " in l]
        time.sleep(0.2)
    assert len(events) == 2, events
    scheduled = [e for e in events if e.get("source") == "aws.events"]
    assert len(scheduled) == 1 and {"warmer": True} in events
    ev = scheduled[0]
    assert ev["detail-type"] == "Scheduled Event" and ev["version"] == "0"
    assert ev["detail"] == {} and ev["region"] == "us-east-1"
    assert ev["resources"] == ["arn:aws:events:us-east-1:000000000000:rule/every-minute"]
    assert re.fullmatch(r"[0-9a-f-]{36}", ev["id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ev["time"])
    s = json.loads(d.request("GET", "/v1/schedules/every-minute")[2])
    # On time: 60 s after creation, give or take the loop's timer.
    assert 59000 <= s["last_fired_ms"] - created <= 61500, s
    assert s["last_error"] is None
    assert json.loads(d.request("GET", "/v1/schedules/off")[2])["last_fired_ms"] == 0
    orphan = json.loads(d.request("GET", "/v1/schedules/orphan")[2])
    assert "function 'victim' does not exist" in orphan["last_error"], orphan
    assert "does not exist" in d.cli("schedule", "ls", check=True).stdout.decode()
    d.stop()
    d2 = make_daemon(data=data)
    all_ = {s["name"]: s for s in json.loads(d2.request("GET", "/v1/schedules")[2])["schedules"]}
    assert set(all_) == {"every-minute", "warm", "off", "orphan"}
    assert all_["off"]["enabled"] is False and all_["warm"]["payload"] == {"warmer": True}
    assert all_["every-minute"]["next_firings"]


def test_scheduled_example(daemon):
    import os
    from conftest import EXAMPLES
    daemon.deploy("job", os.path.join(EXAMPLES, "scheduled"))
    ev = {"version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.events",
          "time": "2026-11-27T12:00:00Z",
          "resources": ["arn:aws:events:us-east-1:000000000000:rule/r"], "detail": {}}
    status, _, body = daemon.invoke("job", ev)
    assert status == 200 and json.loads(body)["scheduledTime"] == "2026-11-27T12:00:00Z"
    assert any("job run for arn:aws:events:us-east-1:000000000000:rule/r" in l
               for l in daemon.logs("job"))
    assert json.loads(daemon.invoke("job", {"warmer": True})[2]) == {"warm": True}
