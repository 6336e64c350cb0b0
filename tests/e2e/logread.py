"""Reading a function's log through the admin API with cursors, and picking out the
lines the `chatty` fixture writes: for the log rotation tests."""

import json
import re


def log_page(d, name, cursor):
    status, _, body = d.request("GET", "/v1/functions/%s/logs?cursor=%d" % (name, cursor))
    assert status == 200, body
    page = json.loads(body)
    return page["lines"], page["cursor"]


def read_from(d, name, cursor):
    """Every line from cursor on, and the cursor after them."""
    lines = []
    while True:
        page, nxt = log_page(d, name, cursor)
        if nxt == cursor:
            return lines, cursor
        lines += page
        cursor = nxt


def chatty_lines(lines):
    """(tag, i) of each line the fixture wrote."""
    out = []
    for l in lines:
        m = re.search(r"\tchatty (\d+)-(\d+) x+$", l)
        if m:
            out.append((int(m.group(1)), int(m.group(2))))
    return out
