"""Function logs rotate by size (hearth serve --log-max-size): the current file and one
older are kept, `hearth logs` shows the recent lines oldest first, and a reader's cursor
stays valid across a rotation."""

import json
import os

from logread import chatty_lines, log_page, read_from


def test_logs_rotate_and_cursors_survive(make_daemon):
    d = make_daemon(["--log-max-size", "64K"])
    d.deploy_fixture("chatty")
    per_call = 200  # about 160 bytes a line with its time and request id: ~32 KB a call
    for tag in range(6):
        status, _, body = d.invoke("chatty", {"lines": per_call, "tag": tag})
        assert status == 200, body
    _, cursor = read_from(d, "chatty", 0)
    for tag in (6, 7):
        status, _, body = d.invoke("chatty", {"lines": per_call, "tag": tag})
        assert status == 200, body

    logs = os.path.join(d.data, "logs")
    cur = os.path.getsize(os.path.join(logs, "chatty.log"))
    prev = os.path.getsize(os.path.join(logs, "chatty.log.1"))
    # Each file holds up to the limit, plus at most one batch of lines written together.
    assert cur <= 64 * 1024 + 40 * 1024 and prev <= 64 * 1024 + 40 * 1024, (cur, prev)
    assert not os.path.exists(os.path.join(logs, "chatty.log.2"))
    assert int(open(os.path.join(logs, "chatty.log.offset")).read().split()[0]) > 0

    # The follower's cursor from before the rotations reads exactly what came after.
    new, _ = read_from(d, "chatty", cursor)
    assert chatty_lines(new) == [(t, i) for t in (6, 7) for i in range(per_call)]
    assert "START RequestId" in new[0] and "REPORT RequestId" in new[-1]

    # From the start: the oldest kept line onwards, in order; the first calls are gone.
    kept = chatty_lines(read_from(d, "chatty", 0)[0])
    assert kept[-per_call * 2:] == [(t, i) for t in (6, 7) for i in range(per_call)]
    assert kept == sorted(kept) and kept[0][0] > 0
    assert len(kept) < 8 * per_call

    # The CLI shows the same recent lines.
    out = d.cli("logs", "chatty", check=True).stdout.decode().splitlines()
    assert chatty_lines(out) == kept


def test_log_max_size_flag_errors(daemon):
    for bad in ("1K", "2G", "16X", "", "-1M"):
        r = daemon.cli("serve", "--log-max-size", bad)
        assert r.returncode == 2 and b"--log-max-size" in r.stderr, (bad, r.stderr)
