#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Run redis-py's own test suite against cowkv and against redis-server in
# the same run, and print a table per test file: tests passed and failed on
# each server, and how many of cowkv's failures are in what cowkv documents
# as not supported (docs/COWKV.md, "Not supported").
#
#   scripts/redispy-suite.sh REDISPY_DIR [tests/FILE.py ...]
#
# REDISPY_DIR: redis-py's sources at the tag of the python3-redis that runs
# them (Debian 12: 4.3.4), holding tests/ (and its conftest.py); the suite is
# not part of this project. Get it with
#   git --git-dir=REDIS_PY.git archive v4.3.4 tests | tar -x -C REDISPY_DIR
# It runs with Debian's /usr/bin/python3 (python3-redis, python3-pytest,
# python3-pytest-asyncio, python3-pytest-timeout) as tox.ini's standalone
# run does: -m 'not onlycluster and not redismod' (no cluster, no modules),
# test_ssl.py left out (it needs certificates). A pytest.ini with tox.ini's
# markers is written in a temporary copy; the checkout stays clean.
#
# Each file runs against a fresh server of each kind (cowkv with --dir in a
# temporary directory); a server that stops answering is reported and
# started again for the next file.
#
# Environment: COWKV (default build/cowkv), REDIS_SERVER (redis-server),
# PYTHON (/usr/bin/python3), PORT_COWKV, PORT_REDIS (free ports near
# 30000 + pid), TEST_TIMEOUT (per test, 30 s), KEEP=1 keeps the logs and
# junit files.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
src=${1:?usage: scripts/redispy-suite.sh REDISPY_DIR [tests/FILE.py ...]}
shift
src=$(cd "$src" && pwd)
[ -f "$src/tests/conftest.py" ] || { echo "no tests/conftest.py in $src" >&2; exit 2; }
py=${PYTHON:-/usr/bin/python3}
"$py" -c 'import redis, pytest, pytest_asyncio, pytest_timeout' 2>/dev/null || {
	echo "$py lacks redis, pytest, pytest_asyncio or pytest_timeout (Debian: python3-redis" \
		"python3-pytest python3-pytest-asyncio python3-pytest-timeout)" >&2
	exit 2
}
cowkv=${COWKV:-$root/build/cowkv}
redis=${REDIS_SERVER:-$(command -v redis-server || true)}
[ -x "$cowkv" ] || { echo "no cowkv at $cowkv (build first)" >&2; exit 2; }
[ -n "$redis" ] || { echo "no redis-server" >&2; exit 2; }

free_port() {
	local p
	for _ in $(seq 50); do
		p=$((30000 + RANDOM % 20000))
		ss -Htan | awk '{print $4}' | sed 's/.*://' | grep -qx "$p" || { echo "$p"; return; }
	done
	echo 30000
}
pk=${PORT_COWKV:-$(free_port)}
pr=${PORT_REDIS:-$(free_port)}
[ "$pr" != "$pk" ] || pr=$((pk + 1))
tmo=${TEST_TIMEOUT:-30}

tmp=$(mktemp -d /tmp/redispy-suite.XXXXXX)
chmod 700 "$tmp"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "${KEEP:-0}" = 1 ]; then echo "logs kept in $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
mkdir -p "$tmp/suite" "$tmp/logs"
cp -r "$src/tests" "$tmp/suite/"
cat >"$tmp/suite/pytest.ini" <<'EOF'
[pytest]
markers =
    redismod: run only the redis module tests
    pipeline: pipeline tests
    onlycluster: marks tests to be run only with cluster mode redis
    onlynoncluster: marks tests to be run only with standalone redis
    ssl: marker for only the ssl tests
    asyncio: marker for async tests
    replica: replica tests
    experimental: run only experimental tests
EOF

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
	mapfile -t files < <(cd "$tmp/suite" && ls tests/test_*.py tests/test_asyncio/test_*.py |
		grep -v 'test_ssl.py')
fi

