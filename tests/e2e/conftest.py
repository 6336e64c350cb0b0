"""End-to-end harness: boots the real daemon on a kernel-chosen port with a
temporary data directory, drives it through the CLI and the HTTP API, and on
teardown checks that it stops cleanly (SIGTERM -> exit 0, no sanitizer report)
and leaves no process or cgroup behind."""

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("HEARTH_BUILD", os.path.join(REPO, "build"))
HEARTH = os.path.join(BUILD, "hearth")
FIXTURES = os.path.join(BUILD, "fixtures")
EXAMPLES = os.path.join(BUILD, "examples")

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


CGROUP_ROOTS = ("/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/cpu",
                "/sys/fs/cgroup/freezer",
                "/sys/fs/cgroup")


# Where each spawner keeps its cgroups: under the spawner's own cgroup in each
# hierarchy (which is the root on a plain machine, but not inside a managed
# one), learned from /proc/PID/cgroup while the spawner runs.
SPAWNER_CGROUPS = {}


def note_spawner_cgroups(spawner_pid):
    paths = set()
    try:
        with open("/proc/%d/cgroup" % spawner_pid) as f:
            lines = f.read().splitlines()
    except OSError:
        return
    for line in lines:
        _, controllers, rel = line.split(":", 2)
        rel = rel.lstrip("/")
        if controllers == "":
            roots = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
        else:
            roots = ["/sys/fs/cgroup/" + c for c in controllers.split(",")]
            roots.append("/sys/fs/cgroup/" + controllers)
        for root in roots:
            if os.path.isdir(root):
                paths.add(os.path.join(root, rel, "hearth-%d" % spawner_pid))
    SPAWNER_CGROUPS[spawner_pid] = sorted(paths)


def cgroup_leftovers(spawner_pid):
    """Cgroup directories the given spawner made that still exist."""
    candidates = set(os.path.join(root, "hearth-%d" % spawner_pid) for root in CGROUP_ROOTS)
    candidates.update(SPAWNER_CGROUPS.get(spawner_pid, []))
    return sorted(p for p in candidates if os.path.exists(p))


def instance_cgroups(spawner_pid):
    """Instance cgroups (i<id>) still under the given spawner's parents."""
    found = []
    for path in cgroup_leftovers(spawner_pid):
        found += [os.path.join(path, e) for e in os.listdir(path)
                  if e.startswith("i") and os.path.isdir(os.path.join(path, e))]
    return found


def sandbox_processes(spawner_pid=None):
    """Processes running as a sandbox uid (host ids 100000..165535); with
    spawner_pid, only those in that spawner's cgroups (other daemons may run
    on this machine at the same time)."""
    found = []
    mark = "/hearth-%d/" % spawner_pid if spawner_pid else None
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/status" % d) as f:
                for line in f:
                    if line.startswith("Uid:"):
                        uid = int(line.split()[1])
                        break
                else:
                    continue
            if not 100000 <= uid < 165536:
                continue
            if mark:
                with open("/proc/%s/cgroup" % d) as f:
                    if mark not in f.read():
                        continue
            found.append(int(d))
        except OSError:
            pass
    if spawner_pid is None:
        return found
    mark = "/hearth-%d/" % spawner_pid
    mine = []
    for pid in found:
        try:
            with open("/proc/%d/cgroup" % pid) as f:
                if mark in f.read():
                    mine.append(pid)
        except OSError:
            pass
    return mine


def fd_targets(pid):
    """What a process's open fds point at, normalised to kinds
    ("socket", "pipe", "net" namespace, "anon_inode:...", or the path)."""
    out = []
    base = "/proc/%d/fd" % pid
    try:
        names = os.listdir(base)
    except OSError:
        return out
    for n in names:
        try:
            t = os.readlink(os.path.join(base, n))
        except OSError:
            continue
        if t.startswith(("socket:", "pipe:", "net:", "user:", "mnt:")):
            t = t.split(":")[0]
        out.append(t)
    return sorted(out)


def _ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _in_cgroup_of(pid, spawner_pid):
    """Whether pid sits in a cgroup under the given spawner's hearth-<pid> directory."""
    mark = "/hearth-%d" % spawner_pid
    try:
        with open("/proc/%d/cgroup" % pid) as f:
            return any(mark + "/" in l or l.rstrip().endswith(mark) for l in f)
    except OSError:
        return False


