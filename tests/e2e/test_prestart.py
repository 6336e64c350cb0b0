"""Pre-started runtimes (src/sandbox/stem.c, `hearth serve --prestart N`).

A python3 or nodejs cold start takes a sandbox whose interpreter already
started, if one of the same kind is ready. These tests check that it does,
and above all that the instance it becomes is indistinguishable from one
started for the function: same ids, capabilities, seccomp, environment, fds,
mounts, /tmp size, limits; and that everything a stem cannot serve (a
start-up variable it was not started with, a dead stem) still works.
Fixtures: tests/fixtures/stem-python, tests/fixtures/stem-node."""

import json
import os
import signal
import time

from conftest import REPO, cgroup_leftovers

PY = os.path.join(REPO, "tests", "fixtures", "stem-python")
NODE = os.path.join(REPO, "tests", "fixtures", "stem-node")


def deploy(d, name, runtime, handler, *extra):
    code = PY if runtime == "python3" else NODE
    d.cli("deploy", name, "--runtime", runtime, "--handler", handler, "--code", code,
          *extra, check=True)


def call(d, name, payload=None):
    status, hdrs, body = d.invoke(name, payload or {})
    assert status == 200, body
    assert "X-Amz-Function-Error" not in hdrs, body
    return json.loads(body)


def stems(d):
    """The spawner's pre-started runtimes: memory cgroups named z<n> with a
    process in them."""
    out = []
    for parent in cgroup_leftovers(d.spawner_pid):
        if "/memory/" not in parent and not os.path.exists(os.path.join(parent, "memory.max")):
            continue
        for e in os.listdir(parent):
            procs = os.path.join(parent, e, "cgroup.procs")
            if e.startswith("z") and os.path.exists(procs):
                with open(procs) as f:
                    if f.read().strip():
                        out.append(os.path.join(parent, e))
    return out


def wait_stem_ready(d, runtime, timeout=20, lacks=None):
    """Waits until a stem of runtime exists and its interpreter is blocked
    waiting for a function (sleeping, not running); with lacks, one whose
    start-up environment has no variable of that name."""
    exe = os.path.realpath("/usr/bin/python3" if runtime == "python3" else "/usr/bin/node")
    deadline = time.time() + timeout
    while time.time() < deadline:
        for cg in stems(d):
            with open(os.path.join(cg, "cgroup.procs")) as f:
                pids = [int(p) for p in f.read().split()]
            for pid in pids:
                try:
                    if os.readlink("/proc/%d/exe" % pid) != exe:
                        continue
                    with open("/proc/%d/stat" % pid) as f:
                        state = f.read().rsplit(")", 1)[1].split()[0]
                    with open("/proc/%d/wchan" % pid) as f:
                        wchan = f.read()
                    if lacks:
                        with open("/proc/%d/environ" % pid, "rb") as f:
                            if (b"\0" + f.read()).find(b"\0" + lacks.encode() + b"=") >= 0:
                                continue
                except OSError:
                    continue
                # Blocked on its assignment socket, after start-up.
                if state == "S" and wchan in ("unix_stream_read_generic", "unix_stream_data_wait"):
                    return pid
        time.sleep(0.05)
    raise AssertionError("no ready %s stem within %ss" % (runtime, timeout))


def found_class(d, runtime, handler):
    """The first cold start of a runtime shows the spawner how to start it."""
    deploy(d, "founder-" + runtime, runtime, handler)
    call(d, "founder-" + runtime)


def test_python_cold_start_takes_a_prestarted_runtime(daemon):
    d = daemon
    found_class(d, "python3", "probe.state")
    deploy(d, "late", "python3", "probe.state", "--env", "GREETING=hi")
    stem_pid = wait_stem_ready(d, "python3")
    time.sleep(0.3)
    t0 = time.time()
    out = call(d, "late")
    took = time.time() - t0
    # The interpreter is older than the call: it started before it.
    assert out["age_s"] > took + 0.2, (out["age_s"], took)
    assert out["env"]["GREETING"] == "hi"
    assert out["env"]["AWS_LAMBDA_FUNCTION_NAME"] == "late"
    # The stem became the instance: its interpreter is the child of the
    # instance's hearth-init.
    init_pid = [i["pid"] for i in d.instances() if i["function"] == "late"][0]
    with open("/proc/%d/stat" % stem_pid) as f:
        assert int(f.read().rsplit(")", 1)[1].split()[1]) == init_pid
    # And the next stem is on its way.
    assert wait_stem_ready(d, "python3") != stem_pid


def normalise(state):
    """What must match between a stem-born and a freshly started instance."""
    s = dict(state)
    s.pop("age_s")
    env = dict(s.pop("env"))
    # Per instance or per call by nature.
    env.pop("_X_AMZN_TRACE_ID", None)
    s["env"] = env
    return s


