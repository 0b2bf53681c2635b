"""Exactly once under kill -9 (issue 15's acceptance): a workflow rule on customer updates that
notifies the owner (in-app inbox) and calls a webhook; 10,000 updates through the API while the
server is killed 5 times at random moments and restarted at once. Every update is applied once
(a client retries what got no answer; a retried PATCH that had committed changes nothing and
fires nothing). Then exactly 10,000 rule runs, 10,000 inbox items and 10,000 distinct webhook
events (by CRM-Event-Id, the documented idempotency key) reach their targets; the receiver may
see an event twice (delivery is at least once) and the figures say how often it did.

REL_ONCE_UPDATES changes the count (default 10,000)."""
import http.server
import json
import os
import random
import threading
import time

from harness import Result, run_threads

CUSTOMERS = max(1, int(os.environ.get("REL_ONCE_UPDATES", "10000")) // 10)
UPDATES = CUSTOMERS * 10
WORKERS = 16
KILLS = 5
SETTLE_TIMEOUT = 900


class Receiver:
    """A webhook receiver on a local port counting deliveries by CRM-Event-Id."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seen = {}
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                key = self.headers.get("CRM-Event-Id") or "?"
                with receiver.lock:
                    receiver.seen[key] = receiver.seen.get(key, 0) + 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def counts(self):
        with self.lock:
            return len(self.seen), sum(self.seen.values())


def run(stack):
    receiver = Receiver()
    stack.start_server(CRM_WEBHOOK_ALLOW_PRIVATE="1")
    slug, email, password = stack.new_tenant("once")
    token = stack.login(slug, email, password)
    schema = stack.schema_of(slug)

    def call(method, path, body=None, ok=(200, 201)):
        r = stack.request(method, path, tenant=slug, token=token, body=body)
        if r.status not in ok:
            raise RuntimeError("%s %s: %d %s" % (method, path, r.status, r.body[:300]))
        return r.json() if r.body else {}

    call("POST", "/api/v1/admin/modules/workflow/enable")
    endpoint = call("POST", "/api/v1/admin/webhooks", {"url": "http://127.0.0.1:%d/hook" % receiver.port, "events": ["workflow.rule"]})
    rule = call("POST", "/api/v1/admin/workflow-rules", {
        "name": "every update: tell the owner and the receiver", "object": "customer",
        "trigger": {"type": "updated"},
        "actions": [{"type": "notify", "to": ["owner"], "title": "{{name}} changed", "channels": ["inbox"]},
                    {"type": "webhook", "endpoint_id": endpoint["id"]}]})
    call("POST", "/api/v1/admin/workflow-rules/%s/publish" % rule["id"])

    ids = [None] * CUSTOMERS

    def create(w):
        for i in range(w, CUSTOMERS, WORKERS):
            while True:
                r = stack.request("POST", "/api/v1/records/customer", tenant=slug, token=token, body={"name": "Once %05d" % i})
                if r.status == 201:
                    ids[i] = r.json()["id"]
                    break
                if r.status not in (429, 503):
                    raise RuntimeError("create: %d %s" % (r.status, r.body[:300]))
                time.sleep(0.2)

    run_threads(WORKERS, create)

    done = threading.Event()
    errors = []
    no_answer = [0]
    lock = threading.Lock()

    def patch(customer, value):
        """Sends the update until the server answers it (the same body again after no answer)."""
        while True:
            try:
                r = stack.request("PATCH", "/api/v1/records/customer/%s" % customer, tenant=slug, token=token,
                                  body={"phone": value}, timeout=30)
            except OSError:
                with lock:
                    no_answer[0] += 1
                time.sleep(0.2)
                continue
            if r.status == 200:
                return
            if r.status in (429, 503):
                time.sleep(0.2)
                continue
            with lock:
                errors.append("PATCH %s: %d %s" % (customer, r.status, r.body[:200]))
            return

    def worker(w):
        # Each customer's updates in order, by one worker: 10 distinct values each.
        for n in range(10):
            for c in range(w, CUSTOMERS, WORKERS):
                patch(ids[c], "+86 21 %04d %04d" % (c, n))

    def killer():
        rng = random.Random(15)
        for _ in range(KILLS):
            time.sleep(rng.uniform(2.0, 8.0))
            stack.kill_server()
            try:
                stack.start_server(CRM_WEBHOOK_ALLOW_PRIVATE="1")
            except Exception as e:  # noqa: BLE001
                errors.append("restart: %s" % e)
                return

    started = time.time()
    kill_thread = threading.Thread(target=killer, daemon=True)
    kill_thread.start()
    run_threads(WORKERS, worker)
    kill_thread.join()
    written = time.time() - started

    def count(sql):
        return int(stack.psql(sql.replace("S.", '"%s".' % schema))[0])

    # Let everything settle: events dispatched, notices in the inbox, webhooks delivered.
    deadline = time.time() + SETTLE_TIMEOUT
    while time.time() < deadline:
        pending = count("SELECT count(*) FROM S.outbox WHERE delivered_at IS NULL AND stream IN ('record', 'notice')")
        undelivered = count("SELECT count(*) FROM S.webhook_deliveries WHERE status <> 'delivered'")
        if pending == 0 and undelivered == 0 and receiver.counts()[0] >= UPDATES:
            break
        time.sleep(2)
    settled = time.time() - started - written

    updates = count("SELECT count(*) FROM S.record_history WHERE object = 'customer' AND event = 'updated' AND field = 'phone'")
    runs = count("SELECT count(*) FROM S.workflow_runs WHERE rule_id = '%s' AND status = 'succeeded'" % rule["id"])
    items = count("SELECT count(*) FROM S.inbox_items WHERE title LIKE 'Once %'")
    deliveries = count("SELECT count(*) FROM S.webhook_deliveries WHERE endpoint_id = '%s' AND status = 'delivered'" % endpoint["id"])
    distinct, received = receiver.counts()
    ok = not errors and updates == UPDATES and runs == UPDATES and items == UPDATES and deliveries == UPDATES and distinct == UPDATES
    figures = ("%d updates in %.0f s with %d kills (%d requests unanswered, sent again); settled %.0f s later: %d rule runs, "
               "%d inbox items, %d deliveries logged, %d distinct events at the receiver (%d posts, %d seen twice or more)%s" % (
                   updates, written, KILLS, no_answer[0], settled, runs, items, deliveries, distinct, received,
                   received - distinct, ("; errors: " + "; ".join(errors[:3])) if errors else ""))
    receiver.server.shutdown()
    return [Result("once", "%d updates, kill -9 x %d" % (UPDATES, KILLS),
                   "each update runs its rule once: one inbox item and one webhook event each", ok, figures)]
