#!/usr/bin/env python3
"""CPU time per request for ops/bench's HTTP scenarios, read from /proc.

  bench-cpu.py snap SERVER_PID PGDATA      prints "<server cpu ns> <postgres cpu ns> <server rss kB>"
  bench-cpu.py report LABEL BEFORE AFTER   reads wrk --latency output on stdin, prints one line:
      req/s, p50, p99, non-2xx, then the server's and PostgreSQL's CPU per request.

PostgreSQL's CPU is every process of the cluster (postmaster, backends, background workers)
plus what the postmaster has reaped from backends that exited (cutime/cstime), so connections
opened and closed during the run are counted too. wrk's own CPU is in neither figure.
"""
import os, re, sys

TICK = os.sysconf("SC_CLK_TCK")


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    # The command name may hold spaces and parentheses: fields start after the last ")".
    fields = text[text.rindex(")") + 2:].split()
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return ppid, utime + stime, cutime + cstime


def snap(server_pid, pgdata):
    _, server, _ = stat(server_pid)
    with open(os.path.join(pgdata, "postmaster.pid")) as f:
        postmaster = int(f.readline())
    _, own, reaped = stat(postmaster)
    pg = own + reaped
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            ppid, ticks, _ = stat(name)
        except (OSError, ValueError):
            continue
        if ppid == postmaster:
            pg += ticks
    rss = 0
    with open(f"/proc/{server_pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    ns = 1_000_000_000 // TICK
    print(server * ns, pg * ns, rss)


def report(label, before, after):
    out = sys.stdin.read()
    b, a = [int(x) for x in before.split()], [int(x) for x in after.split()]
    m = re.search(r"(\d+) requests in", out)
    requests = int(m.group(1)) if m else 0
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    line = (f"{label}: {rps.group(1) if rps else '?'} req/s, p50 {p50.group(1) if p50 else '?'}, "
            f"p99 {p99.group(1) if p99 else '?'}, non-2xx: {non2xx.group(1) if non2xx else 0}")
    if errors:
        line += f", socket errors: {errors.group(1)}"
    if requests:
        server = (a[0] - b[0]) / requests / 1e6
        pg = (a[1] - b[1]) / requests / 1e6
        line += f"; CPU per request: server {server:.3f} ms, PostgreSQL {pg:.3f} ms; server RSS {a[2] // 1024} MB"
    print(line)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "snap":
        snap(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