def test_prestarted_instance_is_the_same_as_a_fresh_one(make_daemon):
    fresh = make_daemon(["--prestart", "0"])
    deploy(fresh, "f", "python3", "probe.state", "--memory", "256", "--tmp", "77",
           "--env", "A=1")
    want = normalise(call(fresh, "f"))
    assert want["ids"] == [993, 993, 993, 993, []]
    assert want["caps"] == ["0000000000000000"] * 5
    assert want["task_write"] == "Read-only file system"

    d = make_daemon()
    found_class(d, "python3", "probe.state")
    deploy(d, "f", "python3", "probe.state", "--memory", "256", "--tmp", "77",
           "--env", "A=1")
    wait_stem_ready(d, "python3")
    time.sleep(0.3)
    got = call(d, "f")
    assert got["age_s"] > 0.25, got["age_s"]
    got = normalise(got)
    assert sorted(got["env"].items()) == sorted(want["env"].items())
    # Same log stream naming, other daemon: only the revision's stream differs.
    for s in (got, want):
        s["env"].pop("AWS_LAMBDA_LOG_STREAM_NAME")
    assert got == want
    assert got["tmp_bytes"] == 77 << 20
    assert got["task"] == ["probe.py"]
    assert got["pids"] == [1, 2]
    assert got["nofile"] == 1

    # node likewise (its probe reports less).
    deploy(fresh, "n", "nodejs", "probe.state", "--env", "B=2")
    want = call(fresh, "n")
    found_class(d, "nodejs", "probe.state")
    deploy(d, "n", "nodejs", "probe.state", "--env", "B=2")
    wait_stem_ready(d, "nodejs")
    time.sleep(0.3)
    got = call(d, "n")
    assert got.pop("ageS") > 0.25
    want.pop("ageS")
    for s in (got, want):
        for k in ("_X_AMZN_TRACE_ID", "AWS_LAMBDA_LOG_STREAM_NAME"):
            s["env"].pop(k, None)
    assert got == want


def test_limits_are_the_functions(daemon):
    d = daemon
    found_class(d, "python3", "probe.state")
    # Larger than a stem's own 128 MB: the limit was raised for the function.
    deploy(d, "big", "python3", "probe.state", "--memory", "512", "--timeout", "10")
    wait_stem_ready(d, "python3")
    out = call(d, "big", {"hog_mb": 300})
    assert out["age_s"] > 0.1
    # And held to the function's: 128 MB cannot hold 300.
    deploy(d, "small", "python3", "probe.state", "--memory", "128", "--timeout", "10")
    wait_stem_ready(d, "python3")
    status, hdrs, body = d.invoke("small", {"hog_mb": 300}, timeout=90)
    assert status == 200
    assert hdrs.get("X-Amz-Function-Error") == "Unhandled", body
    err = json.loads(body)
    assert err["errorType"] == "Runtime.OutOfMemory", err
    assert "128 MB memory limit" in err["errorMessage"], err


def test_a_startup_variable_gets_a_fresh_interpreter(daemon):
    d = daemon
    found_class(d, "python3", "probe.state")
    deploy(d, "own", "python3", "probe.state", "--env", "PYTHONDONTWRITEBYTECODE=1")
    wait_stem_ready(d, "python3")
    time.sleep(0.3)
    t0 = time.time()
    out = call(d, "own")
    # Started for this call, with the variable seen at start-up.
    assert out["age_s"] < (time.time() - t0) + 0.05, out["age_s"]
    assert out["env"]["PYTHONDONTWRITEBYTECODE"] == "1"


def test_a_dead_stem_is_replaced_and_nothing_is_lost(daemon):
    d = daemon
    found_class(d, "python3", "probe.state")
    pid = wait_stem_ready(d, "python3")
    os.kill(pid, signal.SIGKILL)
    # Its hearth-init exits with it; the spawner starts another.
    deadline = time.time() + 20
    while time.time() < deadline:
        new = wait_stem_ready(d, "python3")
        if new != pid:
            break
    assert new != pid
    deploy(d, "after", "python3", "probe.state")
    out = call(d, "after")
    assert out["env"]["AWS_LAMBDA_FUNCTION_NAME"] == "after"
    # The dead stem was never reported as an instance of anything.
    assert sorted(i["function"] for i in d.instances()) == ["after", "founder-python3"]


def test_node_cold_starts_take_prestarted_runtimes(daemon):
    d = daemon
    found_class(d, "nodejs", "probe.state")
    # CommonJS, then an ES module, each from a stem.
    deploy(d, "cjs", "nodejs", "probe.state", "--env", "WHO=cjs")
    wait_stem_ready(d, "nodejs")
    time.sleep(0.3)
    out = call(d, "cjs")
    assert out["ageS"] > 0.1, out
    assert out["uid"] == 993
    assert out["caps"] == ["0000000000000000"] * 5
    assert out["env"]["WHO"] == "cjs" and out["env"]["AWS_LAMBDA_FUNCTION_NAME"] == "cjs"
    assert "HEARTH_STEM_FD" not in out["env"] and "HEARTH_STEM" not in out["env"]
    assert out["task"] == ["index.mjs", "probe.js"]
    deploy(d, "esm", "nodejs", "index.handler")
    wait_stem_ready(d, "nodejs")
    out = call(d, "esm")
    assert out["esm"] is True and out["started"] == "top-level await ran"


