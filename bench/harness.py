#!/usr/bin/env python3
"""Drives a release build of passenger-api with wrk and compares it with pgbench.

Every figure comes from this run on this machine: requests/s, p50 and p99 latency, errors
(non-2xx responses and socket errors), the server's peak RSS (VmHWM), and for the equivalent
SQL, pgbench's transactions per second at the same concurrency in the same run.

First, the ratio targets (SQLite's lists against PostgreSQL's, PostgreSQL's lists against
pgbench, REST lookups against GraphQL's) are measured in alternating rounds on fresh 887-row
databases: both sides of a ratio back to back in every round, the order reversed every other
round, and the targets judged on the median of the per-round ratios, so that a machine whose
speed drifts over minutes moves both sides alike. Each target line also gives the ratio of
the single longer runs below, which are minutes apart.

Phase one runs on the 887 historical passengers (reads first, so writes do not grow the list
they measure); phase two (full run only) adds 1,000,000 rows and measures deep pages,
statistics and the streamed legacy list at that size: first byte, total time, peak RSS for
one and for 20 concurrent lists, and the bytes against an independent encoder (CPython's
json, which is what the legacy Flask service used).
"""
import base64
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

SMOKE = "--smoke" in sys.argv
RATIOS_ONLY = "--ratios" in sys.argv  # only the alternating rounds and the targets they decide
DURATION = "2s" if SMOKE else "8s"
CONNECTIONS = [16, 64]
SCALE_ROWS = 0 if SMOKE else 1_000_000
# The ratio targets compare two rates; measured minutes apart on a machine whose speed drifts,
# each side carries that drift. So they are also measured in alternating rounds, the sides
# back to back within a round and the order reversed every other round, and judged on the
# median of the per-round ratios.
ROUNDS = 3 if SMOKE else 5
ROUND_DURATION = "1s" if SMOKE else "4s"
BINARY = os.path.abspath("target/release/passenger-api")
CSV = os.path.abspath("data/titanic.csv")  # the historical dataset shipped in the repository
PG_ADMIN = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres:postgres@127.0.0.1:5432/postgres")
TABLE = "titanic"  # what the legacy service reads: `SELECT * FROM titanic`
BASE = "passengers"  # the service's own table (the view `titanic` shows the legacy columns)
README_BODY = json.dumps({"survived": True, "passengerClass": 2, "name": "Bench-Name", "sex": "male", "age": 27,
                          "siblingsOrSpousesAboard": 0, "parentsOrChildrenAboard": 0, "fare": 13})
ALL_FIELDS = "id survived passengerClass name sex age siblingsOrSpousesAboard parentsOrChildrenAboard fare"
rows = []     # the table printed at the end
figures = {}  # (backend, key) -> number, for the targets


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_call(method, url, body=None, timeout=120):
    request = urllib.request.Request(url, data=body.encode() if body else None, method=method,
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as r:
        return r.status, r.read()


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Server:
    def __init__(self, database_url, work, extra=None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, DATABASE_URL=database_url, BIND=f"127.0.0.1:{self.port}", LOG_LEVEL="warn",
                   LOG_FORMAT="json", PLAYGROUND_ASSETS_DIR="/nonexistent", MAX_PAGE_SIZE="1000", NO_SEED="true",
                   DB_MAX_CONNECTIONS=os.environ.get("BENCH_DB_MAX_CONNECTIONS", "32"), **(extra or {}))
        self.log = open(os.path.join(work, f"server-{self.port}.log"), "w")
        started = time.perf_counter()
        self.process = subprocess.Popen([BINARY, "serve"], env=env, stderr=self.log, stdout=subprocess.DEVNULL)
        while True:
            try:
                if http_call("GET", self.base + "/readyz", timeout=1)[0] == 200:
                    break
            except Exception:  # noqa: BLE001 - still starting
                pass
            if time.perf_counter() - started > 60:
                raise SystemExit("server did not become ready")
            time.sleep(0.005)
        self.startup_ms = (time.perf_counter() - started) * 1000
        self.idle_rss = status_kib(self.process.pid, "VmRSS")

    def peak_rss(self):
        return status_kib(self.process.pid, "VmHWM")

    def reset_peak(self):
        """Starts a new peak RSS measurement (VmHWM) from the current RSS."""
        with open(f"/proc/{self.process.pid}/clear_refs", "w") as f:
            f.write("5")

    def metric(self, name, labels):
        _, text = http_call("GET", self.base + "/metrics")
        for line in text.decode().splitlines():
            if line.startswith(name + "{" + labels + "}"):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def lua(path, method, body_expr=None, ids=None):
    lines = ["math.randomseed(os.time())"]
    if ids:
        lines.append("ids = {" + ",".join(f'"{i}"' for i in ids) + "}")
    lines.append('wrk.headers["Content-Type"] = "application/json"')
    body = f", nil, {body_expr}" if body_expr else ""
    lines.append(f'request = function() return wrk.format("{method}", {path}{body}) end')
    return "\n".join(lines) + "\n"


def wrk(base, script, connections, work, duration=DURATION):
    path = os.path.join(work, "script.lua")
    with open(path, "w") as f:
        f.write(script)
    threads = str(min(2, connections))
    out = subprocess.run(["wrk", "-t", threads, "-c", str(connections), "-d", duration, "--timeout", "10s", "--latency", "-s", path, base],
                         capture_output=True, text=True, timeout=600).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))

    def pct(p):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    errors = sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket_errors:
        errors += sum(int(x) for x in socket_errors.groups())
    return {"rps": rps, "p50": pct(50), "p99": pct(99), "errors": errors, "requests": total}


