#!/bin/sh
# Runs each unit-test binary as its own process under a timeout, as libuv's runner does.
set -u
pass=0 fail=0
for t in "$@"; do
	if timeout 60 "$t"; then
		pass=$((pass + 1))
	else
		echo "FAILED: $t" >&2
		fail=$((fail + 1))
	fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
