"""`--follow ... --metrics-port`: the deploy/ manifests' command, run here against a fake /var/log/containers tree.

The command is taken from deploy/daemonset.yaml as it stands (and must be the one docs/fleet-live.md shows); only
the folder and the port are changed, to a temporary tree and 127.0.0.1 with a free port. The process is stopped in
`finally` whatever happens, and every wait is bounded.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from logclassify.follow.metrics import parse_listen

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "corpus"
DEPLOY = ROOT / "deploy"
DOCS = ROOT / "docs" / "fleet-live.md"
CRI = b"2024-06-10T21:32:17.123456789Z stderr F "


def manifest_args(name: str, container: str) -> list[str]:
    """The logclassify container's command line in a manifest of deploy/."""
    for doc in yaml.safe_load_all((DEPLOY / name).read_text(encoding="utf-8")):
        if doc and doc.get("kind") in ("DaemonSet", "Deployment"):
            for c in doc["spec"]["template"]["spec"]["containers"]:
                if c["name"] == container:
                    return [*c["command"], *c["args"]]
    raise AssertionError(f"deploy/{name}: no container {container!r}")


def test_the_docs_show_the_manifests_commands() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name in ("daemonset.yaml", "sidecar.yaml"):
        command = shlex.join(manifest_args(name, "logclassify"))
        assert command in text, f"docs/fleet-live.md does not show deploy/{name}'s command: {command}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/fleet-live.md" in readme


def test_the_alerts_use_metrics_the_command_exports() -> None:
    """Each alert of deploy/prometheus-rule.yaml names only metric families that logclassify serves."""
    from logclassify.follow import metrics

    source = Path(metrics.__file__).read_text(encoding="utf-8")
    exported = {m + ("_total" if kind == "Counter" else "")
                for kind, m in re.findall(r'(Counter|Gauge)MetricFamily\(\s*"(logclassify_\w+)"', source)}
    rule = yaml.safe_load((DEPLOY / "prometheus-rule.yaml").read_text(encoding="utf-8"))
    assert rule["kind"] == "PrometheusRule"
    alerts = {r["alert"]: r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]}
    assert {"VllmStartupHung", "VllmCauseFired", "VllmNcclTimeout"} <= set(alerts)
    for name, expr in alerts.items():
        used = set(re.findall(r"logclassify_\w+", expr))
        assert used and used <= exported, f"{name} uses {used - exported}, not exported ({sorted(exported)})"


def test_listen_spec() -> None:
    assert parse_listen("9435") == ("0.0.0.0", 9435)
    assert parse_listen("127.0.0.1:0") == ("127.0.0.1", 0)
    assert parse_listen("[::1]:9435") == ("::1", 9435)
    for bad in ("", "x", "70000", "1.2.3.4:", ":80", "9435 9436"):
        with pytest.raises(ValueError, match="--metrics-port"):
            parse_listen(bad)


def test_nothing_in_the_core_imports_prometheus_client(tmp_path: Path) -> None:
    """Only follow/metrics.py imports it, inside functions; a scan and a follow without the flag never load it."""
    package = ROOT / "logclassify"
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n.split(".")[0] == "prometheus_client" for n in names):
                if path.is_relative_to(package / "serve"):  # the optional service, loaded only by `logclassify
                    continue  # serve` (tests/test_serve_api.py checks that a scan never loads it)
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                assert path == package / "follow" / "metrics.py", f"{where} imports prometheus_client"
                assert id(node) not in top, f"{where}: import prometheus_client inside the function that needs it"
    log = tmp_path / "x.log"
    log.write_text("RuntimeError: CUDA error: out of memory\n")
    code = f"""
import sys, io
from logclassify.cli import main
for args in ([{str(log)!r}, "--format", "json"], ["--follow", "-", "--format", "jsonl"]):
    sys.stdin = io.TextIOWrapper(io.BytesIO(open({str(log)!r}, "rb").read()))
    try:
        main(args)
    except SystemExit:
        pass
import logclassify.follow
print("prometheus_client" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path,
                         timeout=120).stdout.strip().splitlines()
    assert out[-1] == "False"


# -- the command, live ------------------------------------------------------------------------------------------


class Command:
    """The command in its own process group; stdout (JSON events) and stderr (notices) read by threads."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "logclassify", *args[1:]], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True, cwd=ROOT)
        self.events: list[dict[str, object]] = []
        self.notices: list[str] = []
        for stream, sink in ((self.proc.stdout, self.events), (self.proc.stderr, self.notices)):
            threading.Thread(target=self._read, args=(stream, sink), daemon=True).start()

    @staticmethod
    def _read(stream: object, sink: list[object]) -> None:
        for raw in stream:  # type: ignore[attr-defined]
            text = raw.decode()
            sink.append(json.loads(text) if text.startswith("{") else text.strip())

    def wait(self, what: str, ok: Callable[[], object], timeout: float = 30.0) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = ok()
            if got:
                return got
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"{what}: not within {timeout}s (exit {self.proc.poll()}); notices: {self.notices}; "
                             f"events: {[e.get('source') for e in self.events]}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                return self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.wait()


def scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        text = resp.read().decode()
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line.startswith("logclassify_")}


def cri(name: str) -> bytes:
    return b"".join(CRI + raw for raw in (CORPUS / name).read_bytes().splitlines(keepends=True))


def ids_by_source(events: list[dict[str, object]]) -> list[tuple[str, str]]:
    return [(str(e["source"]).rsplit("/", 1)[-1].split("_")[0], e["diagnosis"]["id"])  # type: ignore[index]
            for e in events if isinstance(e.get("diagnosis"), dict)]


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.exists(), reason="../shared/corpus is not available")
def test_the_daemonset_command_follows_a_changing_tree_and_serves_metrics(tmp_path: Path) -> None:
    pytest.importorskip("prometheus_client", reason="the metrics extra is not installed (CI installs it)")
    args = manifest_args("daemonset.yaml", "logclassify")
    pattern = next(a for a in args if a.startswith("/var/log/containers/"))
    containers, pods = tmp_path / "var/log/containers", tmp_path / "var/log/pods"
    containers.mkdir(parents=True)
    port_at = args.index("--metrics-port") + 1
    args = [str(containers / Path(pattern).name) if a == pattern else a for a in args]
    args[port_at] = "127.0.0.1:0"

    def pod(name: str, text: bytes) -> Path:
        """A container log as kubelet lays it out: the file under pods/, a link to it under containers/."""
        real = pods / f"default_{name}_0000" / "vllm" / "0.log"
        real.parent.mkdir(parents=True, exist_ok=True)
        real.write_bytes(text)
        (containers / f"{name}_default_vllm-{'c' * 64}.log").symlink_to(real)
        return real

    a = pod("vllm-a", cri("seed-cuda-oom-4.log"))
    (containers / f"redis-0_default_redis-{'d' * 64}.log").write_bytes(cri("beyond-nccl-timeout-1.log"))
    cmd = Command(args)
    try:
        notice = cmd.wait("the metrics address", lambda: next((n for n in cmd.notices if "serving metrics" in n), ""))
        url = str(notice).rsplit(" ", 1)[-1]
        assert url.startswith("http://127.0.0.1:")
        key = 'source="default/vllm-a/vllm"'
        cmd.wait("cuda-oom in the metrics", lambda: scrape(url).get(
            f'logclassify_diagnoses_total{{id="cuda-oom",severity="error",{key}}}'))
        b = pod("vllm-b", cri("beyond-nccl-timeout-1.log"))  # a pod that starts later
        cmd.wait("the new pod's nccl-timeout", lambda: ("vllm-b", "nccl-timeout") in ids_by_source(cmd.events))

        a.rename(a.with_name("0.log.20240610-213217"))  # kubelet rotates: moved away, the runtime opens a new 0.log
        a.write_bytes(cri("beyond-port-in-use-1.log"))
        cmd.wait("port-in-use after rotation", lambda: ("vllm-a", "port-in-use") in ids_by_source(cmd.events))
        b.write_bytes(cri("beyond-kv-cache-insufficient-3.log")[:4096])  # truncated and rewritten
        cmd.wait("kv-cache-insufficient after truncation",
                 lambda: ("vllm-b", "kv-cache-insufficient") in ids_by_source(cmd.events))

        metrics = scrape(url)
        assert metrics[f"logclassify_lines_read_total{{{key}}}"] == cri("seed-cuda-oom-4.log").count(b"\n") + \
            cri("beyond-port-in-use-1.log").count(b"\n")
        assert metrics["logclassify_sources"] == 2.0  # redis is not a vllm-* file
        for link in containers.glob("vllm-a_*"):  # the pod is deleted: its log and link go
            link.unlink()
        a.unlink()
        cmd.wait("the deleted pod forgotten", lambda: scrape(url).get("logclassify_sources_forgotten_total"))
        assert scrape(url)["logclassify_sources"] == 1.0
        time.sleep(2.5)  # quiet: nothing may be reported again
    finally:
        rc = cmd.stop()
    assert rc == 0, cmd.notices
    found = ids_by_source(cmd.events)
    assert sorted(found) == sorted(set(found)), f"a diagnosis reported twice: {found}"
    assert {("vllm-a", "cuda-oom"), ("vllm-a", "port-in-use"), ("vllm-b", "nccl-timeout"),
            ("vllm-b", "kv-cache-insufficient")} <= set(found)
    assert not any(s == "redis-0" for s, _ in found)
    assert not any("Traceback" in n for n in cmd.notices)


