"""Shared by the scenarios of ops/reliability: the stack (server and PostgreSQL), HTTP, set-up
of tenants, and results. Standard library only, so that it runs wherever the project builds."""
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid


class Result:
    """One row of the table: scenario, load, what was checked, passed or not, and figures."""

    def __init__(self, scenario, load, checked, ok, figures=""):
        self.scenario, self.load, self.checked, self.ok, self.figures = scenario, load, checked, ok, figures


class Response:
    def __init__(self, status, headers, body, elapsed):
        self.status, self.headers, self.body, self.elapsed = status, headers, body, elapsed

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


class Stack:
    """The server under test and its PostgreSQL, as ops/reliability set them up (environment)."""

    def __init__(self):
        e = os.environ
        self.crm = e["REL_CRM"]
        self.port = int(e["REL_HTTP_PORT"])
        self.pg_bin = e["REL_PG_BIN"]
        self.pg_data = e["REL_PG_DATA"]
        self.pg_port = e["REL_PG_PORT"]
        self.pg_socket = e["REL_PG_SOCKET"]
        self.db = e["REL_DB"]
        self.as_pg = e.get("REL_AS_PG", "") == "1"
        self.tmp = e["REL_TMP"]
        self.ops_email = e["REL_OPS_EMAIL"]
        self.ops_password = e["REL_OPS_PASSWORD"]
        self.root = e["REL_ROOT"]
        self.server = None
        self.server_env = {}
        self._ops_token = None
        self.log_path = os.path.join(self.tmp, "server.log")

    # -- the server -------------------------------------------------------------------------

    def start_server(self, **env):
        """Starts `crm serve` with extra CRM_* settings and waits until it answers /healthz."""
        self.stop_server()
        self.server_env = env
        full = dict(os.environ)
        full.update({k: str(v) for k, v in env.items()})
        full["CRM_PORT"] = str(self.port)
        log = open(self.log_path, "ab")
        self.server = subprocess.Popen([self.crm, "serve"], env=full, stdout=log, stderr=subprocess.STDOUT)
        self.wait_ready()

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.server is not None and self.server.poll() is not None:
                raise RuntimeError("the server exited with %s; see %s" % (self.server.returncode, self.log_path))
            try:
                if self.request("GET", "/healthz", timeout=1).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the server did not answer /healthz within %d s" % timeout)

    def kill_server(self):
        """kill -9: no graceful shutdown, requests in flight get no answer."""
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGKILL)
            self.server.wait()

    def stop_server(self):
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        self.server = None

    def server_alive(self):
        return self.server is not None and self.server.poll() is None

    # -- PostgreSQL -------------------------------------------------------------------------

    def _pg(self, *args):
        cmd = list(args)
        if self.as_pg:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        return subprocess.run(cmd, check=True, capture_output=True, text=True)

    def stop_pg(self):
        self._pg(os.path.join(self.pg_bin, "pg_ctl"), "-D", self.pg_data, "-m", "fast", "-w", "stop")

    def start_pg(self):
        opts = ("-c listen_addresses=127.0.0.1 -c port=%s -c unix_socket_directories=%s -c max_connections=300 "
                "-c shared_buffers=256MB" % (self.pg_port, self.pg_socket))
        self._pg(os.path.join(self.pg_bin, "pg_ctl"), "-D", self.pg_data, "-l", os.path.join(self.pg_data, "server.log"),
                 "-o", opts, "-w", "-t", "60", "start")

    def psql(self, sql):
        """Runs SQL as the cluster's superuser; returns the output rows (tab-separated)."""
        out = self._pg("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.pg_socket, "-p", self.pg_port,
                       "-U", "postgres", "-d", self.db, "-tA", "-c", sql)
        return [line for line in out.stdout.splitlines() if line]

    # -- HTTP -------------------------------------------------------------------------------

    def request(self, method, path, tenant=None, token=None, body=None, raw=None, headers=None, timeout=30,
                content_type="application/json"):
        """One request on a fresh connection. `body` is sent as JSON, `raw` as given (bytes)."""
        h = dict(headers or {})
        if tenant is not None:
            h["X-Tenant"] = tenant
        if token is not None:
            h["Authorization"] = "Bearer " + token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
        elif raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode()
        if data is not None and content_type is not None:
            h.setdefault("Content-Type", content_type)
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            payload = r.read()
            return Response(r.status, r.getheaders(), payload, time.monotonic() - started)
        finally:
            conn.close()

    def ops_token(self):
        if self._ops_token is None:
            r = self.request("POST", "/ops/v1/auth/login", body={"email": self.ops_email, "password": self.ops_password})
            if r.status != 200:
                raise RuntimeError("operator login: %d %s" % (r.status, r.body[:300]))
            self._ops_token = r.json()["token"]
        return self._ops_token

    def new_tenant(self, prefix="rel", plan="enterprise"):
        """A tenant of its own through the ops API; returns (slug, admin email, password)."""
        slug = "%s-%s" % (prefix, uuid.uuid4().hex[:10])
        password = "Rel-" + uuid.uuid4().hex
        email = "admin@%s.example" % slug
        r = self.request("POST", "/ops/v1/tenants", token=self.ops_token(),
                         body={"slug": slug, "name": "Company " + slug, "plan": plan,
                               "admin": {"email": email, "name": "Admin", "password": password}})
        if r.status != 201:
            raise RuntimeError("tenant create: %d %s" % (r.status, r.body[:300]))
        return slug, email, password

    def login(self, slug, email, password, address=None):
        headers = {"X-Forwarded-For": address} if address else None
        r = self.request("POST", "/api/v1/auth/login", tenant=slug, body={"email": email, "password": password}, headers=headers)
        if r.status != 200:
            raise RuntimeError("login %s: %d %s" % (slug, r.status, r.body[:300]))
        return r.json()["token"]

    def schema_of(self, slug):
        rows = self.psql("SELECT schema_name FROM platform.tenants WHERE slug = '%s'" % slug.replace("'", ""))
        return rows[0]


def percentile(values, p):
    if not values:
        return 0.0
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


def ms(seconds):
    return "%.1f ms" % (seconds * 1000)


def run_threads(count, target):
    """Runs `target(i)` in `count` threads and waits for all; returns their return values."""
    results = [None] * count
    errors = []

    def wrap(i):
        try:
            results[i] = target(i)
        except Exception as e:  # noqa: BLE001 - reported with the scenario
            errors.append(e)

    threads = [threading.Thread(target=wrap, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
