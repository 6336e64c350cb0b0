"""Async events over time: finished events are pruned after --event-retention, failures
that reached no destination never are; failed events can be retried or deleted from the
API and the CLI; an event whose function was deleted still reaches the on-failure
destination the function had (or stays listed as failed)."""

import json
import time

from test_async import FAST, events, recorded, set_async, submit, wait_state


def wait_gone(d, name, rid, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if rid not in [e["requestId"] for e in events(d, name)]:
            return
        time.sleep(0.2)
    raise AssertionError("event %s of %s was never pruned" % (rid, name))


def test_finished_events_pruned_undelivered_failures_kept(make_daemon):
    d = make_daemon(["--event-retention", "2s"], env=FAST)
    d.deploy_fixture("echo")
    d.deploy_fixture("flaky")
    d.deploy_fixture("flaky", "sent")
    d.deploy_fixture("recorder", "dlq")
    set_async(d, "flaky", max_retry_attempts=0)
    set_async(d, "sent", max_retry_attempts=0, on_failure="dlq")
    ok = submit(d, "echo", {"n": 1})
    kept = submit(d, "flaky", {"fail": 1})
    sent = submit(d, "sent", {"fail": 1})
    ev = wait_state(d, "echo", ok, "succeeded")
    assert ev["finishedMs"] >= ev["createdMs"] and "destinationRequestId" not in ev
    wait_state(d, "flaky", kept, "failed")
    ev = wait_state(d, "sent", sent, "failed")
    rec = recorded(d, "dlq", 1)[0]
    assert rec["requestContext"]["requestId"] == sent
    assert ev["destinationRequestId"]
    # Still listed right after they finished: the retention counts from the finish.
    assert ok in [e["requestId"] for e in events(d, "echo")]
    wait_gone(d, "echo", ok)
    wait_gone(d, "sent", sent)
    # The failure that went nowhere stays, however long we wait past the retention.
    time.sleep(3)
    left = events(d, "flaky")
    assert [e["requestId"] for e in left] == [kept] and left[0]["state"] == "failed"


def test_retry_and_delete_failed_events(make_daemon):
    d = make_daemon(env=FAST)
    d.deploy_fixture("error", "job")
    set_async(d, "job", max_retry_attempts=0)
    a = submit(d, "job", {"n": 1})
    b = submit(d, "job", {"n": 2})
    wait_state(d, "job", a, "failed")
    wait_state(d, "job", b, "failed")
    # The fix is deployed; then the failures are run again.
    d.deploy_fixture("echo", "job")
    r = d.cli("events", "job", "--retry", a, check=True)
    assert ("retried event " + a) in r.stdout.decode()
    ev = wait_state(d, "job", a, "succeeded")
    assert ev["attempts"] == 0  # a redriven event starts over
    starts = [l for l in d.logs("job") if "START RequestId: " + a in l]
    assert len(starts) == 2  # the same request id, run twice
    # Every failure that reached no destination, from the API.
    status, _, body = d.request("POST", "/v1/functions/job/events/retry")
    assert status == 200 and json.loads(body) == {"retried": 1}, body
    wait_state(d, "job", b, "succeeded")
    status, _, body = d.request("POST", "/v1/functions/job/events/retry")
    assert json.loads(body) == {"retried": 0}
    # Delete: one finished event, then every failed one.
    d.deploy_fixture("error", "job")
    c = submit(d, "job", {"n": 3})
    wait_state(d, "job", c, "failed")
    r = d.cli("events", "job", "--delete", a, check=True)
    assert ("deleted event " + a) in r.stdout.decode()
    r = d.cli("events", "job", "--delete-failed", check=True)
    assert "deleted 1 failed event" in r.stdout.decode()
    assert [e["requestId"] for e in events(d, "job")] == [b]


def test_event_retry_and_delete_errors(make_daemon):
    d = make_daemon(env={"HEARTH_ASYNC_RETRY_MS": "60000"})
    d.deploy_fixture("flaky")
    rid = submit(d, "flaky", {"fail": 1})
    wait_state(d, "flaky", rid, "retrying")
    cases = [
        ("POST", "/v1/functions/flaky/events/%s/retry" % rid, 409, "it is pending"),
        ("POST", "/v1/functions/flaky/events/no-such-id/retry", 404, "has no event"),
        ("DELETE", "/v1/functions/flaky/events/%s" % rid, 409, "it is pending"),
        ("DELETE", "/v1/functions/flaky/events/no-such-id", 404, "has no event"),
        ("DELETE", "/v1/functions/flaky/events", 400, "state=failed"),
        ("DELETE", "/v1/functions/flaky/events?state=succeeded", 400, "state=failed"),
        ("POST", "/v1/functions/nope/events/retry", 404, "does not exist"),
        ("POST", "/v1/functions/bad%20name/events/retry", 400, "invalid function name"),
        ("POST", "/v1/functions/flaky/events/%01x/retry", 400, "invalid event id"),
    ]
    for method, path, want, text in cases:
        status, _, body = d.request(method, path)
        assert status == want, (method, path, body)
        assert text in json.loads(body)["error"]["message"], (path, body)
    for args in (["--retry", "x", "--delete", "y"], ["--retry-failed", "--state", "failed"],
                 ["--retry", ""]):
        r = d.cli("events", "flaky", *args)
        assert r.returncode == 2, (args, r.stderr)
    r = d.cli("events", "flaky", "--retry", "no-such-id")
    assert r.returncode == 1 and b"has no event" in r.stderr
    r = d.cli("serve", "--event-retention", "0")
    assert r.returncode == 2 and b"--event-retention" in r.stderr
    r = d.cli("serve", "--event-retention", "5M")
    assert r.returncode == 2


def test_deleted_function_event_reaches_on_failure(make_daemon):
    # Retries 2 s apart: the function is deleted while its event waits for one.
    d = make_daemon(env={"HEARTH_ASYNC_RETRY_MS": "2000"})
    d.deploy_fixture("flaky", "doomed")
    d.deploy_fixture("flaky", "lonely")
    d.deploy_fixture("recorder", "dlq")
    set_async(d, "doomed", on_failure="dlq")
    sent = submit(d, "doomed", {"fail": 9})
    kept = submit(d, "lonely", {"fail": 9})
    wait_state(d, "doomed", sent, "retrying")
    wait_state(d, "lonely", kept, "retrying")
    d.cli("rm", "doomed", check=True)
    d.cli("rm", "lonely", check=True)
    rec = recorded(d, "dlq", 1)[0]
    assert rec["requestContext"]["requestId"] == sent
    assert rec["requestContext"]["condition"] == "RetriesExhausted"
    assert rec["requestContext"]["approximateInvokeCount"] == 1
    assert rec["requestPayload"] == {"fail": 9}
    assert rec["responseContext"]["statusCode"] == 404
    assert rec["responsePayload"]["errorType"] == "ResourceNotFoundException"
    ev = wait_state(d, "doomed", sent, "failed")
    assert ev["destinationRequestId"]
    # With no destination it is kept, listed as failed, saying why.
    ev = wait_state(d, "lonely", kept, "failed")
    assert "does not exist" in ev["lastError"] and "destinationRequestId" not in ev
    out = d.cli("events", "lonely", check=True).stdout.decode()
    assert kept in out and "failed" in out
    # It can be deleted; it cannot be retried while the function is gone.
    status, _, body = d.request("POST", "/v1/functions/lonely/events/%s/retry" % kept)
    assert status == 404 and "deploy it again" in json.loads(body)["error"]["message"]
    d.cli("events", "lonely", "--delete", kept, check=True)
    assert events(d, "lonely") == []


def test_qualified_events_are_listed_under_their_function(daemon):
    d = daemon
    d.deploy_fixture("echo")
    status, _, body = d.request("POST", "/v1/functions/echo/versions", {})
    assert status in (200, 201), body
    rid = submit(d, "echo:1", {"v": 1})
    ev = wait_state(d, "echo", rid, "succeeded")
    assert ev["function"] == "echo:1"
    assert rid in d.cli("events", "echo", check=True).stdout.decode()
