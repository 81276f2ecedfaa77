#!/usr/bin/env python3
"""Container-contract smoke test: runs the release binary the way the rendered Kubernetes
manifests run it, with exactly the environment they set, against PostgreSQL, in a read-only
working directory, and checks ports, probes, the scrape path and the init/seed commands.

usage: smoke.py RENDERED_DEV_YAML BINARY DATABASE_URL
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import yaml


def fail(message):
    print(f"SMOKE FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def objects(path):
    with open(path) as f:
        return [o for o in yaml.safe_load_all(f) if o]


def find(docs, kind, name_prefix):
    for o in docs:
        if o["kind"] == kind and o["metadata"]["name"].startswith(name_prefix):
            return o
    fail(f"no {kind} {name_prefix}")


def container_env(container, docs, secrets):
    """The environment a container gets: configMap envFrom, then env (secrets substituted)."""
    env = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(find(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        else:
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = secrets[ref["key"]]
    return env


def get(url, timeout=2):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers.get("content-type", ""), r.read()


def wait_for(url, status=200, within=20):
    deadline = time.time() + within
    last = None
    while time.time() < deadline:
        try:
            code, _, _ = get(url)
            if code == status:
                return
            last = code
        except Exception as e:  # noqa: BLE001 - connection refused while starting
            last = e
            if hasattr(e, "code") and e.code == status:
                return
        time.sleep(0.2)
    fail(f"{url} did not answer {status} within {within}s (last: {last})")


def main():
    rendered, binary, database_url = sys.argv[1:4]
    binary = os.path.abspath(binary)
    docs = objects(rendered)
    deployment = find(docs, "Deployment", "passenger-api")
    pod = deployment["spec"]["template"]
    api = next(c for c in pod["spec"]["containers"] if c["name"] == "api")
    init = pod["spec"]["initContainers"][0]
    seed = find(docs, "Job", "passenger-api-seed")["spec"]["template"]["spec"]["containers"][0]

    # As root, run as an unprivileged user, like the image's non-root user.
    user = "nobody" if os.geteuid() == 0 else None
    workdir = tempfile.mkdtemp(prefix="passenger-api-smoke-")
    secrets_dir = tempfile.mkdtemp(prefix="passenger-api-secrets-")
    token = "smoke-token-123"
    with open(os.path.join(secrets_dir, "api-tokens"), "w") as f:
        f.write(token + "\n")
    os.chmod(secrets_dir, 0o755)
    os.chmod(os.path.join(secrets_dir, "api-tokens"), 0o644)
    os.chmod(workdir, 0o555)  # read-only working directory (the image's root FS is read-only)
    secrets = {"database-url": database_url, "api-tokens": token}

    # Init container: migrations.
    env = container_env(init, docs, secrets)
    r = subprocess.run([binary] + init["args"], cwd=workdir, env=env, user=user, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        fail(f"init container `{' '.join(init['args'])}` failed: {r.stderr}")
    print("init container (migrate): ok")

    # Seed job.
    env = container_env(seed, docs, secrets)
    r = subprocess.run([binary] + seed["args"], cwd=workdir, env=env, user=user, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        fail(f"seed job failed: {r.stderr}")
    print("seed job: ok")

    # Main container with its exact environment; the tokens file lives where it is mounted.
    env = container_env(api, docs, secrets)
    mount = next(m for m in api["volumeMounts"] if m["name"] == "api-tokens")["mountPath"]
    if not env["API_TOKENS_FILE"].startswith(mount + "/"):
        fail(f"API_TOKENS_FILE {env['API_TOKENS_FILE']} is not under the tokens mount {mount}")
    env["API_TOKENS_FILE"] = env["API_TOKENS_FILE"].replace(mount, secrets_dir, 1)
    if not os.path.isdir(env.get("PLAYGROUND_ASSETS_DIR", "")):
        # The image carries the bundles at /app/playground; point at the fetched copy here.
        local = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "assets", "playground")
        env["PLAYGROUND_ASSETS_DIR"] = local if os.path.isdir(local) else env["PLAYGROUND_ASSETS_DIR"]

    port = next(p["containerPort"] for p in api["ports"] if p["name"] == "http")
    bind_port = int(env["BIND"].rsplit(":", 1)[1])
    if bind_port != port:
        fail(f"BIND {env['BIND']} does not match containerPort {port}")
    annotations = pod["metadata"]["annotations"]
    if int(annotations["prometheus.io/port"]) != port:
        fail("prometheus.io/port does not match the container port")
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            fail(f"port {port} is taken on this machine; the smoke test needs it")

    process = subprocess.Popen([binary] + api["args"], cwd=workdir, env=env, user=user, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            path = api[probe]["httpGet"]["path"]
            if api[probe]["httpGet"]["port"] != "http":
                fail(f"{probe} does not use the http port")
            wait_for(base + path)
            print(f"{probe} {path}: 200")
        code, content_type, body = get(base + annotations["prometheus.io/path"])
        if code != 200 or not content_type.startswith("text/plain") or b"passenger_api_build_info" not in body:
            fail("metrics scrape path does not serve Prometheus text")
        print(f"scrape {annotations['prometheus.io/path']}: ok")
        _, _, body = get(base + "/passengerlist", timeout=10)
        if body.count(b'"uuid"') != 887 or not body.startswith(b'[{"age":22.0,"fare":7.25,"name":"Mr. Owen Harris Braund"'):
            fail("the seed job's historical passengers are not served")
        body = b'{"survived":true,"passengerClass":2,"name":"Smoke","sex":"male","age":1,"siblingsOrSpousesAboard":0,"parentsOrChildrenAboard":0,"fare":1}'
        request = urllib.request.Request(base + "/postpassenger", data=body, method="POST", headers={"content-type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=5)
            fail("a write without a token was accepted although the manifests configure tokens")
        except urllib.error.HTTPError as e:
            if e.code != 401:
                fail(f"a write without a token answered {e.code}, not 401")
        request.add_header("authorization", f"Bearer {token}")
        if urllib.request.urlopen(request, timeout=5).status != 200:
            fail("a write with the mounted token was refused")
        print("tokens from the mounted secret: enforced")
        process.send_signal(signal.SIGTERM)
        grace = pod["spec"]["terminationGracePeriodSeconds"]
        try:
            code = process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            fail(f"did not exit within terminationGracePeriodSeconds ({grace})")
        if code != 0:
            fail(f"exit code {code} after SIGTERM")
        print("SIGTERM: clean exit within the grace period")
    finally:
        if process.poll() is None:
            process.kill()
        shutil.rmtree(secrets_dir, ignore_errors=True)
        os.chmod(workdir, 0o755)
        shutil.rmtree(workdir, ignore_errors=True)
    print("smoke test: ok")


if __name__ == "__main__":
    main()
