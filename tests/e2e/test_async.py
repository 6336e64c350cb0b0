"""Asynchronous invocation: retries per function, maximum event age, on-success and
on-failure destinations with Lambda's record, `hearth events`, and the crash test:
1,000 accepted events, kill -9 while they run, every one processed after restart."""

import json
import os
import signal
import time

import pytest

# Retries 0.3 s then 0.6 s apart instead of 1 then 2 minutes.
FAST = {"HEARTH_ASYNC_RETRY_MS": "300"}


def submit(d, name, payload):
    status, _, body = d.invoke(name, payload, headers={"X-Amz-Invocation-Type": "Event"})
    assert status == 202, body
    return json.loads(body)["requestId"]


def events(d, name, **query):
    q = "&".join("%s=%s" % kv for kv in query.items())
    status, _, body = d.request("GET", "/v1/functions/%s/events%s" % (name, "?" + q if q else ""))
    assert status == 200, body
    return json.loads(body)["events"]


def wait_state(d, name, rid, want, timeout=20):
    deadline = time.time() + timeout
    ev = None
    while time.time() < deadline:
        ev = [e for e in events(d, name) if e["requestId"] == rid]
        if ev and ev[0]["state"] == want:
            return ev[0]
        time.sleep(0.05)
    raise AssertionError("event %s of %s never became %s: %s" % (rid, name, want, ev))


def recorded(d, name, n, timeout=20):
    """The events the recorder fixture printed, as JSON, once there are n."""
    deadline = time.time() + timeout
    found = []
    while time.time() < deadline:
        found = [json.loads(l.split("EVENT ", 1)[1]) for l in d.logs(name) if "EVENT " in l]
        if len(found) >= n:
            return found
        time.sleep(0.05)
    raise AssertionError("%s recorded %d events, wanted %d" % (name, len(found), n))


def set_async(d, name, **cfg):
    status, _, body = d.request("PUT", "/v1/functions/%s/async-config" % name, cfg)
    assert status == 200, body
    return json.loads(body)


