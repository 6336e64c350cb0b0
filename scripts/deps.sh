#!/bin/sh
# Installs every build, run and test dependency of hearth (DESIGN.md section 3).
# Idempotent: packages already present are left alone, and nothing is fetched
# when all of them are there.
set -eu

PKGS="build-essential pkg-config
libuv1-dev node-llhttp libjansson-dev libsqlite3-dev libseccomp-dev libcap-dev
libarchive-dev libssl-dev libcurl4-openssl-dev libcmocka-dev
python3 python3-pytest curl wrk hyperfine
clang libclang-rt-14-dev awscli"
# The nodejs runtime's interpreter (runtimes/node); python3 above runs runtimes/python.
PKGS="$PKGS nodejs"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps.sh: missing packages:$missing (run as root to install)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing
fi
