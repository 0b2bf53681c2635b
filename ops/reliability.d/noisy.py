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


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User and system CPU seconds of one process (0 once it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def postgres_pids(stack):
    """The postmaster of the suite's cluster and its children (backends, walwriter, ...)."""
    with open(os.path.join(stack.pg_data, "postmaster.pid")) as f:
        master = int(f.readline())
    pids = [master]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == master:
                        pids.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return pids


def cpu_split(stack, wrk_pids):
    """CPU seconds so far of the server, PostgreSQL (backends come and go: a snapshot of those alive) and wrk."""
    return {"server": cpu_seconds(stack.server.pid), "postgres": sum(cpu_seconds(p) for p in postgres_pids(stack)),
            "wrk": sum(cpu_seconds(p) for p in wrk_pids)}


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def run(stack):
    stack.start_server(**({"CRM_LOG_LEVEL": os.environ["NOISY_LOG_LEVEL"]} if "NOISY_LOG_LEVEL" in os.environ else {}))
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
    noisy = write(os.path.join(tmp, "noisy.lua"), """
wrk.headers["X-Tenant"] = "%s"
wrk.headers["Authorization"] = "Bearer %s"
local searches = {"q=ab", "q=%%E8%%B4%%B8%%E6%%98%%93", "q=Cus", "q=rading", "name[contains]=ing", "q=138", "q=example", "q=Customer%%201"}
local n = 0
local post = nil
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function(args)
  statuses = {}
  -- Built once: the load generator's CPU goes to sending, not to building 3 MiB strings.
  -- wrk.format takes these headers instead of wrk.headers, not beside them.
  post = wrk.format("POST", "/api/v1/records/customer",
                    {["Content-Type"] = "application/json", ["X-Tenant"] = wrk.headers["X-Tenant"],
                     ["Authorization"] = wrk.headers["Authorization"]},
                    '{"name":"' .. string.rep("x", %d) .. '"}')
end
request = function()
  n = n + 1
  if n %% 5 == 0 then return post end
  return wrk.format("GET", "/api/v1/records/customer?limit=200&" .. searches[1 + n %% #searches])
end
response = function(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
done = function(summary, latency, requests)
  for _, t in ipairs(threads) do
    for status, count in pairs(t:get("statuses")) do io.write(string.format("status %%d: %%d\\n", status, count)) end
  end
end
""" % (noisy_slug, noisy_token, 3 << 20))
    # Each kind of the flood's requests, once, alone: what it answers when nothing else runs.
    kinds = []
    for q in ("q=ab", "q=%E8%B4%B8%E6%98%93", "q=Cus", "q=rading", "name[contains]=ing", "q=138", "q=example", "q=Customer%201"):
        r = stack.request("GET", "/api/v1/records/customer?limit=200&" + q, tenant=noisy_slug, token=noisy_token)
        kinds.append("%s %d in %.0f ms" % (q, r.status, r.elapsed * 1000))
    write(os.path.join(stack.root, ".build", "noisy-kinds.txt"), "\n".join(kinds) + "\n")
    # Alone first, then beside the flood.
    wrk(stack, quiet, 4, 3)
    alone = wrk(stack, quiet, 4, 10)
    flood = subprocess.Popen(["wrk", "-t1", "-c40", "-d25s", "--latency", "-s", noisy, "http://127.0.0.1:%d/" % stack.port],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    quiet_proc = subprocess.Popen(["wrk", "-t1", "-c4", "-d15s", "--latency", "-s", quiet, "http://127.0.0.1:%d/" % stack.port],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    before, started = cpu_split(stack, [flood.pid, quiet_proc.pid]), time.monotonic()
    time.sleep(14)
    after, seconds = cpu_split(stack, [flood.pid, quiet_proc.pid]), time.monotonic() - started
    busy = parse(quiet_proc.communicate()[0])
    noisy_out = parse(flood.communicate()[0])
    write(os.path.join(stack.root, ".build", "noisy-wrk.txt"), "quiet alone:\n%s\nquiet beside the flood:\n%s\nthe flood:\n%s"
          % (alone["raw"], busy["raw"], noisy_out["raw"]))
    statuses = ", ".join("%s %s" % m for m in re.findall(r"status (\d+): (\d+)", noisy_out["raw"]))
    split = ", ".join("%s %.0f%%" % (k, 100 * (after[k] - before[k]) / seconds) for k in ("server", "postgres", "wrk"))
    problems = []
    if busy["p99"] >= P99_LIMIT_MS:
        problems.append("quiet p99 %.1f ms" % busy["p99"])
    if busy["non2xx"] or busy["errors"]:
        problems.append("quiet tenant: %d non-2xx, %d socket errors" % (busy["non2xx"], busy["errors"]))
    if not stack.server_alive():
        problems.append("the server died")
    figures = ("quiet alone: %.0f req/s, p50 %.1f ms, p99 %.1f ms; beside the flood: %.0f req/s, p50 %.1f ms, p99 %.1f ms, "
               "%d non-2xx; the flood: %.0f req/s answered (%s); CPU beside the flood "
               "(of one core): %s"
               % (alone["rps"], alone["p50"], alone["p99"], busy["rps"], busy["p50"], busy["p99"], busy["non2xx"],
                  noisy_out["rps"], statuses or "%d non-2xx" % noisy_out["non2xx"], split))
    if problems:
        figures += "; " + "; ".join(problems)
    return [Result("noisy neighbour", "flood: 40 connections of substring searches over %d rows and 3 MiB bodies; quiet: 4 connections by id" % ROWS,
                   "quiet tenant p99 < %.0f ms and no 503 (no non-2xx at all)" % P99_LIMIT_MS, not problems, figures)]