def test_retries_until_success_then_on_success_record(make_daemon):
    d = make_daemon(env=FAST)
    d.deploy_fixture("flaky")
    d.deploy_fixture("recorder", "sink")
    set_async(d, "flaky", on_success="sink")
    rid = submit(d, "flaky", {"fail": 2})
    ev = wait_state(d, "flaky", rid, "succeeded")
    assert ev["attempts"] == 2  # two failed attempts before the one that succeeded
    rec = recorded(d, "sink", 1)[0]
    assert rec["version"] == "1.0"
    assert rec["requestContext"]["requestId"] == rid
    assert rec["requestContext"]["condition"] == "Success"
    assert rec["requestContext"]["approximateInvokeCount"] == 3
    assert rec["requestContext"]["functionArn"].endswith(":function:flaky:$LATEST")
    assert rec["requestPayload"] == {"fail": 2}
    assert rec["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert rec["responsePayload"] == {"ok": True, "attempt": 3}
    assert rec["timestamp"].endswith("Z")


def test_retries_exhausted_go_to_on_failure(make_daemon):
    d = make_daemon(env=FAST)
    d.deploy_fixture("flaky")
    d.deploy_fixture("recorder", "dlq")
    cfg = set_async(d, "flaky", on_failure="arn:aws:lambda:us-east-1:000000000000:function:dlq",
                    max_retry_attempts=1)
    assert cfg["on_failure"] == "dlq" and cfg["max_retry_attempts"] == 1
    rid = submit(d, "flaky", {"fail": 5})
    ev = wait_state(d, "flaky", rid, "failed")
    assert "Fixture.Flaky" in ev["lastError"] or "planned failures" in ev["lastError"]
    rec = recorded(d, "dlq", 1)[0]
    assert rec["requestContext"]["condition"] == "RetriesExhausted"
    assert rec["requestContext"]["approximateInvokeCount"] == 2
    assert rec["responseContext"]["functionError"] == "Unhandled"
    assert "planned failures" in json.dumps(rec["responsePayload"])
    # Two attempts ran, not three.
    starts = [l for l in d.logs("flaky") if "START RequestId: " + rid in l]
    assert len(starts) == 2


def test_zero_retries_and_failed_events_are_kept(make_daemon):
    d = make_daemon(env=FAST)
    d.deploy_fixture("flaky")
    set_async(d, "flaky", max_retry_attempts=0)
    rid = submit(d, "flaky", {"fail": 1})
    wait_state(d, "flaky", rid, "failed")
    starts = [l for l in d.logs("flaky") if "START RequestId: " + rid in l]
    assert len(starts) == 1
    # No destination: the event stays, listed as failed, by the API and the CLI.
    assert [e["requestId"] for e in events(d, "flaky", state="failed")] == [rid]
    out = d.cli("events", "flaky", "--state", "failed", check=True).stdout.decode()
    assert rid in out and "failed" in out
    assert events(d, "flaky", state="succeeded") == []


def test_retrying_state_is_shown(make_daemon):
    # Slow retries: the event sits in "retrying" between its attempts.
    d = make_daemon(env={"HEARTH_ASYNC_RETRY_MS": "60000"})
    d.deploy_fixture("flaky")
    rid = submit(d, "flaky", {"fail": 1})
    ev = wait_state(d, "flaky", rid, "retrying")
    assert ev["attempts"] == 1 and ev["nextMs"] > time.time() * 1000 + 30000
    out = d.cli("events", "flaky", check=True).stdout.decode()
    assert "retrying" in out


def test_missing_destination_keeps_the_event(make_daemon):
    d = make_daemon(env=FAST)
    d.deploy_fixture("flaky")
    d.deploy_fixture("recorder", "gone")
    set_async(d, "flaky", on_failure="gone", max_retry_attempts=0)
    d.cli("rm", "gone", check=True)
    rid = submit(d, "flaky", {"fail": 1})
    ev = wait_state(d, "flaky", rid, "failed")
    assert "destination 'gone' does not exist" in ev["lastError"]


def test_event_age_exceeded(make_daemon):
    # The first retry would come after 90 s, past the 60 s maximum age: the event is
    # given up at once with EventAgeExceeded instead of waiting.
    d = make_daemon(env={"HEARTH_ASYNC_RETRY_MS": "90000"})
    d.deploy_fixture("flaky")
    d.deploy_fixture("recorder", "dlq")
    set_async(d, "flaky", on_failure="dlq", max_event_age_s=60)
    rid = submit(d, "flaky", {"fail": 3})
    wait_state(d, "flaky", rid, "failed")
    rec = recorded(d, "dlq", 1)[0]
    assert rec["requestContext"]["condition"] == "EventAgeExceeded"
    assert rec["requestContext"]["requestId"] == rid


def test_async_config_api_and_cli(daemon):
    daemon.deploy_fixture("echo")
    status, _, body = daemon.request("GET", "/v1/functions/echo/async-config")
    assert status == 200
    assert json.loads(body)["max_retry_attempts"] == 2
    assert json.loads(body)["max_event_age_s"] == 21600
    for bad in ({"max_retry_attempts": 3}, {"max_event_age_s": 59}, {"max_event_age_s": 21601},
                {"on_failure": "no-such-fn"}, {"on_success": 5}, {"colour": "red"},
                {"on_failure": "arn:aws:sqs:us-east-1:000000000000:q"}):
        status, _, body = daemon.request("PUT", "/v1/functions/echo/async-config", bad)
        assert status in (400, 404), (bad, body)
        assert json.loads(body)["error"]["message"]
    status, _, _ = daemon.request("PUT", "/v1/functions/nope/async-config", {})
    assert status == 404
    r = daemon.cli("async-config", "echo", "--max-retries", "1", "--max-event-age", "120",
                   "--on-failure", "echo", check=True)
    out = r.stdout.decode()
    assert "max retries      1" in out and "120s" in out and "on failure       echo" in out
    r = daemon.cli("async-config", "echo", "--max-retries", "7")
    assert r.returncode == 2 and b"--max-retries" in r.stderr
    r = daemon.cli("async-config", "echo", "--reset", check=True)
    assert "max retries      2" in r.stdout.decode()
    # Settings go with the function.
    daemon.cli("async-config", "echo", "--max-retries", "0", check=True)
    daemon.cli("rm", "echo", check=True)
    daemon.deploy_fixture("echo")
    assert json.loads(daemon.request("GET", "/v1/functions/echo/async-config")[2])[
        "max_retry_attempts"] == 2


def test_events_api_bad_queries(daemon):
    daemon.deploy_fixture("echo")
    for q in ("state=done", "limit=0", "limit=x", "limit=10001"):
        status, _, body = daemon.request("GET", "/v1/functions/echo/events?" + q)
        assert status == 400, (q, body)
    assert daemon.cli("events", "echo", "--state", "nope").returncode == 2


def all_logs(d, name):
    """Every log line, paging with the cursor (one answer holds at most 256 KB)."""
    lines, cursor = [], 0
    while True:
        status, _, body = d.request("GET", "/v1/functions/%s/logs?cursor=%d" % (name, cursor))
        assert status == 200, body
        page = json.loads(body)
        if not page["lines"]:
            return lines
        lines += page["lines"]
        cursor = page["cursor"]


def test_thousand_events_survive_kill_9(make_daemon, tmp_path):
    """Every accepted event is processed at least once across a kill -9."""
    from conftest import cgroup_leftovers
    data = tmp_path / "crash"
    d = make_daemon(data=data, env=FAST)
    # 40 ms each, 16 at a time: 1,000 events take a few seconds, so the kill
    # lands while some run and many wait.
    d.deploy_fixture("sleep")
    rids = set()
    for i in range(1000):
        rids.add(submit(d, "sleep", {"ms": 40, "i": i}))
    assert len(rids) == 1000
    before = {e["requestId"]: e["state"] for e in events(d, "sleep", limit=2000)}
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait(10)
    unfinished = [r for r in rids if before.get(r) != "succeeded"]
    assert len(unfinished) > 100, "the kill came too late to test anything"
    deadline = time.time() + 10
    while cgroup_leftovers(d.spawner_pid) and time.time() < deadline:
        time.sleep(0.05)
    d2 = make_daemon(data=data, env=FAST)
    deadline = time.time() + 180
    while time.time() < deadline:
        states = {e["requestId"]: e["state"] for e in events(d2, "sleep", limit=2000)}
        if all(states.get(r) == "succeeded" for r in rids):
            break
        time.sleep(0.5)
    assert set(states) == rids, "events lost: %d" % len(rids - set(states))
    missing = [r for r in rids if states[r] != "succeeded"]
    assert not missing, "%d not processed, e.g. %s" % (len(missing), missing[:3])
    # Each ran to its END at least once, in one daemon or the other.
    ended = {l.split("END RequestId: ")[1].strip() for l in all_logs(d2, "sleep")
             if "END RequestId: " in l}
    assert rids <= ended
