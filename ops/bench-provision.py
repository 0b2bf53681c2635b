"""Times POST /ops/v1/tenants as a caller sees it: bench-provision.py URL EMAIL PASSWORD COUNT LABEL."""
import http.client, json, statistics, sys, time, urllib.parse, uuid

url, email, password, count, label = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
u = urllib.parse.urlparse(url)
conn = http.client.HTTPConnection(u.hostname, u.port)

def call(method, path, body, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request(method, path, json.dumps(body), headers)
    r = conn.getresponse()
    return r.status, json.loads(r.read() or b"{}")

status, body = call("POST", "/ops/v1/auth/login", {"email": email, "password": password})
assert status == 200, body
token = body["token"]
times = []
for i in range(count):
    slug = "p-" + uuid.uuid4().hex[:12]
    t0 = time.perf_counter()
    status, body = call("POST", "/ops/v1/tenants", {"slug": slug, "name": "Bench " + slug, "plan": "starter",
        "admin": {"email": "admin@" + slug + ".example", "name": "Admin", "password": "Bench-Admin-Password-1"}}, token)
    times.append((time.perf_counter() - t0) * 1000)
    assert status == 201, (status, body)
times.sort()
print(f"provision: POST /ops/v1/tenants, {label}: median {statistics.median(times):.0f} ms, "
      f"p90 {times[int(len(times) * 0.9) - 1]:.0f} ms, max {times[-1]:.0f} ms over {count}")
