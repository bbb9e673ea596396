"""
Static checks of deploy/ and the Dockerfile against the binaries:

  - every YAML file under deploy/ parses (all documents);
  - every image is nudge:<tag> or redis:<tag>;
  - every NUDGE_* / provider-credential variable named anywhere in deploy/
    or the Dockerfile is a setting in nudge-server/nudge-worker --help, each
    service's explicit settings are its own binary's, and every *_FILE used
    is really read by the binary that gets it;
  - probes and healthchecks use /healthz or /readyz on ports that are
    containerPorts, listen addresses and EXPOSEd;
  - the worker's metrics port is the one of NUDGE_WORKER_METRICS_LISTEN;
  - commands name real binaries; referenced ConfigMaps, Secrets, keys,
    volumes and mounted file paths exist; grace periods exceed NUDGE_GRACE_MS;
  - deploy/.env.example and compose.yaml name the same variables.

The binaries come from NUDGE_BIN (set by `make blackbox`), else bin/; the
checks that need them are skipped when they are missing.
"""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
BIN = Path(os.environ.get("NUDGE_BIN") or REPO / "bin")
PROGS = ("nudge-server", "nudge-worker", "nudgectl")

SERVER_PORT = 8080
WORKER_METRICS_PORT = 9090
PROBE_PATHS = {"/healthz", "/readyz"}
# Variables the checks hold to --help: nudge's own and the providers' credentials.
CHECKED_VAR = re.compile(r"^(NUDGE|SENDGRID|POSTMARK|MAILGUN|TWILIO|VONAGE)_[A-Z0-9_]+$")
# The test suite's own switches, named in deploy/README.md; not settings.
TEST_ONLY = {"NUDGE_TEST_IMAGE", "NUDGE_BIN"}
IMAGE_OK = re.compile(r"^(nudge:[A-Za-z0-9][A-Za-z0-9_.-]*|redis:[A-Za-z0-9][A-Za-z0-9_.-]*)$")
INTERP = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?]([^}]*))?\}")


# ------------------------------------------------------------------ loading

def yaml_files():
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def load_all(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def compose():
    docs = load_all(DEPLOY / "compose.yaml")
    assert len(docs) == 1
    return docs[0]


def k8s_objects():
    objs = []
    for p in sorted(K8S.glob("*.yaml")):
        for d in load_all(p):
            objs.append((p.name, d))
    return objs


def k8s(kind, name=None):
    found = [d for _, d in k8s_objects()
             if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name)]
    assert found, "no %s%s in deploy/k8s" % (kind, " " + name if name else "")
    return found


def deployment(name):
    (d,) = k8s("Deployment", name)
    return d


def pod_container(dep):
    (c,) = dep["spec"]["template"]["spec"]["containers"]
    return c


def interpolate(s):
    """compose's ${VAR:-default} with nothing set: the default."""
    return INTERP.sub(lambda m: m.group(2) or "", s)


def dockerfile():
    text = (REPO / "Dockerfile").read_text()
    # join continuation lines
    return re.sub(r"\\\n", " ", text)


def dockerfile_stages():
    stages, cur = [], None
    for line in dockerfile().splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        word, _, rest = s.partition(" ")
        if word.upper() == "FROM":
            cur = {"from": rest.split()[0], "lines": []}
            stages.append(cur)
        elif cur is not None:
            cur["lines"].append((word.upper(), rest.strip()))
    return stages


def runtime_stage():
    return dockerfile_stages()[-1]


def dockerfile_expose():
    ports = set()
    for word, rest in runtime_stage()["lines"]:
        if word == "EXPOSE":
            ports |= {int(p.split("/")[0]) for p in rest.split()}
    return ports


def dockerfile_env():
    env = {}
    for word, rest in runtime_stage()["lines"]:
        if word == "ENV":
            for m in re.finditer(r"([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|\S+)", rest):
                env[m.group(1)] = m.group(2).strip('"')
    return env


