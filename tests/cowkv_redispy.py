#!/usr/bin/python3
"""redis-py (Debian's python3-redis) used as an application would, against
cowkv on 127.0.0.1:PORT: pipelines, Lock (SET NX PX + EVALSHA scripts),
register_script (EVALSHA with its NOSCRIPT fallback), scripts with
keys/args and errors, HELLO/AUTH via the client's own options.
Exits non-zero (with the failing check) on any difference from what
redis-py's documentation promises; run by tests/test_cowkv_deploy.c."""
import sys
import threading
import time

import redis
from redis.exceptions import LockError, ResponseError, NoScriptError

port = int(sys.argv[1])
r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)


def check(cond, what):
    if not cond:
        print("FAILED:", what, file=sys.stderr)
        sys.exit(1)


r.flushall()

# pipelines (without MULTI: transactions are another issue's)
p = r.pipeline(transaction=False)
for i in range(100):
    p.set(f"k{i}", i)
    p.incr("counter")
res = p.execute()
check(len(res) == 200 and res[-1] == 100, "pipeline replies")
check(r.mget("k0", "k99") == ["0", "99"], "pipeline writes")
p = r.pipeline(transaction=False)
p.hset("h", mapping={"a": 1, "b": 2})
p.hgetall("h")
p.lpush("l", 1, 2, 3)
p.lrange("l", 0, -1)
check(p.execute()[1:] == [{"a": "1", "b": "2"}, 3, ["3", "2", "1"]], "mixed pipeline")

# scripts
check(r.eval("return {KEYS[1], ARGV[1]}", 1, "key", "arg") == ["key", "arg"], "eval keys/args")
check(r.eval("return redis.call('incrby', KEYS[1], ARGV[1])", 1, "counter", 5) == 105, "eval incrby")
try:
    r.eval("return redis.call('hget', KEYS[1])", 1, "h")
    check(False, "arity error raised")
except ResponseError as e:
    check("Wrong number of args" in str(e), "arity error text: %s" % e)
mul = r.register_script("return tonumber(redis.call('get', KEYS[1])) * tonumber(ARGV[1])")
r.script_flush()
check(mul(keys=["counter"], args=[2]) == 210, "register_script after SCRIPT FLUSH (NOSCRIPT fallback)")
check(mul(keys=["counter"], args=[3]) == 315, "register_script cached")
check(r.script_exists(mul.sha) == [True], "script_exists")
try:
    r.evalsha("0" * 40, 0)
    check(False, "NOSCRIPT raised")
except NoScriptError:
    pass
p = r.pipeline(transaction=False)
mul(keys=["counter"], args=[1], client=p)
check(p.execute() == [105], "script in a pipeline")

# locks: acquire, contention, release, extend, expiry
lock = r.lock("resource", timeout=5, blocking_timeout=1)
check(lock.acquire(), "lock acquired")
other = r.lock("resource", timeout=5, blocking_timeout=0.2)
check(not other.acquire(), "lock held by the first owner")
check(lock.extend(5), "lock extended")
check(lock.locked() and lock.owned(), "lock state")
lock.release()
check(not lock.locked(), "lock released")
try:
    lock.release()
    check(False, "second release refused")
except LockError:
    pass
short = r.lock("short", timeout=0.2)
check(short.acquire(), "short lock")
time.sleep(0.4)
check(r.lock("short", timeout=1).acquire(blocking=False), "expired lock can be taken")

# many threads incrementing under a lock keep the count exact
r.set("shared", 0)


def worker():
    c = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(20):
        with c.lock("counter-lock", timeout=5, blocking_timeout=10):
            v = int(c.get("shared"))
            c.set("shared", v + 1)


ts = [threading.Thread(target=worker) for _ in range(4)]
for t in ts:
    t.start()
for t in ts:
    t.join()
check(r.get("shared") == "80", "lock-protected counter: %s" % r.get("shared"))

# functions
r.function_flush()
r.function_load("#!lua name=pylib\nredis.register_function('double', "
                "function(keys, args) return args[1] * 2 end)")
check(r.fcall("double", 0, 21) == 42, "fcall")

# authentication through the client's options
r.config_set("requirepass", "pw")
try:
    redis.Redis(host="127.0.0.1", port=port).ping()
    check(False, "NOAUTH")
except redis.exceptions.AuthenticationError:
    pass
check(redis.Redis(host="127.0.0.1", port=port, password="pw").ping(), "password")
a = redis.Redis(host="127.0.0.1", port=port, password="pw")
a.acl_setuser("app", enabled=True, passwords=["+apppw"], keys=["app:*"], commands=["+get", "+set"])
u = redis.Redis(host="127.0.0.1", port=port, username="app", password="apppw")
check(u.set("app:x", 1) and u.get("app:x") == b"1", "ACL user within its keys")
try:
    u.set("other", 1)
    check(False, "NOPERM")
except redis.exceptions.NoPermissionError:
    pass
check(a.acl_whoami() in ("default", b"default"), "whoami")
a.config_set("requirepass", "")
print("redis-py against cowkv: all checks passed")