def pgbench(database_url, sql, connections, duration=DURATION):
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(sql)
        path = f.name
    seconds = duration.rstrip("s")
    out = subprocess.run(["pgbench", "-n", "-M", "prepared", "-c", str(connections), "-j", "2", "-T", seconds, "-f", path, database_url],
                         capture_output=True, text=True, timeout=600)
    os.unlink(path)
    m = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out.stdout)
    return float(m.group(1)) if m else None


def cursor_for(seq):
    raw = json.dumps({"o": "+insertion", "v": [seq]}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def gql_body(query, variables=None):
    return json.dumps({"query": query, "variables": variables or {}})


def lua_string(s):
    return json.dumps(s)


def unique_name_body():
    head, tail = README_BODY.split('"Bench-Name"')
    return lua_string(head + '"Bench-') + " .. math.random(1, 2000000000) .. " + lua_string('"' + tail)


def create_body():
    query = 'mutation { createPassenger(input: { name: \\"Bench-'
    return (lua_string('{"query":"' + query) + " .. math.random(1, 2000000000) .. "
            + lua_string('\\", age: 30, fare: 7.25 }) { id } }"}'))


def read_scenarios(ids):
    """Scenarios that change nothing, on the 887 historical passengers."""
    aliases = " ".join(f'p{i}: passenger(id: "{ids[i % len(ids)]}") {{ name }}' for i in range(100))
    passenger_q = "query($id: UUID!) { passenger(id: $id) { " + ALL_FIELDS + " } }"
    passenger_body = ('\'{"query":"' + passenger_q.replace('"', '\\"') + '","variables":{"id":"\' .. ids[math.random(#ids)] .. \'"}}\'')
    by_key = f"\\set id random(1, 887)\nSELECT * FROM {BASE} WHERE seq = :id;\n"
    return [
        ("GET /hello", "hello", lua('"/hello"', "GET"), None),
        ("GET /passengerlist (887 rows)", "list_rest", lua('"/passengerlist"', "GET"), f"SELECT * FROM {TABLE};\n"),
        ("GraphQL passengers(first:1000), 9 fields", "list_gql",
         lua('"/graphql"', "POST", lua_string(gql_body("{ passengers(first: 1000) { nodes { " + ALL_FIELDS + " } } }"))),
         f"SELECT * FROM {TABLE};\n"),
        ("GET /getpassenger/<uuid>", "get_rest", lua('"/getpassenger/" .. ids[math.random(#ids)]', "GET", ids=ids), by_key),
        ("GraphQL passenger(id:)", "get_gql", lua('"/graphql"', "POST", passenger_body, ids=ids), by_key),
        ("GraphQL passengers(first:100) page 1", "page1", lua('"/graphql"', "POST", lua_string(gql_body(
            "{ passengers(first: 100) { nodes { id name age } pageInfo { endCursor } } }"))),
         f"SELECT * FROM {BASE} ORDER BY seq LIMIT 101;\n"),
        ("GraphQL 100 aliased passenger(id:)", "aliases", lua('"/graphql"', "POST", lua_string(gql_body("{ " + aliases + " }"))),
         f"SELECT * FROM {BASE} WHERE seq IN (" + ",".join(str(i) for i in range(1, 101)) + ");\n"),
        ("GraphQL passengerStats by class, sex", "stats", lua('"/graphql"', "POST", lua_string(gql_body(
            "{ passengerStats(groupBy: [PASSENGER_CLASS, SEX]) { passengerClass sex count survivalRate age { avg } fare { avg } } }"))),
         f'SELECT "passengerClass", sex, count(*), avg(age), avg(fare) FROM {TABLE} GROUP BY 1, 2;\n'),
    ]


def write_scenarios(ids):
    return [
        # Unique names: the legacy answer lists every passenger with the posted name.
        ("POST /postpassenger", "post", lua('"/postpassenger"', "POST", unique_name_body()), None),
        ("PUT /putpassenger/<uuid>", "put", lua('"/putpassenger/" .. ids[math.random(#ids)]', "PUT", lua_string(README_BODY), ids=ids), None),
        ("GraphQL createPassenger", "create", lua('"/graphql"', "POST", create_body()), None),
    ]


def ids_of(server):
    _, body = http_call("GET", server.base + "/graphql?query=" + urllib.parse.quote("{ passengers(first: 1000) { nodes { id } } }"))
    return [n["id"] for n in json.loads(body)["data"]["passengers"]["nodes"]]


def seed_csv(database_url, path):
    started = time.perf_counter()
    subprocess.run([BINARY, "seed", path], env=dict(os.environ, DATABASE_URL=database_url, LOG_LEVEL="warn"),
                   check=True, capture_output=True)
    return time.perf_counter() - started


def write_scale_csv(path, n):
    rng = random.Random(42)
    with open(path, "w") as f:
        f.write("Survived,Pclass,Name,Sex,Age,Siblings_Spouses_Aboard,Parents_Children_Aboard,Fare\n")
        for i in range(n):
            f.write(f"{rng.randint(0, 1)},{rng.choice((1, 2, 3))},Passenger {i},{rng.choice(('male', 'female'))},"
                    f"{rng.randint(1, 80)},{rng.randint(0, 3)},{rng.randint(0, 2)},{rng.randint(500, 50000) / 100}\n")


def run_scenario(name, server, title, key, script, sql, conns, pg_url, work):
    before = server.metric("passenger_api_db_statements_total", 'kind="SELECT",failed="false"')
    server.reset_peak()
    result = wrk(server.base, script, conns, work)
    after = server.metric("passenger_api_db_statements_total", 'kind="SELECT",failed="false"')
    pg = pgbench(pg_url, sql, conns) if (pg_url and sql) else None
    extra = ""
    if key == "aliases" and result["requests"]:
        extra = f" ({(after - before) / result['requests']:.2f} SELECT/request)"
        figures[(name, "selects_per_alias_request")] = (after - before) / result["requests"]
    figures[(name, f"{key}@{conns}")] = result
    if pg:
        figures[(name, f"{key}@{conns}:pg")] = pg
    rows.append({"backend": name, "scenario": title + extra, "conns": conns, "rps": f"{result['rps']:,.0f}",
                 "p50": f"{result['p50']:.2f} ms", "p99": f"{result['p99']:.2f} ms",
                 "errors": result["errors"], "rss": f"{server.peak_rss() / 1024:.1f}",
                 "pg": f"{pg:,.0f}" if pg else ""})


def note(name, scenario, value, rss="", errors=0):
    rows.append({"backend": name, "scenario": scenario, "conns": "-", "rps": "", "p50": value, "p99": "",
                 "errors": errors, "rss": rss, "pg": ""})


def legacy_bytes_via_graphql(server):
    """The whole list in the legacy form, encoded by CPython's json from GraphQL pages."""
    out, after = [], None
    while True:
        query = "query($after: String) { passengers(first: 1000, after: $after) { nodes { " + ALL_FIELDS + \
                " } pageInfo { hasNextPage endCursor } } }"
        _, body = http_call("POST", server.base + "/graphql", gql_body(query, {"after": after}))
        page = json.loads(body)["data"]["passengers"]
        for node in page["nodes"]:
            node["uuid"] = node.pop("id")
            out.append(node)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    return (json.dumps(out, separators=(",", ":"), sort_keys=True) + "\n").encode()


def stream_list(server, digest=None):
    """GET /passengerlist: (seconds to the first body byte, total seconds, bytes)."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    conn.request("GET", "/passengerlist")
    response = conn.getresponse()
    first = response.read1(65536)
    first_byte = time.perf_counter() - started
    total = len(first)
    if digest is not None:
        digest.update(first)
    while True:
        chunk = response.read1(1 << 20)
        if not chunk:
            break
        total += len(chunk)
        if digest is not None:
            digest.update(chunk)
    conn.close()
    return first_byte, time.perf_counter() - started, total


def run_backend(name, database_url, pg_url, work):
    seed_seconds = seed_csv(database_url, CSV)
    # Uncached figures: the response cache off, so every request reaches the database.
    server = Server(database_url, work, {"RESPONSE_CACHE_MAX_BYTES": "0"})
    note(name, "start-up to /readyz 200 (migrated)", f"{server.startup_ms:.0f} ms", f"idle {server.idle_rss / 1024:.1f}")
    note(name, "seed of the 887-row CSV", f"{seed_seconds * 1000:.0f} ms")
    figures[(name, "startup_ms")] = server.startup_ms
    figures[(name, "idle_rss_mib")] = server.idle_rss / 1024
    ids = ids_of(server)
    try:
        for title, key, script, sql in read_scenarios(ids):
            for c in CONNECTIONS:
                run_scenario(name, server, title, key, script, sql, c, pg_url, work)
    finally:
        server.stop()
    # The same lists with the response cache on (the default), then the freshness checks.
    cached = Server(database_url, work)
    try:
        for title, key, script, sql in read_scenarios(ids):
            if key in ("list_rest", "list_gql"):
                for c in CONNECTIONS:
                    run_scenario(name, cached, title + ", cached", key + "_cached", script, sql, c, pg_url, work)
        mixed_load(name, cached, ids)
        if pg_url:
            freshness_across_replicas(name, database_url, cached, ids, work)
    finally:
        cached.stop()
    server = Server(database_url, work, {"RESPONSE_CACHE_MAX_BYTES": "0"})
    try:
        for title, key, script, sql in write_scenarios(ids):
            for c in CONNECTIONS:
                run_scenario(name, server, title, key, script, sql, c, pg_url, work)
    finally:
        server.stop()
    if not SCALE_ROWS:
        return
    path = os.path.join(work, "scale.csv")
    write_scale_csv(path, SCALE_ROWS)
    seconds = seed_csv(database_url, path)
    figures[(name, "seed_1m_s")] = seconds
    note(name, f"seed of a {SCALE_ROWS:,}-row CSV", f"{seconds:.1f} s ({SCALE_ROWS / seconds:,.0f} rows/s)")
    server = Server(database_url, work, {"RESPONSE_CACHE_MAX_BYTES": "0"})
    try:
        total_rows = int(json.loads(http_call("POST", server.base + "/graphql", gql_body("{ passengers { totalCount } }"))[1])
                         ["data"]["passengers"]["totalCount"])
        deep = max(1, total_rows - 100)
        deep_q = "query($after: String) { passengers(first: 100, after: $after) { nodes { id name age } pageInfo { endCursor } } }"
        scale = [
            ("GraphQL passengers(first:100) page 1, 1M rows", "page1_1m", lua('"/graphql"', "POST", lua_string(gql_body(
                "{ passengers(first: 100) { nodes { id name age } pageInfo { endCursor } } }"))),
             f"SELECT * FROM {BASE} ORDER BY seq LIMIT 101;\n"),
            (f"GraphQL passengers(first:100), {deep:,} rows deep", "deep", lua('"/graphql"', "POST", lua_string(gql_body(
                deep_q, {"after": cursor_for(deep)}))),
             f"SELECT * FROM {BASE} WHERE seq > {deep} ORDER BY seq LIMIT 101;\n"),
            ("GraphQL passengerStats by class, sex, 1M rows", "stats_1m", lua('"/graphql"', "POST", lua_string(gql_body(
                "{ passengerStats(groupBy: [PASSENGER_CLASS, SEX]) { passengerClass sex count survivalRate age { avg } fare { avg } } }"))),
             f'SELECT "passengerClass", sex, count(*), avg(age), avg(fare) FROM {TABLE} GROUP BY 1, 2;\n'),
        ]
        for title, key, script, sql in scale:
            for c in [1, 16]:
                run_scenario(name, server, title, key, script, sql, c, pg_url, work)
    finally:
        server.stop()
    # The whole legacy list at this size, streamed, by a server of its own: what the scenarios
    # above left in the process (allocator and page caches at their high-water mark) is not
    # the list's to carry.
    server = Server(database_url, work, {"RESPONSE_CACHE_MAX_BYTES": "0"})
    try:
        note(name, f"fresh server for the {total_rows:,}-row lists", "", f"idle {server.idle_rss / 1024:.1f}")
        server.reset_peak()
        digest = hashlib.sha256()
        first_byte, total_s, size = stream_list(server, digest)
        peak = server.peak_rss() / 1024
        expected = hashlib.sha256(legacy_bytes_via_graphql(server)).hexdigest()
        identical = digest.hexdigest() == expected
        figures[(name, "list_1m")] = {"first_byte_ms": first_byte * 1000, "rss": peak, "identical": identical, "s": total_s}
        note(name, f"GET /passengerlist, {total_rows:,} rows: first byte {first_byte * 1000:.0f} ms, {size / 1e6:.0f} MB",
             f"{total_s:.1f} s total", f"{peak:.1f}", 0 if identical else 1)
        note(name, "  … bytes equal CPython's json encoding of the rows (the legacy encoder)", "yes" if identical else "NO",
             "", 0 if identical else 1)
        server.reset_peak()
        results = []
        threads = [threading.Thread(target=lambda: results.append(stream_list(server))) for _ in range(20)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        peak = server.peak_rss() / 1024
        figures[(name, "list_1m_x20_rss")] = peak
        complete = sum(1 for r in results if r[2] == size)
        note(name, f"20 concurrent GET /passengerlist, {total_rows:,} rows each ({complete}/20 complete)",
             f"{time.perf_counter() - started:.1f} s total", f"{peak:.1f}", 20 - complete)
    finally:
        server.stop()


def paired_rounds(pg_admin, work):
    """The ratio targets' two sides in alternating rounds on fresh 887-row databases, one
    uncached server per backend running throughout: per list scenario and connection count,
    SQLite, PostgreSQL and pgbench back to back (reversed every other round); per backend,
    the REST and the GraphQL lookup back to back (likewise). Records every round's figures."""
    sqlite_url = f"sqlite://{work}/paired.db"
    db = f"passenger_api_paired_{os.getpid()}"
    subprocess.run(["psql", pg_admin, "-q", "-c", f"DROP DATABASE IF EXISTS {db}", "-c", f"CREATE DATABASE {db}"], check=True)
    pg_url = pg_admin.rsplit("/", 1)[0] + "/" + db
    servers = {}
    try:
        for backend, url in (("sqlite", sqlite_url), ("postgres", pg_url)):
            seed_csv(url, CSV)
            servers[backend] = Server(url, work, {"RESPONSE_CACHE_MAX_BYTES": "0"})
        scripts = {backend: {key: (title, script, sql) for title, key, script, sql in read_scenarios(ids_of(server))}
                   for backend, server in servers.items()}

        def step(backend, key, conns):
            """One round's rate: pgbench's tps for the backend "pgbench", else the server's req/s."""
            if backend == "pgbench":
                return pgbench(pg_url, scripts["postgres"][key][2], conns, ROUND_DURATION)
            result = wrk(servers[backend].base, scripts[backend][key][1], conns, work, ROUND_DURATION)
            if result["errors"]:
                raise SystemExit(f"paired rounds: {result['errors']} errors on {backend} {key}@{conns}")
            return result["rps"]

        def alternate(conns, sides):
            """Rates per side (backend, scenario key), the sides back to back, reversed every other round."""
            rates = {side: [] for side in sides}
            for round_index in range(ROUNDS):
                for side in (sides if round_index % 2 == 0 else list(reversed(sides))):
                    rates[side].append(step(*side, conns))
            return rates

        for conns in CONNECTIONS:
            for key in ("list_rest", "list_gql"):
                sides = [("sqlite", key), ("postgres", key), ("pgbench", key)]
                rates = {backend: r for (backend, _), r in alternate(conns, sides).items()}
                figures[("paired", f"{key}@{conns}")] = rates
                title = scripts["postgres"][key][0]
                for kind, label in (("sqlite", "sqlite"), ("postgres", "postgres"), ("pgbench", "pgbench tps")):
                    note("paired", f"{title} @{conns}, {ROUNDS} rounds of {ROUND_DURATION}: {label}",
                         " / ".join(f"{r:,.0f}" for r in rates[kind]))
            for backend in servers:
                rates = {key: r for (_, key), r in alternate(conns, [(backend, "get_rest"), (backend, "get_gql")]).items()}
                figures[("paired", f"{backend}:get@{conns}")] = rates
                for key, label in (("get_rest", "GET /getpassenger"), ("get_gql", "GraphQL passenger(id:)")):
                    note("paired", f"{backend} {label} @{conns}, {ROUNDS} rounds of {ROUND_DURATION}",
                         " / ".join(f"{r:,.0f}" for r in rates[key]))
    finally:
        for server in servers.values():
            server.stop()
        subprocess.run(["psql", pg_admin, "-q", "-c", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"], check=False)


def paired_ratio(rates, numerator, denominator):
    """The median of the per-round ratios, and the ratios themselves."""
    per_round = [ratio(a, b) for a, b in zip(rates[numerator], rates[denominator])]
    return statistics.median(per_round), per_round


def put_name(server, uuid, name):
    body = json.loads(README_BODY)
    body["name"] = name
    status, _ = http_call("PUT", f"{server.base}/putpassenger/{uuid}", json.dumps(body))
    assert status == 200, status


def mixed_load(name, server, ids):
    """90% list reads, 10% writes, from 8 clients at once, each owning one passenger: a client
    must never read its passenger older than its last acknowledged write."""
    seconds = 2 if SMOKE else 8
    stale, reads, writes = [0], [0], [0]

    def client(i):
        uuid, version = ids[i], 0
        rng = random.Random(i)
        put_name(server, uuid, f"Mixed-{i}-0")
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            if rng.random() < 0.1:
                version += 1
                put_name(server, uuid, f"Mixed-{i}-{version}")
                writes[0] += 1
            else:
                _, body = http_call("GET", server.base + "/passengerlist")
                row = next(r for r in json.loads(body) if r["uuid"] == uuid)
                reads[0] += 1
                if row["name"] != f"Mixed-{i}-{version}":
                    stale[0] += 1
    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    figures[(name, "mixed_stale")] = stale[0]
    note(name, f"mixed load, 8 clients, 90% GET /passengerlist / 10% PUT, cached: {reads[0]:,} reads, {writes[0]:,} writes",
         f"{stale[0]} stale", "", stale[0])


def freshness_across_replicas(name, database_url, a, ids, work):
    """Write through replica A (and with psql), poll replica B until it answers the new
    value: the delay until B's cache lets go, over many writes."""
    b = Server(database_url, work)
    try:
        uuid = ids[0]
        count = 100 if SMOKE else 1000
        delays = []
        for i in range(count):
            http_call("GET", f"{b.base}/getpassenger/{uuid}")  # cached on B
            put_name(a, uuid, f"Replica-{i}")
            written = time.perf_counter()
            while json.loads(http_call("GET", f"{b.base}/getpassenger/{uuid}")[1])["name"] != f"Replica-{i}":
                if time.perf_counter() - written > 5:
                    raise SystemExit(f"replica B never saw write {i}")
                time.sleep(0.0005)
            delays.append((time.perf_counter() - written) * 1000)
        delays.sort()
        p99 = delays[int(len(delays) * 0.99) - 1]
        figures[(name, "replica_p99_ms")] = p99
        note(name, f"write on replica A seen on replica B (cached), {count} writes: p50 {delays[len(delays) // 2]:.1f} ms",
             f"p99 {p99:.1f} ms")
        worst = 0.0
        for i in range(20):
            for server in (a, b):
                http_call("GET", f"{server.base}/getpassenger/{uuid}")
            subprocess.run(["psql", database_url, "-q", "-c", f"UPDATE titanic SET name = 'Psql-{i}' WHERE uuid = '{uuid}'"],
                           check=True, capture_output=True)
            written = time.perf_counter()
            for server in (a, b):
                while json.loads(http_call("GET", f"{server.base}/getpassenger/{uuid}")[1])["name"] != f"Psql-{i}":
                    if time.perf_counter() - written > 5:
                        raise SystemExit("a psql UPDATE was never seen")
                    time.sleep(0.0005)
            worst = max(worst, (time.perf_counter() - written) * 1000)
        figures[(name, "psql_worst_ms")] = worst
        note(name, "UPDATE with psql seen on both replicas (cached), 20 updates", f"worst {worst:.1f} ms")
    finally:
        b.stop()


def ratio(a, b):
    return a / b if a and b else 0.0


def rounds_text(per_round, single):
    """The per-round ratios, then the single runs' ratio when there is one."""
    return "rounds " + " / ".join(f"{r:.0%}" for r in per_round) + (f"; {single}" if single else "")


def check_targets():
    """The performance targets, each with the figures it rests on."""
    out = []

    def target(ok, text):
        out.append(("met " if ok else "MISS") + "  " + text)

    for backend in ("sqlite", "postgres"):
        for c in CONNECTIONS:
            rest, gql = figures.get((backend, f"get_rest@{c}")), figures.get((backend, f"get_gql@{c}"))
            single = f"single run {rest['rps']:,.0f} vs {gql['rps']:,.0f}, {ratio(rest['rps'], gql['rps']):.0%}" if rest and gql else ""
            mid, per_round = paired_ratio(figures[("paired", f"{backend}:get@{c}")], "get_rest", "get_gql")
            target(mid >= 0.9, f"{backend} @{c}: GET /getpassenger ÷ GraphQL passenger(id:), median of {len(per_round)} alternating rounds "
                   f"{mid:.0%} ({rounds_text(per_round, single)}) (target ≥ 90%)")
        create = figures.get((backend, "create@64"))
        if create and backend == "sqlite":
            target(create["p99"] < 50 and create["errors"] == 0,
                   f"sqlite @64: createPassenger p99 {create['p99']:.1f} ms, {create['errors']} errors (target < 50 ms, none)")
    for c in CONNECTIONS:
        for key, label in (("list_rest", "GET /passengerlist"), ("list_gql", "passengers(first:1000)")):
            pg_run, pg_tps = figures.get(("postgres", f"{key}@{c}")), figures.get(("postgres", f"{key}@{c}:pg"))
            sq = figures.get(("sqlite", f"{key}@{c}"))
            vs_pgbench = f"single run {pg_run['rps']:,.0f} req/s vs {pg_tps:,.0f} tps, {ratio(pg_run['rps'], pg_tps):.0%}" if pg_run and pg_tps else ""
            vs_pg = f"single run {sq['rps']:,.0f} vs {pg_run['rps']:,.0f} req/s, {ratio(sq['rps'], pg_run['rps']):.0%}" if sq and pg_run else ""
            rates = figures[("paired", f"{key}@{c}")]
            mid, per_round = paired_ratio(rates, "postgres", "pgbench")
            target(mid >= 0.5, f"postgres @{c}: {label} ÷ pgbench SELECT * FROM titanic, median of {len(per_round)} alternating rounds "
                   f"{mid:.0%} ({rounds_text(per_round, vs_pgbench)}) (target ≥ 50%)")
            mid, per_round = paired_ratio(rates, "sqlite", "postgres")
            target(mid >= 1.0, f"sqlite @{c}: {label} ÷ PostgreSQL's, median of {len(per_round)} alternating rounds "
                   f"{mid:.0%} ({rounds_text(per_round, vs_pg)}) (target ≥ 100%)")
    for c in CONNECTIONS:
        for key, label in (("list_rest_cached", "cached GET /passengerlist"), ("list_gql_cached", "cached passengers(first:1000)")):
            pg_run, pg_tps = figures.get(("postgres", f"{key}@{c}")), figures.get(("postgres", f"{key}@{c}:pg"))
            if pg_run and pg_tps:
                target(pg_run["rps"] >= 2 * pg_tps,
                       f"postgres @{c}: {label} {pg_run['rps']:,.0f} req/s is {ratio(pg_run['rps'], pg_tps):.1f}× pgbench SELECT * FROM titanic {pg_tps:,.0f} tps (target ≥ 2×)")
    replica = figures.get(("postgres", "replica_p99_ms"))
    if replica is not None:
        target(replica < 100, f"postgres: a write on replica A visible on replica B, p99 {replica:.1f} ms (target < 100)")
    psql_worst = figures.get(("postgres", "psql_worst_ms"))
    if psql_worst is not None:
        target(psql_worst < 100, f"postgres: a psql UPDATE visible on both replicas, worst {psql_worst:.1f} ms (target < 100)")
    for backend in ("sqlite", "postgres"):
        stale = figures.get((backend, "mixed_stale"))
        if stale is not None:
            target(stale == 0, f"{backend}: mixed 90/10 load with the cache: {stale} answers older than the client's own acknowledged write (target 0)")
    for backend in ("sqlite", "postgres"):
        big = figures.get((backend, "list_1m"))
        if big:
            target(big["rss"] < 64 and big["first_byte_ms"] < 100 and big["identical"],
                   f"{backend}: 1M-row list peak RSS {big['rss']:.1f} MiB (< 64), first byte {big['first_byte_ms']:.0f} ms (< 100), bytes identical: {big['identical']}")
        many = figures.get((backend, "list_1m_x20_rss"))
        if many:
            target(many < 128, f"{backend}: 20 concurrent 1M-row lists peak RSS {many:.1f} MiB (target < 128)")
        idle = figures.get((backend, "idle_rss_mib"))
        if idle:
            target(idle < 24, f"{backend}: idle RSS {idle:.1f} MiB (target < 24)")
        start = figures.get((backend, "startup_ms"))
        if start:
            target(start < 250, f"{backend}: start-up {start:.0f} ms (target < 250)")
        seed = figures.get((backend, "seed_1m_s"))
        if seed:
            target(seed < 30, f"{backend}: 1M-row seed {seed:.1f} s (target < 30)")
        stats = figures.get((backend, "stats_1m@1"))
        if stats:
            target(stats["p50"] < 1000, f"{backend}: passengerStats over 1M rows p50 {stats['p50']:.0f} ms (target < 1 s)")
        deep, first = figures.get((backend, "deep@16")), figures.get((backend, "page1_1m@16"))
        if deep and first:
            target(deep["p50"] <= 2 * first["p50"], f"{backend}: 1M-deep page p50 {deep['p50']:.2f} ms vs first page {first['p50']:.2f} ms (target ≤ 2×)")
        aliases = figures.get((backend, "selects_per_alias_request"))
        if aliases is not None:
            target(aliases <= 1.0, f"{backend}: 100 aliased lookups cost {aliases:.2f} SELECT per request (target ≤ 1)")
    size = os.path.getsize(BINARY) / (1024 * 1024)
    target(size < 25, f"release binary {size:.1f} MiB (target < 25)")
    return out


def main():
    work = tempfile.mkdtemp(prefix="passenger-api-bench-")
    try:
        paired_rounds(PG_ADMIN, work)
        if not RATIOS_ONLY:
            run_backend("sqlite", f"sqlite://{work}/bench.db", None, work)
            admin = PG_ADMIN
            db = f"passenger_api_bench_{os.getpid()}"
            subprocess.run(["psql", admin, "-q", "-c", f"DROP DATABASE IF EXISTS {db}", "-c", f"CREATE DATABASE {db}"], check=True)
            pg_url = admin.rsplit("/", 1)[0] + "/" + db
            try:
                run_backend("postgres", pg_url, pg_url, work)
            finally:
                subprocess.run(["psql", admin, "-q", "-c", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"], check=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    size = os.path.getsize(BINARY) / (1024 * 1024)
    print()
    mode = ("smoke" if SMOKE else "full") + (", ratio rounds only" if RATIOS_ONLY else "")
    print(f"passenger-api load test ({mode}: {DURATION} per scenario, {ROUND_DURATION} per alternating round) — "
          f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, release binary {size:.1f} MiB")
    header = ["backend", "scenario", "conns", "req/s", "p50", "p99", "errors", "peak RSS MiB", "pgbench tps"]
    table = [[str(r["backend"]), str(r["scenario"]), str(r["conns"]), r["rps"], r["p50"], r["p99"], str(r["errors"]), r["rss"], r["pg"]] for r in rows]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(header)]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("-|-".join("-" * w for w in widths))
    for row in table:
        print(" | ".join(v.ljust(w) for v, w in zip(row, widths)))
    print("\nTargets" + (" (smoke run: figures from 2 s runs, indicative only)" if SMOKE else "") + ":")
    for line in check_targets():
        print("  " + line)
    failures = sum(int(r["errors"]) for r in rows)
    print(f"\n{len(rows)} rows; errors across all scenarios: {failures}")
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