ping() { redis-cli -p "$1" ping 2>/dev/null | grep -q PONG; }
# start NAME: a fresh server of that kind, waited for.
start() {
	local port
	if [ "$1" = cowkv ]; then
		rm -rf "$tmp/cowkv"; mkdir -p "$tmp/cowkv"
		"$cowkv" --port "$pk" --dir "$tmp/cowkv" --logfile "$tmp/logs/cowkv.log" &
		cpid=$!; port=$pk
	else
		rm -rf "$tmp/redis"; mkdir -p "$tmp/redis"
		"$redis" --port "$pr" --dir "$tmp/redis" --save "" --appendonly no \
			--enable-debug-command yes --logfile "$tmp/logs/redis.log" &
		rpid=$!; port=$pr
	fi
	pids+=($!)
	for _ in $(seq 100); do ping "$port" && return 0; sleep 0.1; done
	echo "$1 did not start" >&2
	exit 1
}
stop() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
# run NAME PORT FILE: one file against one server, junit into the logs.
run() {
	local base
	base="$tmp/logs/$1.$(echo "$3" | tr / _)"
	(cd "$tmp/suite" && timeout 1200 "$py" -m pytest -q -p no:cacheprovider \
		--timeout "$tmo" -m 'not onlycluster and not redismod' \
		--redis-url="redis://localhost:$2/0" --junitxml="$base.xml" "$3" \
		>"$base.log" 2>&1) || true
}

crashes=0
for f in "${files[@]}"; do
	start cowkv
	start redis
	run cowkv "$pk" "$f"
	if ! ping "$pk"; then
		echo "cowkv stopped answering during $f (see $tmp/logs/cowkv.log)" >&2
		crashes=$((crashes + 1)); KEEP=1
	fi
	run redis "$pr" "$f"
	stop "$cpid"
	stop "$rpid"
done

# The table: per file, redis-server's and cowkv's passed and failed
# (errors included); of cowkv's failures, those that fail on redis-server
# too (the test's environment: a server on localhost:6379, Sentinel,
# modules), then those in features cowkv does not support, then the rest.
"$py" - "$tmp/logs" "${files[@]}" <<'EOF'
import re, sys, xml.etree.ElementTree as ET
logs, files = sys.argv[1], sys.argv[2:]
# What docs/COWKV.md lists as not supported: streams, geo,
# cluster, replication, modules, CLIENT TRACKING, ACL selectors
# (test_acl_getuser_setuser ends with selectors; test_get_moveable_keys
# asks for the keys of XREAD, GEORADIUS and MIGRATE).
unsupported = re.compile(r"test_(x[a-z]|geo|client_tracking|client_trackinginfo|"
    r"sync\b|psync|replicaof|readonly|module|cluster|.*stream|acl_.*selector|"
    r"acl_getuser_setuser|get_moveable_keys)")
def results(name, f):
    path = "%s/%s.%s.xml" % (logs, name, f.replace("/", "_"))
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    res = {}
    for tc in root.iter("testcase"):
        kids = [k.tag for k in tc]
        if "skipped" in kids:
            continue
        key = tc.get("classname", "") + "::" + tc.get("name", "")
        res[key] = not ("failure" in kids or "error" in kids)
    return res
fmt = "| %-38s | %6s | %6s | %6s | %6s | %6s | %11s | %5s |"
print(fmt % ("file", "redis", "", "cowkv", "", "cowkv failed:", "", ""))
print(fmt % ("", "passed", "failed", "passed", "failed", "both", "unsupported", "other"))
print("|" + "|".join("-" * (w + 2) for w in (38, 6, 6, 6, 6, 6, 11, 5)) + "|")
tot = [0] * 7
others = []
for f in files:
    r, c = results("redis", f), results("cowkv", f)
    if r is None or c is None:  # pytest stopped before the tests (see its log)
        rr = ("-", "-") if r is None else (sum(r.values()), len(r) - sum(r.values()))
        cc = ("-", "-") if c is None else (sum(c.values()), len(c) - sum(c.values()))
        print(fmt % ((f,) + rr + cc + ("-", "-", "no junit")))
        continue
    if not r and not c:
        continue    # every test deselected (cluster, modules)
    failed = [k for k, ok in c.items() if not ok]
    both = [k for k in failed if r.get(k) is False]
    uns = [k for k in failed if k not in both and unsupported.match(k.split("::")[1])]
    other = [k for k in failed if k not in both and k not in uns]
    others += [f + "::" + k.split("::")[1] for k in other]
    row = (sum(r.values()), len(r) - sum(r.values()), sum(c.values()), len(failed),
           len(both), len(uns), len(other))
    tot = [a + b for a, b in zip(tot, row)]
    print(fmt % ((f,) + row))
print(fmt % (("total",) + tuple(tot)))
for o in others:
    print("other failure:", o)
EOF
echo "cowkv crashes: $crashes"