def listen_port(addr):
    host, _, port = addr.rpartition(":")
    assert host and port.isdigit(), "not host:port: %r" % addr
    return int(port)


# ------------------------------------------------------------------ binaries

def _need_bin():
    missing = [p for p in PROGS if not (BIN / p).is_file()]
    if missing:
        pytest.skip("binaries missing in %s (%s): build first with `make` "
                    "(make test / make blackbox build them)" % (BIN, ", ".join(missing)))


_help_cache = {}


def help_vars(prog):
    _need_bin()
    if prog not in _help_cache:
        out = subprocess.run([str(BIN / prog), "--help"], capture_output=True, text=True,
                             timeout=10, env={"PATH": os.environ.get("PATH", "")})
        assert out.returncode == 0, out.stderr
        names = set(re.findall(r"^  ([A-Z][A-Z0-9_]+) ", out.stdout, re.M))
        assert "NUDGE_REDIS_URL" in names, "unexpected --help format:\n" + out.stdout
        _help_cache[prog] = names
    return _help_cache[prog]


def all_help_vars():
    return help_vars("nudge-server") | help_vars("nudge-worker")


def known(name, helpset):
    """name is a setting, or VAR_FILE of one."""
    return name in helpset or (name.endswith("_FILE") and name[:-5] in helpset)


def reads_file_var(prog, name, tmp_path):
    """True when prog, started with name=/nonexistent/..., fails naming it:
    the binary really reads that VAR_FILE (secrets only do)."""
    # under ASan (make asan test) a leak at the exit-2 path must not change the code
    env = {"PATH": os.environ.get("PATH", ""), "ASAN_OPTIONS": "exitcode=0:abort_on_error=1",
           "NUDGE_SHOPS_FILE": str(tmp_path / "no-shops.json"),
           name: str(tmp_path / "nonexistent" / "secret")}
    p = subprocess.run([str(BIN / prog)], capture_output=True, text=True, timeout=15, env=env)
    return p.returncode == 2 and name in p.stderr


# ------------------------------------------------------------------ collecting names

