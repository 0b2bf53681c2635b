"""kill -9 under writers: 200 clients create records with Idempotency-Key; the server is killed
mid-run and restarted; every acknowledged create is there exactly once, and retries of the
unanswered ones (same key, same body) create no duplicates."""
import threading
import time

from harness import Result, run_threads

TENANTS = 8
CLIENTS_PER_TENANT = 25
RUN_BEFORE_KILL = 6.0


def run(stack):
    stack.start_server()
    tenants = []
    for _ in range(TENANTS):
        slug, email, password = stack.new_tenant("kill9")
        tenants.append((slug, stack.login(slug, email, password)))
    killed = threading.Event()
    acked = {}        # name → id, answered 201 before the kill
    unanswered = {}   # name → (slug, token, key), no answer
    lock = threading.Lock()
    errors = []

    def create(slug, token, name, key):
        """Until an answer: 201 → id; 429/503 → wait and send the same again; no answer → None."""
        while True:
            try:
                r = stack.request("POST", "/api/v1/records/customer", tenant=slug, token=token, body={"name": name},
                                  headers={"Idempotency-Key": key}, timeout=30)
            except OSError:
                return None, False
            if r.status == 201:
                return r.json()["id"], r.header("Idempotent-Replayed") == "true"
            if r.status in (429, 503):
                time.sleep(min(2.0, float(r.header("Retry-After") or "0.2")) * 0.5)
                continue
            with lock:
                errors.append("%s: %d %s" % (name, r.status, r.body[:120]))
            return None, False

    def writer(i):
        slug, token = tenants[i % TENANTS]
        n = 0
        while not killed.is_set():
            name, key = "w%d-%d" % (i, n), "k-%d-%d" % (i, n)
            record, _ = create(slug, token, name, key)
            with lock:
                if record is not None:
                    acked[name] = (slug, record)
                else:
                    unanswered[name] = (slug, token, key)
            if record is None:
                return
            n += 1

    threads = [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(TENANTS * CLIENTS_PER_TENANT)]
    for t in threads:
        t.start()
    time.sleep(RUN_BEFORE_KILL)
    killed.set()
    stack.kill_server()
    for t in threads:
        t.join(timeout=60)
    stack.start_server()
    # Retries of everything unanswered, as a client would: the same key and body.
    retried, replayed = {}, 0
    pending = list(unanswered.items())

    def retry(j):
        name, (slug, token, key) = pending[j]
        record, was_replayed = create(slug, token, name, key)
        return name, slug, record, was_replayed

    for name, slug, record, was_replayed in run_threads(len(pending), retry) if pending else []:
        if record is None:
            errors.append("retry of %s got no 201" % name)
        else:
            retried[name] = (slug, record)
            replayed += 1 if was_replayed else 0
    # What the tenants hold now.
    found = {}
    for slug, token in tenants:
        cursor = None
        while True:
            path = "/api/v1/records/customer?limit=200&sort=id" + ("&cursor=" + cursor if cursor else "")
            page = stack.request("GET", path, tenant=slug, token=token).json()
            for row in page["data"]:
                found.setdefault(row["name"], []).append((slug, row["id"]))
            cursor = page.get("next_cursor")
            if not cursor:
                break
    problems = list(errors)
    for name, (slug, record) in list(acked.items()) + list(retried.items()):
        rows = found.get(name, [])
        if rows != [(slug, record)]:
            problems.append("%s: expected once as %s, found %s" % (name, record, rows))
    extra = set(found) - set(acked) - set(retried)
    if extra:
        problems.append("%d records nobody asked for or retried: %s" % (len(extra), sorted(extra)[:3]))
    duplicates = sum(1 for rows in found.values() if len(rows) > 1)
    figures = ("%d acknowledged before the kill, %d unanswered; of those, %d had committed (answered again on retry, "
               "would have been duplicates without the key) and %d were done on retry; %d duplicates"
               % (len(acked), len(unanswered), replayed, len(retried) - replayed, duplicates))
    if problems:
        figures += "; " + "; ".join(problems[:5])
    return [Result("kill -9 under writers", "%d clients in %d tenants, killed after %.0f s" % (TENANTS * CLIENTS_PER_TENANT, TENANTS, RUN_BEFORE_KILL),
                   "every 2xx create present exactly once after restart; retries with the same Idempotency-Key create nothing new",
                   not problems and len(acked) > 0, figures)]
