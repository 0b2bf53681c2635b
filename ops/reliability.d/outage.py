"""Database outage: PostgreSQL stops for 10 s under 8 readers. During it: 503 problem answers,
no crash, no request hanging past the acquire timeout; after it: served again within 5 s."""
import threading
import time

from harness import Result, ms, percentile

READERS = 8
OUTAGE = 10.0
ACQUIRE_TIMEOUT = 5.0


def run(stack):
    stack.start_server(CRM_LOG_LEVEL="info")
    slug, email, password = stack.new_tenant("outage")
    token = stack.login(slug, email, password)
    ids = []
    for i in range(20):
        r = stack.request("POST", "/api/v1/records/customer", tenant=slug, token=token, body={"name": "Outage %d" % i})
        ids.append(r.json()["id"])
    stop = threading.Event()
    samples = []  # (started, finished, status or None for no answer, problem type)
    lock = threading.Lock()

    def reader(i):
        n = 0
        while not stop.is_set():
            started = time.monotonic()
            rid = "outage-%d-%d" % (i, n)
            try:
                r = stack.request("GET", "/api/v1/records/customer/" + ids[(i + n) % len(ids)], tenant=slug, token=token, timeout=30,
                                  headers={"X-Request-Id": rid})
                status, kind = r.status, ((r.json() or {}).get("type") if r.status >= 400 else None)
            except OSError:
                status, kind = None, None
                print("no answer to %s" % rid, flush=True)
            with lock:
                samples.append((started, time.monotonic(), status, kind))
            n += 1
            if status != 200:
                time.sleep(0.05)

    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(READERS)]
    for t in threads:
        t.start()
    time.sleep(3)
    down_at = time.monotonic()
    stack.stop_pg()
    stopped_at = time.monotonic()
    time.sleep(OUTAGE)
    stack.start_pg()
    up_at = time.monotonic()
    time.sleep(10)
    stop.set()
    for t in threads:
        t.join(timeout=40)

    problems = []
    if not stack.server_alive():
        problems.append("the server died")
    during = [s for s in samples if down_at <= s[0] and s[1] <= up_at]
    unanswered = [s for s in samples if s[2] is None]
    slow = [s for s in samples if s[1] - s[0] > ACQUIRE_TIMEOUT + 0.5]
    bad = [s for s in during if s[2] not in (200, 503)]
    if unanswered:
        problems.append("%d requests got no answer" % len(unanswered))
    if slow:
        problems.append("%d requests took longer than the acquire timeout (longest %s)" % (len(slow), ms(max(s[1] - s[0] for s in slow))))
    if bad:
        problems.append("during the outage: %s" % sorted({str(s[2]) for s in bad}))
    errors_503 = [s for s in during if s[2] == 503]
    if not errors_503:
        problems.append("no 503 during the outage")
    elif any(s[3] != "database-unavailable" for s in errors_503):
        problems.append("503s that are not database-unavailable problems")
    after = [s for s in samples if s[0] >= up_at and s[2] == 200]
    recovery = (min(s[1] for s in after) - up_at) if after else None
    if recovery is None or recovery > 5.0:
        problems.append("not served again within 5 s of the database's return (%s)" % (ms(recovery) if recovery else "never"))
    late = [s for s in samples if up_at + (recovery or 0) + 1 <= s[0] and s[2] != 200]
    if late:
        problems.append("%d failures after recovery" % len(late))
    lat_503 = [s[1] - s[0] for s in errors_503]
    figures = ("%d requests during the outage: %d answered 503 (p50 %s, p99 %s, longest %s); served again %s after PostgreSQL "
               "was back (its stop took %s); %d requests in all, none unanswered"
               % (len(during), len(errors_503), ms(percentile(lat_503, 50)), ms(percentile(lat_503, 99)),
                  ms(max(lat_503) if lat_503 else 0), ms(recovery) if recovery is not None else "never",
                  ms(stopped_at - down_at), len(samples)))
    if problems:
        figures += "; " + "; ".join(problems)
    return [Result("database outage", "%d readers by id, PostgreSQL stopped for %.0f s" % (READERS, OUTAGE),
                   "503 problem answers during, no crash, no request past the acquire timeout, served again within 5 s",
                   not problems, figures)]