@pytest.mark.slow
@pytest.mark.skipif(not CORPUS.exists(), reason="../shared/corpus is not available")
def test_the_sidecar_command_follows_its_file(tmp_path: Path) -> None:
    pytest.importorskip("prometheus_client", reason="the metrics extra is not installed (CI installs it)")
    args = manifest_args("sidecar.yaml", "logclassify")
    log = tmp_path / "vllm.log"
    args = [str(log) if a == "/logs/vllm.log" else a for a in args]
    args[args.index("--metrics-port") + 1] = "127.0.0.1:0"
    cmd = Command(args)
    try:
        log.write_bytes((CORPUS / "beyond-nccl-timeout-1.log").read_bytes())
        notice = cmd.wait("the metrics address", lambda: next((n for n in cmd.notices if "serving metrics" in n), ""))
        url = str(notice).rsplit(" ", 1)[-1]
        cmd.wait("nccl-timeout in the metrics", lambda: scrape(url).get(
            f'logclassify_diagnoses_total{{id="nccl-timeout",severity="error",source="{log}"}}'))
    finally:
        assert cmd.stop() == 0, cmd.notices


def test_the_collector_exports_phases_and_counts_of_live_sources_only() -> None:
    pytest.importorskip("prometheus_client", reason="the metrics extra is not installed (CI installs it)")
    from logclassify import default_classifier
    from logclassify.follow import FollowOptions, Hub
    from logclassify.follow.metrics import HubCollector
    from logclassify.follow.watch import Gone

    now = [1000.0]
    hub = Hub(default_classifier(), FollowOptions(), lambda _ev: None, keep_s=60, clock=lambda: now[0],
              wallclock=lambda: now[0])
    startup = (ROOT / "fixtures/startup/model-load-hang-nfs-30s-per-shard.log").read_bytes().splitlines(keepends=True)
    pod = f"vllm-0_prod_vllm-{'e' * 64}.log"
    hub.handle(pod, startup)
    for _ in range(5):
        now[0] += 1
        hub.handle(None, None)
    collector = HubCollector(wallclock=lambda: now[0])
    collector.hub = hub

    def samples() -> dict[str, list[tuple[dict[str, str], float]]]:
        return {m.name: [(s.labels, s.value) for s in m.samples if not s.name.endswith("_created")]
                for m in collector.collect()}

    got = samples()
    ((labels, value),) = got["logclassify_startup_phase"]
    assert (labels, value) == ({"source": "prod/vllm-0/vllm", "phase": "load_weights", "status": "running"}, 1)
    ((_, seconds),) = got["logclassify_startup_phase_seconds"]
    assert 0 < seconds <= 5
    assert got["logclassify_lines_read"] == [({"source": "prod/vllm-0/vllm"}, float(len(startup)))]
    assert got["logclassify_sources"] == [({}, 1.0)]
    hub.handle(pod, Gone())
    got = samples()
    assert got["logclassify_startup_phase"] == [] and got["logclassify_silent_seconds"] == []  # forgotten at once
    assert got["logclassify_lines_read"] and got["logclassify_sources_forgotten"] == [({}, 1.0)]
    now[0] += 61
    hub.handle(None, None)
    assert samples()["logclassify_lines_read"] == []  # the counters too, keep_s later


@pytest.mark.skipif(not CORPUS.exists(), reason="../shared/corpus is not available")
def test_the_command_reads_fluent_bit_records_on_stdin() -> None:
    """`fluent-bit ... | logclassify --follow - --format jsonl`: each pod's diagnosis, with the pod as its source."""
    records = []
    for pod, name in (("vllm-0", "seed-cuda-oom-4.log"), ("vllm-1", "beyond-port-in-use-1.log")):
        for line in (CORPUS / name).read_text(encoding="utf-8").splitlines():
            records.append({"date": 1718055137.1, "log": line + "\n", "stream": "stderr",
                            "kubernetes": {"pod_name": pod, "namespace_name": "prod", "container_name": "vllm"}})
    records.sort(key=lambda r: str(r["log"]))  # interleaved
    stdin = b"".join(json.dumps(r).encode() + b"\n" for r in records)
    proc = subprocess.run([sys.executable, "-m", "logclassify", "--follow", "-", "--format", "jsonl"], input=stdin,
                          capture_output=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr.decode()
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert sorted((e["source"], e["diagnosis"]["id"]) for e in events if "diagnosis" in e) == [
        ("prod/vllm-0/vllm", "cuda-oom"), ("prod/vllm-1/vllm", "port-in-use")]
