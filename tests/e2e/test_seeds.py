"""Seeds (src/sandbox/seed.c): on cgroup v1 the spawner keeps a few forks of
itself already inside pooled cgroups, so a spawn needs no cgroup.procs write.
These tests check that an instance made through a seed lands in its own
cgroups (renamed to i<id>, with the function's limits), that a used seed goes
and a new one replaces it, that the namespaces a seed makes ahead for its
instance are that instance's alone, and that the direct path
(HEARTH_NO_SEEDS=1) still works."""

import os
import time

import pytest

from conftest import children_of

V1 = os.path.isdir("/sys/fs/cgroup/memory/") and os.path.exists(
    "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def seeds(spawner_pid):
    return [p for p in children_of(spawner_pid, seeds=True)
            if p not in children_of(spawner_pid)]


def memory_cgroup(pid):
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            _, ctrl, path = line.rstrip("\n").split(":", 2)
            if ctrl == "memory":
                return path
    return None


def wait_for(pred, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not V1, reason="seeds are used on cgroup v1 only")
def test_seed_spawns_into_its_own_limited_cgroups(daemon):
    d = daemon
    sp = d.spawner_pid
    assert wait_for(lambda: len(seeds(sp)) == 4), "seed pool not full: %s" % seeds(sp)
    before = set(seeds(sp))
    for pid in before:
        # Parked in a pooled cgroup of this spawner, not an instance's.
        path = memory_cgroup(pid)
        assert "/hearth-%d/s" % sp in path, path
    parent = "/sys/fs/cgroup/memory" + os.path.dirname(path)

    d.deploy_fixture("echo", None, "--memory", "192")
    status, _, body = d.invoke("echo", {"x": 1})
    assert status == 200, body

    mem = [os.path.join(parent, e) for e in os.listdir(parent) if e.startswith("i")]
    assert len(mem) == 1, mem
    with open(os.path.join(mem[0], "memory.limit_in_bytes")) as f:
        assert int(f.read()) == 192 << 20
    # The instance's processes are in i<id>, which holds no seed.
    with open(os.path.join(mem[0], "cgroup.procs")) as f:
        procs = [int(x) for x in f.read().split()]
    assert procs and not set(procs) & set(seeds(sp))
    # The seed that cloned it is gone, and the pool is full again.
    assert wait_for(lambda: len(seeds(sp)) == 4 and set(seeds(sp)) != before)
    assert len(set(seeds(sp)) & before) == 3

    d.cli("rm", "echo", check=True)
    d.assert_clean()


def test_direct_path_without_seeds(make_daemon):
    d = make_daemon(env={"HEARTH_NO_SEEDS": "1"})
    assert seeds(d.spawner_pid) == []
    d.deploy_fixture("echo")
    for i in range(3):
        status, _, body = d.invoke("echo", {"i": i})
        assert status == 200, body
    d.cli("rm", "echo", check=True)
    d.assert_clean()
    assert seeds(d.spawner_pid) == []


def namespaces(pid):
    return {k: os.readlink("/proc/%d/ns/%s" % (pid, k))
            for k in ("mnt", "ipc", "uts", "net", "pid", "user")}


@pytest.mark.parametrize("env", [{}, {"HEARTH_NO_SEEDS": "1"}], ids=["seeds", "direct"])
def test_each_instance_has_namespaces_of_its_own(make_daemon, env):
    # A seed makes its instance's mount, IPC, UTS and network namespaces
    # while it waits; the direct path makes them at the spawn. Either way no
    # two instances share one, none is the host's or the spawner's, and only
    # a network "host" function is in the host's network namespace.
    d = make_daemon(env=env)
    d.deploy_fixture("sleep", "a")
    d.deploy_fixture("sleep", "b")
    d.deploy_fixture("sleep", "c", "--network", "host")
    for name in ("a", "b", "c"):
        status, _, body = d.invoke(name, {"ms": 1})
        assert status == 200, body
    inits = [p for p in children_of(d.spawner_pid)
             if 100000 <= os.stat("/proc/%d" % p).st_uid < 165536]
    assert len(inits) == 3, inits
    by_pid = {p: namespaces(p) for p in inits}
    host, spawner = namespaces(os.getpid()), namespaces(d.spawner_pid)
    for kind in ("mnt", "ipc", "uts", "pid", "user"):
        mine = [ns[kind] for ns in by_pid.values()]
        assert len(set(mine)) == 3, (kind, mine)
        assert host[kind] not in mine and spawner[kind] not in mine, (kind, mine)
    nets = [ns["net"] for ns in by_pid.values()]
    assert len(set(nets)) == 3 and nets.count(host["net"]) == 1, (nets, host["net"])
    for name in ("a", "b", "c"):
        d.cli("rm", name, check=True)
    d.assert_clean()
