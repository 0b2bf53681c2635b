"""Noisy neighbour: one tenant floods slow searches and oversized bodies (wrk, 40 connections)
while another reads by id (wrk, 4 connections). The quiet tenant's p99 stays under 50 ms and
it sees no 503 (nor any other failure)."""
import os
import re
import subprocess
import time

from harness import Result

ROWS = 100_000
P99_LIMIT_MS = 50.0


def wrk(stack, script, connections, seconds, path="/"):
    out = subprocess.run(["wrk", "-t1", "-c%d" % connections, "-d%ds" % seconds, "--latency", "-s", script,
                          "http://127.0.0.1:%d%s" % (stack.port, path)], check=True, capture_output=True, text=True).stdout
    return parse(out)


def to_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    if not m:
        return float("nan")
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def parse(out):
    figures = {"rps": 0.0, "p50": float("nan"), "p99": float("nan"), "non2xx": 0, "errors": 0, "requests": 0}
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            figures["rps"] = float(parts[1])
        elif parts[:1] == ["50%"]:
            figures["p50"] = to_ms(parts[1])
        elif parts[:1] == ["99%"]:
            figures["p99"] = to_ms(parts[1])
        elif "Non-2xx or 3xx responses:" in line:
            figures["non2xx"] = int(parts[-1])
        elif "Socket errors:" in line:
            figures["errors"] = sum(int(x.rstrip(",")) for x in re.findall(r"\d+", line))
        elif "requests in" in line:
            figures["requests"] = int(parts[0])
    figures["raw"] = out
    return figures


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def run(stack):
    stack.start_server()
    noisy_slug, ne, npw = stack.new_tenant("noisy")
    quiet_slug, qe, qpw = stack.new_tenant("quiet")
    noisy_token, quiet_token = stack.login(noisy_slug, ne, npw), stack.login(quiet_slug, qe, qpw)
    # 100,000 customers for the noisy tenant (set-up in SQL), 1,000 for the quiet one.
    for slug, rows, prefix in ((noisy_slug, ROWS, "1"), (quiet_slug, 1000, "2")):
        schema = stack.schema_of(slug)
        owner = stack.psql('SELECT id FROM "%s".users LIMIT 1' % schema)[0]
        stack.psql("""
            INSERT INTO "{s}".customers (id, owner_id, name, kind, phone, email)
            SELECT ('00000000-0000-7000-8{p}00-' || lpad(to_hex(n), 12, '0'))::uuid, '{o}',
                   'Customer ' || n || CASE WHEN n % 3 = 0 THEN ' 贸易有限公司' ELSE ' Trading Ltd' END, 'company',
                   '+86 138' || lpad(n::text, 8, '0'), 'c' || n || '@example.com'
            FROM generate_series(1, {n}) n""".format(s=schema, p=prefix, o=owner, n=rows))
        # Hint bits and statistics now, not during the measured reads.
        stack.psql('VACUUM (ANALYZE) "%s".customers' % schema)
    tmp = stack.tmp
    quiet = write(os.path.join(tmp, "quiet.lua"), """
wrk.headers["X-Tenant"] = "%s"
wrk.headers["Authorization"] = "Bearer %s"
math.randomseed(11)
request = function()
  return wrk.format("GET", string.format("/api/v1/records/customer/00000000-0000-7000-8200-%%012x", math.random(1, 1000)))
end
""" % (quiet_slug, quiet_token))
    big = "x" * (3 << 20)
    noisy = write(os.path.join(tmp, "noisy.lua"), """
wrk.headers["X-Tenant"] = "%s"
wrk.headers["Authorization"] = "Bearer %s"
local searches = {"q=ab", "q=%%E8%%B4%%B8%%E6%%98%%93", "q=Cus", "q=rading", "name[contains]=ing", "q=138", "q=example", "q=Customer%%201"}
local big = string.rep("x", %d)
local n = 0
request = function()
  n = n + 1
  if n %% 5 == 0 then
    return wrk.format("POST", "/api/v1/records/customer", {["Content-Type"] = "application/json"}, '{"name":"' .. big .. '"}')
  end
  return wrk.format("GET", "/api/v1/records/customer?limit=200&" .. searches[1 + n %% #searches])
end
""" % (noisy_slug, noisy_token, len(big)))
    # Alone first, then beside the flood.
    wrk(stack, quiet, 4, 3)
    alone = wrk(stack, quiet, 4, 10)
    flood = subprocess.Popen(["wrk", "-t1", "-c40", "-d25s", "--latency", "-s", noisy, "http://127.0.0.1:%d/" % stack.port],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    busy = wrk(stack, quiet, 4, 15)
    noisy_out = parse(flood.communicate()[0])
    problems = []
    if busy["p99"] >= P99_LIMIT_MS:
        problems.append("quiet p99 %.1f ms" % busy["p99"])
    if busy["non2xx"] or busy["errors"]:
        problems.append("quiet tenant: %d non-2xx, %d socket errors" % (busy["non2xx"], busy["errors"]))
    if not stack.server_alive():
        problems.append("the server died")
    figures = ("quiet alone: %.0f req/s, p50 %.1f ms, p99 %.1f ms; beside the flood: %.0f req/s, p50 %.1f ms, p99 %.1f ms, "
               "%d non-2xx; the flood: %.0f req/s answered (%d non-2xx: 429 and 413 by design)"
               % (alone["rps"], alone["p50"], alone["p99"], busy["rps"], busy["p50"], busy["p99"], busy["non2xx"],
                  noisy_out["rps"], noisy_out["non2xx"]))
    if problems:
        figures += "; " + "; ".join(problems)
    return [Result("noisy neighbour", "flood: 40 connections of substring searches over %d rows and 3 MiB bodies; quiet: 4 connections by id" % ROWS,
                   "quiet tenant p99 < %.0f ms and no 503 (no non-2xx at all)" % P99_LIMIT_MS, not problems, figures)]