def test_prestart_zero_starts_none(make_daemon):
    d = make_daemon(["--prestart", "0"])
    found_class(d, "python3", "probe.state")
    time.sleep(0.5)
    assert stems(d) == []


def test_hearth_variables_are_refused(daemon):
    r = daemon.cli("deploy", "x", "--runtime", "python3", "--handler", "probe.state",
                   "--code", PY, "--env", "HEARTH_STEM=1")
    assert r.returncode != 0
    assert b"reserved" in r.stderr, r.stderr


def test_code_mount_takes_no_propagation_from_the_host(tmp_path, make_daemon):
    """On a host whose mounts are shared (systemd makes / shared), the code
    mount a stem gets must be private like a fresh instance's: a mount the
    host makes later under the code directory must not reach the running
    instance's /var/task. The data directory sits on a shared bind mount
    here, made before the daemon starts and removed after it stops."""
    import glob
    import subprocess

    shared = tmp_path / "shared"
    shared.mkdir()
    subprocess.run(["mount", "--bind", str(shared), str(shared)], check=True)
    try:
        subprocess.run(["mount", "--make-shared", str(shared)], check=True)
        d = make_daemon(data=shared / "data")
        found_class(d, "python3", "probe.state")
        deploy(d, "f", "python3", "probe.state")
        wait_stem_ready(d, "python3")
        time.sleep(0.3)
        out = call(d, "f")
        assert out["age_s"] > 0.25, out["age_s"]
        code = glob.glob(str(shared / "data" / "code" / "*"))
        assert len(code) == 1, code
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "hearth-test", code[0]],
                       check=True)
        try:
            out = call(d, "f")
        finally:
            subprocess.run(["umount", code[0]], check=True)
        assert out["task"] == ["probe.py"], out["task"]
        d.stop()
    finally:
        subprocess.run(["umount", "-l", str(shared)], check=True)


def test_an_idle_kind_gives_its_place_to_a_new_one(make_daemon):
    """The class table is small; the first kinds seen (here four start-up
    environments of one tenant) must not keep every other function from
    pre-started runtimes for the daemon's lifetime: a kind unused for a
    while (60 s; 0.5 s here) gives its place to a new one."""
    d = make_daemon(env={"HEARTH_STEM_CLASS_IDLE_MS": "500"})
    for i in range(4):
        deploy(d, "kind%d" % i, "python3", "probe.state", "--env", "PYTHONKIND=%d" % i)
        call(d, "kind%d" % i)
    wait_stem_ready(d, "python3")
    time.sleep(1)
    # A fifth kind (the plain one): founded now, in place of an idle one.
    found_class(d, "python3", "probe.state")
    deploy(d, "plain", "python3", "probe.state")
    wait_stem_ready(d, "python3", lacks="PYTHONKIND")
    time.sleep(0.3)
    t0 = time.time()
    out = call(d, "plain")
    assert out["age_s"] > (time.time() - t0) + 0.2, out["age_s"]
    assert "PYTHONKIND" not in out["env"]


def test_node_options_never_run_in_a_stem(daemon):
    """node runs NODE_OPTIONS' --import=data:... as it starts: a stem of that
    class would run the function's code before it has a function (unbilled,
    unlimited in time, unseen by `hearth ps`). Such functions start afresh,
    and no stem is ever started with NODE_OPTIONS."""
    d = daemon
    opts = "NODE_OPTIONS=--import=data:text/javascript,globalThis.early=1"
    deploy(d, "opts1", "nodejs", "probe.state", "--env", opts)
    call(d, "opts1")
    deploy(d, "opts2", "nodejs", "probe.state", "--env", opts)
    # Long enough for a node stem to start here (it does without the variable).
    deadline = time.time() + 3
    while time.time() < deadline:
        for cg in stems(d):
            with open(os.path.join(cg, "cgroup.procs")) as f:
                for pid in f.read().split():
                    try:
                        with open("/proc/%s/environ" % pid, "rb") as e:
                            env = e.read()
                    except OSError:
                        continue
                    assert b"NODE_OPTIONS=" not in env, "a stem runs with " + opts
        time.sleep(0.1)
    t0 = time.time()
    out = call(d, "opts2")
    assert out["ageS"] < (time.time() - t0) + 0.5, out["ageS"]
    assert out["env"]["NODE_OPTIONS"] == opts.split("=", 1)[1]