def compose_service_env(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        out = {}
        for item in env:
            k, sep, v = item.partition("=")
            out[k] = v if sep else None
        return out
    return dict(env)


def compose_interpolated_vars():
    return set(m.group(1) for m in INTERP.finditer((DEPLOY / "compose.yaml").read_text()))


def env_example_vars():
    names = []
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        m = re.match(r"^#?\s?([A-Z][A-Z0-9_]*)=", line)
        if m:
            names.append(m.group(1))
    return names


def k8s_container_env(dep):
    return {e["name"]: e.get("value") for e in pod_container(dep).get("env", [])}


def k8s_envfrom_vars(dep):
    names = {}
    for ef in pod_container(dep).get("envFrom", []):
        ref = ef.get("configMapRef") or ef.get("secretRef")
        kind = "ConfigMap" if "configMapRef" in ef else "Secret"
        (obj,) = k8s(kind, ref["name"])
        names.update(obj.get("data") or obj.get("stringData") or {})
    return names


def every_var_name():
    """(name, where) of every environment variable named in deploy/ and the Dockerfile."""
    out = []
    c = compose()
    for key, val in c.items():
        if key.startswith("x-") and isinstance(val, dict) and "env" in key:
            out += [(k, "compose.yaml " + key) for k in val]
    for sname, svc in c["services"].items():
        out += [(k, "compose.yaml services.%s.environment" % sname)
                for k in compose_service_env(svc)]
    out += [(k, "compose.yaml ${...}") for k in compose_interpolated_vars()]
    out += [(k, ".env.example") for k in env_example_vars()]
    for fname, d in k8s_objects():
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "nudge-env":
            out += [(k, fname + " nudge-env") for k in d["data"]]
        if d["kind"] in ("Deployment", "StatefulSet"):
            for ctr in d["spec"]["template"]["spec"]["containers"]:
                out += [(e["name"], "%s %s" % (fname, ctr["name"])) for e in ctr.get("env", [])]
    out += [(k, "Dockerfile ENV") for k in dockerfile_env()]
    # names in comments and prose: README and manifests' comments
    for p in [DEPLOY / "README.md"] + yaml_files():
        for m in re.finditer(r"\b((?:NUDGE|SENDGRID|POSTMARK|MAILGUN|TWILIO|VONAGE)_[A-Z0-9_]*[A-Z0-9])\b",
                             p.read_text()):
            out.append((m.group(1), str(p.relative_to(REPO))))
    return out


# ================================================================== tests

def test_every_yaml_file_parses():
    files = yaml_files()
    names = {str(p.relative_to(DEPLOY)) for p in files}
    for want in ("compose.yaml", "k8s/configmap.yaml", "k8s/secret.yaml",
                 "k8s/server-deployment.yaml", "k8s/service.yaml", "k8s/worker-deployment.yaml",
                 "k8s/hpa.yaml", "k8s/redis-statefulset.yaml"):
        assert want in names, "deploy/%s is missing" % want
    for p in files:
        docs = load_all(p)
        assert docs, "%s has no YAML document" % p
        for d in docs:
            assert isinstance(d, dict), "%s: a document is not a mapping" % p
            if p.parent == K8S:
                assert d.get("apiVersion") and d.get("kind") and d.get("metadata", {}).get("name"), \
                    "%s: a document lacks apiVersion/kind/metadata.name" % p


def _images(node, path=""):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "image" and isinstance(v, str):
                yield path + "." + k, v
            else:
                yield from _images(v, path + "." + str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _images(v, "%s[%d]" % (path, i))


def test_images_are_nudge_or_redis():
    seen = []
    for p in yaml_files():
        for d in load_all(p):
            for where, img in _images(d):
                img = interpolate(img)
                seen.append(img)
                assert IMAGE_OK.match(img), "%s%s: image %r is not nudge:<tag> or redis:<tag>" % (
                    p.relative_to(REPO), where, img)
    assert "nudge:dev" in seen and "redis:7" in seen, seen


def test_dockerfile_stages_and_runtime():
    stages = dockerfile_stages()
    assert len(stages) == 2, "want a build stage and a runtime stage"
    assert stages[0]["from"] == "debian:bookworm"
    assert stages[1]["from"] == "debian:bookworm-slim"
    rt = dict()
    for word, rest in stages[1]["lines"]:
        rt.setdefault(word, []).append(rest)
    runs = " ".join(rt.get("RUN", []))
    for lib in ("libevent-2.1-7", "libevent-pthreads-2.1-7", "libcurl4", "libjansson4",
                "libhiredis0.14", "libssl3", "ca-certificates", "tzdata", "curl"):
        assert re.search(r"(?<![\w.-])%s(?![\w.-])" % re.escape(lib), runs), "runtime lacks " + lib
    for tool in ("gcc", "make", "build-essential", "-dev "):
        assert tool not in runs + " ", "build tool %r in the runtime stage" % tool
    assert rt["USER"] == ["10001:10001"], "USER must be numeric (runAsNonRoot checks it)"
    assert rt["STOPSIGNAL"] == ["SIGTERM"]
    assert json.loads(rt["CMD"][-1]) == ["nudge-server"]
    (hc,) = rt["HEALTHCHECK"]
    assert "/healthz" in hc and "NUDGE_LISTEN" in hc
    assert any("--from=build /opt/nudge" in c for c in rt["COPY"])


def test_dockerfile_env_points_at_shipped_defaults():
    env = dockerfile_env()
    assert env["NUDGE_FLOWS_FILE"] == "/opt/nudge/share/nudge/config/flows.json"
    assert env["NUDGE_TEMPLATES_DIR"] == "/opt/nudge/share/nudge/templates"
    assert listen_port(env["NUDGE_LISTEN"]) == SERVER_PORT
    assert env["NUDGE_LISTEN"].startswith("0.0.0.0:")
    # `make install PREFIX=/opt/nudge` puts config/ and templates/ under share/nudge
    text = dockerfile()
    assert "make install PREFIX=/opt/nudge" in text
    assert re.search(r"COPY config config", text) and re.search(r"COPY templates templates", text)
    assert (REPO / "config" / "flows.json").is_file() and (REPO / "config" / "shops.example.json").is_file()


def test_dockerfile_exposes_every_port_used():
    exposed = dockerfile_expose()
    assert exposed == {SERVER_PORT, WORKER_METRICS_PORT}, exposed
    used = set()
    c = compose()
    for name, svc in c["services"].items():
        if not svc.get("image", "").startswith("nudge:"):
            continue
        for p in svc.get("ports", []):
            used.add(int(str(interpolate(p)).rsplit(":", 1)[1].split("/")[0]))
        used |= {int(p) for p in svc.get("expose", [])}
    for dep in k8s("Deployment"):
        used |= {p["containerPort"] for p in pod_container(dep)["ports"]}
    assert used == {SERVER_PORT, WORKER_METRICS_PORT}, used
    assert used <= exposed


def test_every_variable_exists_in_help():
    helpset = all_help_vars()
    bad = sorted({"%s (%s)" % (n, w) for n, w in every_var_name()
                  if CHECKED_VAR.match(n) and n not in TEST_ONLY and not known(n, helpset)})
    assert not bad, "not a setting of nudge-server or nudge-worker (--help): " + ", ".join(bad)


def test_each_service_gets_only_its_binarys_settings():
    c = compose()
    checked = 0
    for name, svc in c["services"].items():
        cmd = svc.get("command")
        if not cmd or cmd[0] not in ("nudge-server", "nudge-worker"):
            continue
        mine = help_vars(cmd[0])
        for var in compose_service_env(svc):
            if CHECKED_VAR.match(var):
                assert known(var, mine), "compose %s: %s is not a %s setting" % (name, var, cmd[0])
                checked += 1
    for dep in k8s("Deployment"):
        prog = pod_container(dep)["command"][0]
        mine = help_vars(prog)
        for var in k8s_container_env(dep):
            if CHECKED_VAR.match(var):
                assert known(var, mine), "%s: %s is not a %s setting" % (
                    dep["metadata"]["name"], var, prog)
                checked += 1
    assert checked > 40


def test_file_variants_are_read_by_the_binary(tmp_path):
    """Every *_FILE secret a deployment sets is one its binary reads."""
    _need_bin()
    pairs = set()
    for dep in k8s("Deployment"):
        prog = pod_container(dep)["command"][0]
        for var in k8s_container_env(dep):
            if var.endswith("_FILE") and var not in ("NUDGE_SHOPS_FILE", "NUDGE_FLOWS_FILE"):
                pairs.add((prog, var))
    assert ("nudge-worker", "SENDGRID_API_KEY_FILE") in pairs
    assert ("nudge-server", "NUDGE_ADMIN_TOKEN_FILE") in pairs
    for prog, var in sorted(pairs):
        assert reads_file_var(prog, var, tmp_path), "%s ignores %s" % (prog, var)
    # and the check itself can fail: a non-secret's _FILE is not read
    assert not reads_file_var("nudge-worker", "NUDGE_LOG_LEVEL_FILE", tmp_path)


def test_env_example_and_compose_name_the_same_variables():
    documented = env_example_vars()
    assert len(documented) == len(set(documented)), "duplicates in .env.example"
    c = compose()
    passthrough = set()
    for key, val in c.items():
        if key.startswith("x-") and isinstance(val, dict) and "env" in key:
            passthrough |= {k for k, v in val.items() if v is None}
    for svc in c["services"].values():
        passthrough |= {k for k, v in compose_service_env(svc).items() if v is None}
    used = passthrough | compose_interpolated_vars()
    assert set(documented) - used == set(), "documented in .env.example, unused by compose.yaml"
    assert used - set(documented) == set(), "read by compose.yaml, undocumented in .env.example"
    # a pass-through and its fixed value would contradict each other
    fixed = re.findall(r"^#   (NUDGE_[A-Z_]+) ", (DEPLOY / ".env.example").read_text(), re.M)
    assert "NUDGE_GRACE_MS" in fixed and not set(fixed) & set(documented)


def test_compose_services():
    c = compose()
    s = c["services"]
    assert set(s) == {"redis", "server", "worker"}
    r = s["redis"]
    assert r["image"] == "redis:7"
    cmd = [str(x) for x in r["command"]]
    assert cmd[0] == "redis-server"
    assert cmd[cmd.index("--appendonly") + 1] == "yes"
    assert cmd[cmd.index("--appendfsync") + 1] == "everysec"
    assert cmd[cmd.index("--maxmemory-policy") + 1] == "noeviction"
    vol = r["volumes"][0].split(":")
    assert vol[1] == "/data" and vol[0] in c["volumes"], "redis needs a named volume at /data"
    assert "redis-cli" in r["healthcheck"]["test"]

    for name in ("server", "worker"):
        svc = s[name]
        assert svc["command"][0] == "nudge-" + name
        assert svc["depends_on"]["redis"]["condition"] == "service_healthy"
        env = compose_service_env(svc)
        assert env["NUDGE_REDIS_URL"] == "redis://redis:6379/0"
        mount = [m for m in svc["volumes"] if isinstance(m, dict)][0]
        assert mount["target"] == env["NUDGE_SHOPS_FILE"] == "/etc/nudge/shops.json"
        assert mount["read_only"] is True
        src = DEPLOY / interpolate(mount["source"])
        assert src == DEPLOY / "shops.example.json" and src.is_file()
        shops = json.loads(src.read_text())
        assert shops and all(x.get("domain") and x.get("secret") for x in shops)

    server, worker = s["server"], s["worker"]
    assert interpolate(server["ports"][0]) == "8080:8080"
    assert listen_port(compose_service_env(server)["NUDGE_LISTEN"]) == SERVER_PORT
    assert worker["deploy"]["replicas"] == 3
    assert "ports" not in worker, "replicas cannot share a published port"


def _compose_probe(svc):
    test = svc["healthcheck"]["test"]
    assert test[0] == "CMD" and test[1] == "curl", test
    url = test[-1]
    m = re.match(r"^http://127\.0\.0\.1:(\d+)(/\S*)$", url)
    assert m, url
    return int(m.group(1)), m.group(2)


def _seconds(s):
    m = re.match(r"^(\d+)(ms|s|m)$", str(s))
    assert m, s
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60}[m.group(2)]


def test_compose_health_ports_and_grace():
    s = compose()["services"]
    server, worker = s["server"], s["worker"]
    port, path = _compose_probe(server)
    assert (port, path) == (SERVER_PORT, "/readyz")
    port, path = _compose_probe(worker)
    assert (port, path) == (WORKER_METRICS_PORT, "/healthz")
    wenv = compose_service_env(worker)
    assert listen_port(wenv["NUDGE_WORKER_METRICS_LISTEN"]) == port
    assert wenv["NUDGE_WORKER_METRICS_LISTEN"].startswith("0.0.0.0:")
    assert [int(p) for p in worker["expose"]] == [port]
    assert port in dockerfile_expose()
    grace_ms = int(wenv["NUDGE_GRACE_MS"])
    assert _seconds(worker["stop_grace_period"]) >= grace_ms / 1000 + 5
    assert _seconds(server["stop_grace_period"]) >= 5


def test_commands_name_real_binaries():
    _need_bin()
    cmds = []
    for name, svc in compose()["services"].items():
        if svc.get("image", "").startswith("nudge:"):
            cmds.append(("compose " + name, svc["command"][0]))
    for dep in k8s("Deployment"):
        cmds.append((dep["metadata"]["name"], pod_container(dep)["command"][0]))
    assert len(cmds) == 4
    for where, prog in cmds:
        assert prog in PROGS, "%s runs %r, not a nudge binary" % (where, prog)
        assert (BIN / prog).is_file(), "%s: %s not built" % (where, prog)
        p = subprocess.run([str(BIN / prog), "--version"], capture_output=True, text=True, timeout=10)
        assert p.returncode == 0 and prog in p.stdout, (where, p.stdout, p.stderr)
    assert dockerfile_stages()[-1]["lines"][-1] == ("CMD", '["nudge-server"]')


# ------------------------------------------------------------------ kubernetes

def _port_number(container, port):
    if isinstance(port, int):
        return port
    names = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert port in names, "port %r is not a named containerPort" % port
    return names[port]


def _http_probes(container):
    out = {}
    for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
        pr = container.get(kind)
        if pr:
            g = pr["httpGet"]
            out[kind] = (g["path"], _port_number(container, g["port"]))
    return out


def test_k8s_probes():
    exposed = dockerfile_expose()
    for dep in k8s("Deployment"):
        c = pod_container(dep)
        cports = {p["containerPort"] for p in c["ports"]}
        probes = _http_probes(c)
        assert "readinessProbe" in probes and "livenessProbe" in probes
        for kind, (path, port) in probes.items():
            assert path in PROBE_PATHS, "%s %s path %s" % (dep["metadata"]["name"], kind, path)
            assert port in cports and port in exposed, (dep["metadata"]["name"], kind, port)
    server = pod_container(deployment("nudge-server"))
    assert _http_probes(server) == {"readinessProbe": ("/readyz", SERVER_PORT),
                                    "livenessProbe": ("/healthz", SERVER_PORT)}
    assert listen_port(k8s_container_env(deployment("nudge-server"))["NUDGE_LISTEN"]) == SERVER_PORT
    worker = pod_container(deployment("nudge-worker"))
    assert _http_probes(worker) == {"readinessProbe": ("/healthz", WORKER_METRICS_PORT),
                                    "livenessProbe": ("/healthz", WORKER_METRICS_PORT)}


def test_k8s_worker_metrics_port_matches_listen():
    dep = deployment("nudge-worker")
    c = pod_container(dep)
    listen = k8s_container_env(dep)["NUDGE_WORKER_METRICS_LISTEN"]
    assert listen.startswith("0.0.0.0:"), "the kubelet and Prometheus come from outside the pod"
    port = listen_port(listen)
    assert port == WORKER_METRICS_PORT
    assert [p["containerPort"] for p in c["ports"]] == [port]
    ann = dep["spec"]["template"]["metadata"]["annotations"]
    assert ann["prometheus.io/scrape"] == "true"
    assert int(ann["prometheus.io/port"]) == port
    assert ann["prometheus.io/path"] == "/metrics"
    sann = deployment("nudge-server")["spec"]["template"]["metadata"]["annotations"]
    assert int(sann["prometheus.io/port"]) == SERVER_PORT


def test_k8s_grace_replicas_resources_security():
    server, worker = deployment("nudge-server"), deployment("nudge-worker")
    assert server["spec"]["replicas"] == 2
    assert worker["spec"]["replicas"] == 3
    grace_ms = int(k8s_container_env(worker)["NUDGE_GRACE_MS"])
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > grace_ms / 1000
    assert server["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 10
    for dep in (server, worker):
        spec = dep["spec"]["template"]["spec"]
        assert dep["spec"]["selector"]["matchLabels"].items() <= \
            dep["spec"]["template"]["metadata"]["labels"].items()
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] == 10001
        c = pod_container(dep)
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
        for k in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(c["resources"][k]), (dep["metadata"]["name"], k)
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        vols = {v["name"]: v for v in spec["volumes"]}
        assert "emptyDir" in vols[mounts["/var/lib/nudge"]], "/var/lib/nudge must be writable"
        assert set(mounts.values()) <= set(vols), "a volumeMount names no volume"


def _mounted_file(dep, path):
    """The (volume, key) a file path inside the container comes from."""
    spec = dep["spec"]["template"]["spec"]
    c = pod_container(dep)
    vols = {v["name"]: v for v in spec["volumes"]}
    for m in c["volumeMounts"]:
        mp = m["mountPath"].rstrip("/") + "/"
        if path.startswith(mp):
            return vols[m["name"]], path[len(mp):]
    raise AssertionError("%s: %s is on no volume" % (dep["metadata"]["name"], path))


def _source_keys(vol, rel):
    """Check that rel exists in the Secret/ConfigMap behind vol."""
    if "secret" in vol:
        src, kind, name = vol["secret"], "Secret", vol["secret"]["secretName"]
    elif "configMap" in vol:
        src, kind, name = vol["configMap"], "ConfigMap", vol["configMap"]["name"]
    else:
        raise AssertionError("volume %s is neither Secret nor ConfigMap" % vol["name"])
    (obj,) = k8s(kind, name)
    keys = set(obj.get("data") or {}) | set(obj.get("stringData") or {})
    if "items" in src:
        paths = {i["path"]: i["key"] for i in src["items"]}
        assert set(paths.values()) <= keys, "%s %s lacks %s" % (kind, name, set(paths.values()) - keys)
        assert rel in paths, "%s: no item with path %s" % (vol["name"], rel)
        return obj, paths[rel]
    assert rel in keys, "%s %s has no key %s" % (kind, name, rel)
    return obj, rel


def test_k8s_files_and_secrets_are_mounted():
    env_cm = k8s("ConfigMap", "nudge-env")[0]["data"]
    for name in ("nudge-server", "nudge-worker"):
        dep = deployment(name)
        env = dict(k8s_envfrom_vars(dep))
        env.update(k8s_container_env(dep))
        file_vars = {k: v for k, v in env.items() if k.endswith("_FILE")}
        assert "NUDGE_SHOPS_FILE" in file_vars and "NUDGE_FLOWS_FILE" in file_vars
        for var, path in file_vars.items():
            vol, rel = _mounted_file(dep, path)
            obj, key = _source_keys(vol, rel)
            if var == "NUDGE_SHOPS_FILE":
                shops = json.loads(obj["stringData"][key])
                assert shops and all(s["domain"] and s["secret"] for s in shops)
            if var == "NUDGE_FLOWS_FILE":
                got = json.loads(obj["data"][key])
                want = json.loads((REPO / "config" / "flows.json").read_text())
                assert got == want, ("deploy/k8s/configmap.yaml's flows.json differs from "
                                     "config/flows.json; copy it over (see the comment there)")
        # secrets only as files, never as plain values in the manifests
        for var in env:
            assert var not in ("SENDGRID_API_KEY", "NUDGE_ADMIN_TOKEN", "NUDGE_WEBHOOK_SECRET",
                               "NUDGE_UNSUBSCRIBE_SECRET"), "%s: %s in plain env" % (name, var)
    assert {"NUDGE_ADMIN_TOKEN_FILE", "NUDGE_UNSUBSCRIBE_SECRET_FILE"} <= \
        set(k8s_container_env(deployment("nudge-server")))
    assert {"SENDGRID_API_KEY_FILE", "NUDGE_WEBHOOK_SECRET_FILE", "NUDGE_UNSUBSCRIBE_SECRET_FILE"} <= \
        set(k8s_container_env(deployment("nudge-worker")))
    (secret,) = k8s("Secret", "nudge-secrets")
    assert set(secret["stringData"]) == {"sendgrid-api-key", "webhook-secret", "admin-token",
                                         "unsubscribe-secret", "shops.json"}
    assert secret["stringData"]["webhook-secret"].startswith("whsec_")
    # Redis URL points at the Service redis-statefulset.yaml makes
    (svc,) = [s for s in k8s("Service") if s["spec"].get("clusterIP") == "None"]
    assert env_cm["NUDGE_REDIS_URL"] == "redis://%s:6379/0" % svc["metadata"]["name"]


def test_k8s_templates_one_projected_volume_per_locale():
    dep = deployment("nudge-worker")
    env = dict(k8s_envfrom_vars(dep))
    env.update(k8s_container_env(dep))
    tdir = env["NUDGE_TEMPLATES_DIR"].rstrip("/")
    locales = sorted(p.name for p in (REPO / "templates").iterdir() if p.is_dir())
    assert locales, "no templates/<locale>/"
    spec = dep["spec"]["template"]["spec"]
    vols = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in pod_container(dep)["volumeMounts"]}
    for loc in locales:
        vol = vols[mounts["%s/%s" % (tdir, loc)]]
        (src,) = vol["projected"]["sources"]
        assert src["configMap"]["name"] == "nudge-templates-" + loc
    assert "kubectl" in (K8S / "configmap.yaml").read_text() and \
        "create configmap" in (K8S / "configmap.yaml").read_text()