def own_sandbox_processes(daemon_pid, spawner_pid):
    """Sandbox processes that are this daemon's: descended from it or its spawner, or
    still in one of its spawner's cgroups (where an orphan stays). Other test runs may
    share the machine and its sandbox uids; their processes are left out."""
    found = []
    for pid in sandbox_processes():
        if spawner_pid and _in_cgroup_of(pid, spawner_pid):
            found.append(pid)
            continue
        p = pid
        while p > 1:
            p = _ppid(p)
            if p in (daemon_pid, spawner_pid):
                found.append(pid)
                break
    return found


def host_mounts():
    with open("/proc/self/mountinfo") as f:
        return sorted(l.split()[4] for l in f)


def children_of(pid, seeds=False):
    """Child processes of pid; the spawner's seeds (hearth-seed: pooled, idle
    forks of it, src/sandbox/seed.c) only with seeds=True."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                head, rest = f.read().rsplit(")", 1)
            fields = rest.split()
            if not seeds and head.endswith("(hearth-seed"):
                continue
            if int(fields[1]) == pid:
                out.append(int(d))
        except (OSError, IndexError):
            pass
    return out


class Daemon:
    def __init__(self, data_dir, extra_args=(), env=None):
        self.data = str(data_dir)
        self.extra_args = list(extra_args)
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.proc = None
        self.stderr_path = os.path.join(self.data + ".stderr")

    # lifecycle -----------------------------------------------------------
    def start(self):
        os.makedirs(self.data, exist_ok=True)
        addr_file = os.path.join(self.data, "address")
        if os.path.exists(addr_file):
            os.unlink(addr_file)
        self.stderr = open(self.stderr_path, "ab")
        self.mounts_before = host_mounts()
        self.proc = subprocess.Popen(
            [HEARTH, "serve", "--data", self.data, "--listen", "127.0.0.1:0",
             "--gateway", "127.0.0.1:0"] + self.extra_args,
            stdout=self.stderr, stderr=self.stderr, env=self.env)
        deadline = time.time() + 20
        while time.time() < deadline:
            if os.path.exists(addr_file):
                with open(addr_file) as f:
                    addr = f.read().strip()
                if addr:
                    break
            if self.proc.poll() is not None:
                raise AssertionError("daemon exited at start:\n" + self.log())
            time.sleep(0.02)
        else:
            raise AssertionError("daemon did not start:\n" + self.log())
        self.url = "http://" + addr
        # The gateway writes its address before the admin listener's.
        self.gateway_url = None
        gw_file = os.path.join(self.data, "gateway-address")
        if os.path.exists(gw_file):
            with open(gw_file) as f:
                self.gateway_url = "http://" + f.read().strip()
        with open(os.path.join(self.data, "token")) as f:
            self.token = f.read().strip()
        self.spawner_pid = None
        kids = children_of(self.proc.pid)
        if kids:
            self.spawner_pid = min(kids)
            note_spawner_cgroups(self.spawner_pid)
        self.fds_before = self.fds()
        return self

    def fds(self):
        # The spawner's user namespace fds are a cache of per-instance id
        # slots that grows with peak concurrency (bounded, reused), so they
        # are left out; everything else must come back to what it was.
        spawner = fd_targets(self.spawner_pid) if self.spawner_pid else []
        return {"daemon": fd_targets(self.proc.pid),
                "spawner": [t for t in spawner if t != "user"]}

    def assert_clean(self, timeout=10):
        """After a scenario, once no instance should exist: no instance in the
        API, no process in a sandbox cgroup of ours, no instance cgroup, no
        new host mount, no network namespace or other fd left open in the
        daemon or the spawner (the spawner's pool of ready network
        namespaces refills to its size, so the fd lists match the start)."""
        deadline = time.time() + timeout
        while True:
            problems = []
            if self.instances():
                problems.append("instances: %s" % self.instances())
            if self.spawner_pid and children_of(self.spawner_pid):
                problems.append("spawner children: %s" % children_of(self.spawner_pid))
            if sandbox_processes(self.spawner_pid):
                problems.append("sandbox processes: %s" % sandbox_processes(self.spawner_pid))
            if self.spawner_pid and instance_cgroups(self.spawner_pid):
                problems.append("cgroups: %s" % instance_cgroups(self.spawner_pid))
            if host_mounts() != self.mounts_before:
                problems.append("host mounts changed")
            if self.fds() != self.fds_before:
                problems.append("fds: %s != %s" % (self.fds(), self.fds_before))
            if not problems or time.time() > deadline:
                break
            time.sleep(0.05)
        assert not problems, "left behind: " + "; ".join(problems)

    def stop(self, check=True):
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("daemon did not stop on SIGTERM:\n" + self.log())
        self.stderr.close()
        if check:
            log = self.log()
            assert rc == 0, "daemon exited %d:\n%s" % (rc, log)
            for mark in SANITIZER_MARKS:
                assert mark not in log, "sanitizer report:\n" + log
            if self.spawner_pid:
                deadline = time.time() + 5
                while cgroup_leftovers(self.spawner_pid) and time.time() < deadline:
                    time.sleep(0.05)
                assert not cgroup_leftovers(self.spawner_pid), "cgroups left behind"
                assert not os.path.exists("/proc/%d" % self.spawner_pid) or \
                    open("/proc/%d/stat" % self.spawner_pid).read().split()[2] == "Z", \
                    "spawner still running"
            assert own_sandbox_processes(self.proc.pid, self.spawner_pid) == [], \
                "sandbox processes left behind"
            assert host_mounts() == self.mounts_before, "host mounts changed"
        return rc

    def log(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # clients -------------------------------------------------------------
    def cli(self, *args, input=None, check=False, timeout=60, env=None, token=True):
        e = dict(os.environ)
        e["HEARTH_API"] = self.url
        e.pop("HEARTH_TOKEN", None)
        if token:
            e["HEARTH_TOKEN"] = self.token
        e.update(env or {})
        r = subprocess.run([HEARTH] + list(args) + [], input=input, capture_output=True,
                           env=e, timeout=timeout, cwd=self.data)
        if check:
            assert r.returncode == 0, "hearth %s failed (%d): %s %s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr)
        return r

    def deploy(self, name, code, runtime="provided", *extra):
        return self.cli("deploy", name, "--runtime", runtime, "--handler", "handler",
                        "--code", code, *extra, check=True)

    def deploy_fixture(self, fixture, name=None, *extra):
        return self.deploy(name or fixture, os.path.join(FIXTURES, fixture), "provided", *extra)

    def request(self, method, path, body=None, headers=None, token=True, timeout=60):
        h = {}
        if token:
            h["Authorization"] = "Bearer " + self.token
        h.update(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def gateway(self, method, path, body=None, headers=None, timeout=60):
        """One request to the gateway listener: (status, headers as a list of
        (name, value) pairs, body bytes)."""
        import http.client
        host, port = self.gateway_url[len("http://"):].rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.getheaders(), r.read()
        finally:
            conn.close()

    def invoke(self, name, payload=None, headers=None, timeout=60):
        body = json.dumps(payload if payload is not None else {})
        return self.request("POST", "/v1/functions/%s/invoke" % name, body,
                            headers=headers, timeout=timeout)

    def instances(self):
        status, _, body = self.request("GET", "/v1/instances")
        assert status == 200
        return json.loads(body)["instances"]

    def wait_instances(self, n, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.instances()) == n:
                return True
            time.sleep(0.05)
        return False

    def logs(self, name):
        status, _, body = self.request("GET", "/v1/functions/%s/logs" % name)
        assert status == 200, body
        return json.loads(body)["lines"]


@pytest.fixture
def daemon(tmp_path):
    d = Daemon(tmp_path / "data").start()
    yield d
    d.stop()


@pytest.fixture
def make_daemon(tmp_path):
    """For tests that need options or restarts: make_daemon(extra_args)."""
    made = []

    def make(extra_args=(), env=None, data=None):
        d = Daemon(data or (tmp_path / ("data%d" % len(made))), extra_args, env)
        made.append(d)
        return d.start()

    yield make
    for d in made:
        d.stop()
