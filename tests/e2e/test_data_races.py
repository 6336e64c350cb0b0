"""Adversarial races against code collection, event pruning and log rotation: each test
makes a race happen for real against the daemon and checks nothing accepted is lost and
no code still needed is removed."""

import json
import os
import threading
import time

from logread import chatty_lines, read_from


def trees(d):
    root = os.path.join(d.data, "code")
    return {n for n in os.listdir(root) if len(n) == 64}


def wait_busy(d, name, n=1, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        busy = [i for i in d.instances() if i["function"] == name and i["state"] == "busy"]
        if len(busy) >= n:
            return
        time.sleep(0.02)
    raise AssertionError("no busy instance of %s" % name)


def call_waiting_behind_another(d, busy_ms):
    """f with reserved concurrency 1: call a runs revision 1 (sleep) for busy_ms, then
    revision 2 (echo) is deployed and call b waits behind a for the one slot, revision 2
    with no instance yet. Returns the two threads and the dict their answers go to."""
    d.deploy_fixture("sleep", "f")
    status, _, body = d.request("PUT", "/v1/functions/f/scheduling", {"reserved": 1})
    assert status == 200, body
    got = {}

    def call(key, payload):
        got[key] = d.invoke("f", payload)

    a = threading.Thread(target=call, args=("a", {"ms": busy_ms}))
    a.start()
    wait_busy(d, "f")
    d.deploy_fixture("echo", "f")
    b = threading.Thread(target=call, args=("b", {"x": 1}))
    b.start()
    time.sleep(0.5)  # b now waits behind a
    return a, b, got


def test_update_while_a_call_waits_for_capacity(make_daemon):
    # Reserved concurrency 1: a call of revision 2 waits while revision 1's call runs.
    # Another update retires revision 2 while that call still waits for a slot, and
    # revision 2 has no instance yet. The waiting call must still run (or fail
    # cleanly), never against freed state or a removed /var/task.
    d = make_daemon(["--queue-wait", "8000"])
    a, b, got = call_waiting_behind_another(d, 2500)
    d.deploy_fixture("logger", "f")  # revision 3 retires revision 2 under b
    a.join()
    b.join()
    assert got["a"][0] == 200, got["a"]
    assert got["b"][0] == 200, got["b"]
    assert b"errorType" not in got["b"][2], got["b"]
    assert d.invoke("f")[0] == 200
    # Once b is done, revisions 1 and 2 are unused: only revision 3's tree stays.
    deadline = time.time() + 15
    while len(trees(d)) != 1 and time.time() < deadline:
        time.sleep(0.05)
    assert len(trees(d)) == 1, trees(d)


def test_delete_while_a_call_waits_for_capacity(make_daemon):
    # As above, but the function is deleted under the waiting call: the call ends
    # with an answer (it ran on the code it was accepted for, or was refused), the
    # daemon survives, and every tree goes afterwards.
    d = make_daemon(["--queue-wait", "8000"])
    a, b, got = call_waiting_behind_another(d, 2000)
    d.cli("rm", "f", check=True)
    a.join()
    b.join()
    assert got["a"][0] == 200, got["a"]
    assert got["b"][0] in (200, 404, 429), got["b"]
    assert d.request("GET", "/v1/health")[0] == 200
    deadline = time.time() + 15
    while trees(d) and time.time() < deadline:
        time.sleep(0.05)
    assert trees(d) == set()


def test_concurrent_updates_lose_nothing(daemon):
    # A code update (slow: a large archive to unpack) and a settings-only update of the
    # same function, in flight together. Each update merges its settings over the
    # function as it was when it arrived and commits when its unpack is done, so the
    # one that commits last used to undo the other while both had answered 200.
    # Now every update that answers 200 is in the function afterwards; one refused
    # with 409 says so.
    import base64
    from archives import read, zip_of

    d = daemon
    d.deploy_fixture("echo", "f")
    boot = read(os.path.join(os.environ["HEARTH_BUILD"], "fixtures", "envdump", "bootstrap"))
    big = zip_of({"bootstrap": (boot, 0o755), "pad": (os.urandom(24 << 20), 0o644)})
    got = {}

    def code_update():
        got["code"] = d.request("PUT", "/v1/functions/f", {
            "code_base64": base64.b64encode(big).decode()})

    t = threading.Thread(target=code_update)
    t.start()
    time.sleep(0.3)  # the code update is unpacking now
    got["env"] = d.request("PUT", "/v1/functions/f", {"environment": {"K": "V"}})
    t.join()
    assert got["code"][0] == 200, got["code"]
    fn = json.loads(d.request("GET", "/v1/functions/f")[2])
    if got["env"][0] == 200:
        assert fn["environment"] == {"K": "V"}, fn
    else:
        assert got["env"][0] == 409, got["env"]
        assert b"in progress" in got["env"][2], got["env"]
    status, _, body = d.invoke("f")
    assert status == 200 and b"AWS_LAMBDA_FUNCTION_NAME" in body, body  # the new code runs


def test_restart_mid_rotation_loses_and_repeats_nothing(make_daemon, tmp_path):
    # A rotation writes <name>.log.offset, then renames <name>.log to <name>.log.1. A
    # crash between the two is made here by hand: the offset a rotation writes, without
    # the rename. After the restart a follower must neither get the file again nor miss
    # what comes next, and a read from the start is in order without repeats.
    data = tmp_path / "data"
    d = make_daemon(["--log-max-size", "64K"], data=data)
    d.deploy_fixture("chatty")
    for tag in range(3):
        assert d.invoke("chatty", {"lines": 200, "tag": tag})[0] == 200
    _, cursor = read_from(d, "chatty", 0)
    d.stop()
    logs = os.path.join(str(data), "logs")
    cur = os.path.join(logs, "chatty.log")
    with open(os.path.join(logs, "chatty.log.offset")) as f:
        base = int(f.read().split()[0])
    st = os.stat(cur)
    assert base + st.st_size == cursor
    with open(os.path.join(logs, "chatty.log.offset"), "w") as f:
        f.write("%d\n%d\n" % (base + st.st_size, st.st_ino))

    d = make_daemon(["--log-max-size", "64K"], data=data)
    again, cursor2 = read_from(d, "chatty", cursor)
    assert chatty_lines(again) == [], "lines given twice after the restart"
    assert cursor2 == cursor
    assert d.invoke("chatty", {"lines": 200, "tag": 3})[0] == 200
    new, _ = read_from(d, "chatty", cursor)
    assert chatty_lines(new) == [(3, i) for i in range(200)]
    everything = chatty_lines(read_from(d, "chatty", 0)[0])
    assert everything == sorted(set(everything)), "lines out of order or repeated"
    assert everything[-200:] == [(3, i) for i in range(200)]


def test_followers_of_two_functions_across_rotations(make_daemon):
    # Two functions' logs rotate many times while each has a follower polling its
    # cursor: every line reaches its follower exactly once, in order.
    d = make_daemon(["--log-max-size", "64K"])
    d.deploy_fixture("chatty", "a")
    d.deploy_fixture("chatty", "b")
    seen = {"a": [], "b": []}
    cursors = {"a": read_from(d, "a", 0)[1], "b": read_from(d, "b", 0)[1]}
    for tag in range(10):
        for name in ("a", "b"):
            assert d.invoke(name, {"lines": 150, "tag": tag})[0] == 200
            # Poll often enough that a follower is never two rotations behind.
            lines, cursors[name] = read_from(d, name, cursors[name])
            seen[name] += chatty_lines(lines)
    for name in ("a", "b"):
        assert seen[name] == [(t, i) for t in range(10) for i in range(150)], name


def test_running_event_is_never_retried_deleted_or_pruned(make_daemon, tmp_path):
    # An event runs for longer than the retention; meanwhile it is retried, deleted one
    # by one and in bulk, and the prune passes run: it stays and ends succeeded. A
    # restart while the next one runs does not lose it either.
    from test_async import FAST, events, submit, wait_state

    data = tmp_path / "data"
    d = make_daemon(["--event-retention", "1s"], env=FAST, data=data)
    d.deploy_fixture("sleep", "job")
    status, _, body = d.request("PUT", "/v1/functions/job", {"timeout_s": 30})
    assert status == 200, body
    rid = submit(d, "job", {"ms": 3000})
    wait_state(d, "job", rid, "running")
    for path, verb in (("events/%s/retry" % rid, "POST"), ("events/%s" % rid, "DELETE")):
        status, _, body = d.request(verb, "/v1/functions/job/" + path)
        assert status == 409 and b"it is running" in body, (path, status, body)
    r = d.cli("events", "job", "--delete-failed", check=True)
    r = d.cli("events", "job", "--retry", rid)
    assert r.returncode != 0 and b"running" in r.stderr, r.stderr
    time.sleep(1.5)  # past the retention, prune passes have run
    assert [e["state"] for e in events(d, "job")] == ["running"]
    wait_state(d, "job", rid, "succeeded")

    rid2 = submit(d, "job", {"ms": 1500})
    wait_state(d, "job", rid2, "running")
    d.stop()
    d = make_daemon(["--event-retention", "1h"], env=FAST, data=data)
    wait_state(d, "job", rid2, "succeeded")


def test_same_code_deployed_twice_while_its_last_user_is_deleted(daemon):
    # h has the code; f and g get the same bytes (slow to unpack: the tree already
    # exists, so their unpacks reuse it) while h is deleted. The sweep that h's
    # delete asks for must not remove the tree f and g are about to commit.
    import base64
    from archives import read, zip_of

    d = daemon
    boot = read(os.path.join(os.environ["HEARTH_BUILD"], "fixtures", "echo", "bootstrap"))
    code = base64.b64encode(zip_of({"bootstrap": (boot, 0o755),
                                    "pad": (os.urandom(8 << 20), 0o644)})).decode()
    status, _, body = d.request("PUT", "/v1/functions/h", {"runtime": "provided",
                                                          "code_base64": code})
    assert status == 201, body
    tree = trees(d)
    got = {}

    def deploy(name):
        got[name] = d.request("PUT", "/v1/functions/" + name,
                              {"runtime": "provided", "code_base64": code})

    ts = [threading.Thread(target=deploy, args=(n,)) for n in ("f", "g")]
    for t in ts:
        t.start()
    d.cli("rm", "h", check=True)
    for t in ts:
        t.join()
    assert got["f"][0] == 201 and got["g"][0] == 201, got
    time.sleep(0.5)  # any sweep has run
    assert trees(d) == tree
    for n in ("f", "g"):
        status, _, body = d.invoke(n, {"k": n})
        assert status == 200 and b"errorType" not in body, body