def test_k8s_service_hpa_redis():
    (svc,) = k8s("Service", "nudge-server")
    assert svc["spec"]["type"] == "ClusterIP"
    (port,) = svc["spec"]["ports"]
    server = deployment("nudge-server")
    assert port["port"] == SERVER_PORT
    assert _port_number(pod_container(server), port["targetPort"]) == SERVER_PORT
    assert svc["spec"]["selector"].items() <= server["spec"]["template"]["metadata"]["labels"].items()
    worker_labels = deployment("nudge-worker")["spec"]["template"]["metadata"]["labels"]
    assert not svc["spec"]["selector"].items() <= worker_labels.items(), "Service selects workers"

    (hpa,) = k8s("HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "nudge-worker"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 20)
    (m,) = hpa["spec"]["metrics"]
    assert m["resource"]["name"] == "cpu"
    assert "nudge_due_messages" in (K8S / "hpa.yaml").read_text()

    (sts,) = k8s("StatefulSet", "redis")
    (c,) = sts["spec"]["template"]["spec"]["containers"]
    assert c["image"] == "redis:7"
    args = [str(a) for a in c["command"]]
    assert args[args.index("--appendonly") + 1] == "yes"
    assert args[args.index("--maxmemory-policy") + 1] == "noeviction"
    (vct,) = sts["spec"]["volumeClaimTemplates"]
    assert {m["name"]: m["mountPath"] for m in c["volumeMounts"]}[vct["metadata"]["name"]] == "/data"
    (hl,) = k8s("Service", sts["spec"]["serviceName"])
    assert hl["spec"]["clusterIP"] == "None"
    assert hl["spec"]["selector"].items() <= sts["spec"]["template"]["metadata"]["labels"].items()


def test_readme_mentions_scaling_and_bench():
    text = (DEPLOY / "README.md").read_text()
    assert "--scale worker=5" in text and "--scale worker=5" in (DEPLOY / "compose.yaml").read_text()
    assert "make bench" in text


def test_template_locales_fit_one_configmap_each():
    """`kubectl create configmap nudge-templates-<locale> --from-file=templates/<locale>/`
    works only with valid key names and under the 1 MiB object limit."""
    locales = [p for p in (REPO / "templates").iterdir() if p.is_dir()]
    assert locales
    for loc in locales:
        files = [f for f in loc.iterdir() if f.is_file()]
        assert files, loc
        for f in files:
            assert re.match(r"^[-._a-zA-Z0-9]+$", f.name), "%s: not a ConfigMap key" % f
        total = sum(f.stat().st_size for f in files)
        assert total < 900 * 1024, "%s: %d bytes, too close to a ConfigMap's 1 MiB" % (loc, total)
