"""The HTTP service through a real HTTP client: the app in-process (starlette's TestClient drives it over ASGI),
and a real `logclassify serve` on 127.0.0.1 answering concurrent requests exactly as the command does."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, ROOT, must_exist, run_cli
from tests.serve_support import need_serve_extra, serve

need_serve_extra()

from fastapi.testclient import TestClient  # noqa: E402

from logclassify import Classifier  # noqa: E402
from logclassify.serve.app import create_app  # noqa: E402
from logclassify.serve.settings import Settings, parse_size  # noqa: E402

HF = "hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ012345"
SERVER_LOG = must_exist(ROOT / "examples" / "server.log")
ISSUE = must_exist(ROOT / "examples" / "issue-example.md")
TEXT = {"content-type": "text/plain"}
_CLASSIFIER: list[Classifier] = []


def classifier() -> Classifier:
    if not _CLASSIFIER:
        _CLASSIFIER.append(Classifier())
    return _CLASSIFIER[0]


def client(**settings: Any) -> TestClient:
    return TestClient(create_app(settings.pop("classifier", None) or classifier(), Settings(**settings)))


@pytest.fixture(scope="module")
def api() -> Iterator[TestClient]:
    with client() as c:
        yield c


def secret_log() -> bytes:
    """A hub failure whose evidence line holds a token and an address."""
    return (
        f"$ docker run -e HF_TOKEN={HF} vllm/vllm-openai:v0.8.3\n"
        "Traceback (most recent call last):\n"
        '  File "/usr/lib/python3.12/site-packages/huggingface_hub/utils/_http.py", line 409, in hf_raise_for_status\n'
        "    response.raise_for_status()\n"
        "requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: "
        f"https://user:{HF}@huggingface.co/meta-llama/Llama-3-8B/resolve/main/config.json (proxy 10.1.2.3:3128)\n"
    ).encode()


def without_source(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "source"}


# -- bodies and content types --------------------------------------------------------------------------------


def test_text_body_gives_the_report_of_the_command(api: TestClient) -> None:
    r = api.post("/v1/classify", content=SERVER_LOG.read_bytes(), headers=TEXT)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    cli = run_cli("--format", "json", str(SERVER_LOG))
    assert without_source(r.json()) == without_source(json.loads(cli.stdout))
    assert r.json()["source"] == "<request>"
    assert r.json()["diagnoses"][0]["id"] == "nccl-system-error-init"


@pytest.mark.parametrize("headers", [
    {"content-type": "text/plain", "content-encoding": "gzip"},
    {"content-type": "application/gzip"},
    {"content-type": "application/x-gzip"},
    {"content-type": "application/octet-stream"},  # recognised by gzip's magic bytes
])
def test_gzip_bodies(api: TestClient, headers: dict[str, str]) -> None:
    plain = api.post("/v1/classify", content=SERVER_LOG.read_bytes(), headers=TEXT).json()
    r = api.post("/v1/classify", content=gzip.compress(SERVER_LOG.read_bytes()), headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == plain


def test_damaged_gzip_is_read_up_to_the_damage(api: TestClient) -> None:
    whole = gzip.compress(SERVER_LOG.read_bytes() * 50)
    r = api.post("/v1/classify", content=whole[: len(whole) // 2], headers={"content-type": "application/gzip"})
    assert r.status_code == 200, r.text
    assert "gzip" in r.json()["error"] and r.json()["lines"] > 0


def test_json_body_and_its_options(api: TestClient) -> None:
    text = secret_log().decode()
    r = api.post("/v1/classify", json={"text": text, "source": "node-3.log"})
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "node-3.log" and r.json()["diagnoses"]
    gz = api.post("/v1/classify", content=gzip.compress(json.dumps({"text": text}).encode()),
                  headers={"content-type": "application/json", "content-encoding": "gzip"})
    assert gz.status_code == 200 and without_source(gz.json()) == without_source(r.json())


def test_markdown_reply_on_accept(api: TestClient) -> None:
    r = api.post("/v1/classify", content=SERVER_LOG.read_bytes(),
                 headers={**TEXT, "accept": "text/markdown, application/json;q=0.5"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
    cli = run_cli("--format", "markdown", str(SERVER_LOG)).stdout.decode()
    assert r.text.replace("<request>", str(SERVER_LOG)) == cli
    assert api.post("/v1/classify", content=b"x\n", headers={**TEXT, "accept": "application/json, text/markdown"}
                    ).headers["content-type"] == "application/json"


def test_issue_body(api: TestClient) -> None:
    body = ISSUE.read_text(encoding="utf-8")
    cli = json.loads(run_cli("--format", "json", str(ISSUE)).stdout)
    for r in (api.post("/v1/classify-issue", content=body.encode(), headers={"content-type": "text/markdown"}),
              api.post("/v1/classify-issue", json={"body": body}),
              api.post("/v1/classify", content=body.encode(), headers=TEXT)):  # sniffed, like the command's stdin
        assert r.status_code == 200, r.text
        assert without_source(r.json()) == without_source(cli)
    assert cli["diagnoses"], "the example issue should name a cause"


# -- redaction ------------------------------------------------------------------------------------------------


def test_redaction_is_on_by_default(api: TestClient) -> None:
    r = api.post("/v1/classify", content=secret_log(), headers=TEXT)
    assert r.status_code == 200
    assert HF not in r.text and "<redacted>" in r.text
    assert "10.1.2.3" in r.text  # hosts are kept unless asked
    hosts = api.post("/v1/classify?redact_hosts=true", content=secret_log(), headers=TEXT)
    assert HF not in hosts.text and "10.1.2.3" not in hosts.text
    raw = api.post("/v1/classify?redact=false", content=secret_log(), headers=TEXT)
    assert HF in raw.text
    as_json = api.post("/v1/classify", json={"text": secret_log().decode()})
    assert HF not in as_json.text
    assert HF in api.post("/v1/classify", json={"text": secret_log().decode(), "redact": False}).text


# -- clear refusals --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "headers", "status", "says"), [
    (b'{"text": ', {"content-type": "application/json"}, 400, "not valid JSON"),
    (b'{"txt": "x"}', {"content-type": "application/json"}, 400, "text: Field required"),
    (b'{"text": "x", "redact": "perhaps"}', {"content-type": "application/json"}, 400, "redact:"),
    (b'["x"]', {"content-type": "application/json"}, 400, "must be an object"),
    (b"x", {"content-type": "multipart/form-data; boundary=z"}, 415, "text/plain"),
    (b"x", {"content-type": "image/png"}, 415, "application/gzip"),
    (b"x", {}, 415, "without a Content-Type"),
    (b"x", {"content-type": "text/plain", "content-encoding": "br"}, 415, "Content-Encoding 'br'"),
])
def test_bad_requests_are_named(api: TestClient, body: bytes, headers: dict[str, str], status: int, says: str) -> None:
    r = api.post("/v1/classify", content=body, headers=headers)
    assert r.status_code == status, r.text
    assert says in r.json()["error"] and r.json()["status"] == status


def test_bad_query_is_400_without_echo(api: TestClient) -> None:
    r = api.post("/v1/classify?redact=perhaps", content=b"x", headers=TEXT)
    assert r.status_code == 400 and "redact" in r.json()["error"] and "perhaps" not in r.text


def test_errors_never_echo_the_body(api: TestClient) -> None:
    r = api.post("/v1/classify", content=f'{{"text": "{HF}", "redcat": true}}'.encode(),
                 headers={"content-type": "application/json"})
    assert r.status_code == 400 and "redcat" in r.text and HF not in r.text


def test_body_limit_names_the_limit() -> None:
    with client(max_body=parse_size("1M")) as c:
        assert c.post("/v1/classify", content=b"x\n" * 400_000, headers=TEXT).status_code == 200
        r = c.post("/v1/classify", content=b"x\n" * 600_000, headers=TEXT)
        assert r.status_code == 413 and "1 MiB" in r.json()["error"] and "--max-body" in r.json()["error"]

        def chunked() -> Iterator[bytes]:  # no Content-Length: counted while reading
            for _ in range(20):
                yield b"y" * 100_000 + b"\n"

        r = c.post("/v1/classify", content=chunked(), headers=TEXT)
        assert r.status_code == 413 and "1 MiB" in r.text


def test_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(b"\n" * (8 << 20))  # 8 MiB of newlines in a few KiB
    with client(max_inflated=parse_size("4M")) as c:
        r = c.post("/v1/classify", content=bomb, headers={"content-type": "application/gzip"})
        assert r.status_code == 413 and "inflates" in r.json()["error"] and "4 MiB" in r.json()["error"]
        assert c.post("/v1/classify", content=bomb, headers={"content-type": "application/json",
                                                              "content-encoding": "gzip"}).status_code == 413


class SlowClassifier(Classifier):
    """The real classifier, but it takes `pause` seconds per chunk of input (a huge log on a slow machine), and
    `started` tells when a classification began."""

    def __init__(self, pause: float) -> None:
        super().__init__(classifier().rules)
        self.pause = pause
        self.started = threading.Event()
        self.release = threading.Event()

    def classify_chunks(self, chunks: Any, **kw: Any) -> Any:
        def slow() -> Iterator[bytes]:
            for chunk in chunks:
                self.started.set()
                self.release.wait(self.pause)
                yield chunk
        return super().classify_chunks(slow(), **kw)


def test_time_limit_answers_504_and_stops_the_scan() -> None:
    slow = SlowClassifier(pause=3)
    app = create_app(slow, Settings(timeout_s=1.5, max_concurrent=1))
    with TestClient(app) as c:
        body = b"INFO x\n" * 3_000_000  # 20 MiB: 5 chunks of 4 MiB, 15 s if the scan were not stopped
        t = time.monotonic()
        r = c.post("/v1/classify", content=body, headers=TEXT)
        assert r.status_code == 504 and "1.5 s" in r.json()["error"] and "--timeout" in r.json()["error"]
        assert time.monotonic() - t < 3  # answered at the limit, not when the scan would have ended
        gate = app.fastapi.state.gate
        for _ in range(120):  # within 6 s: the thread saw the stop at its next chunk and gave its slot back
            if gate.running == 0:
                break
            time.sleep(0.05)
        assert gate.running == 0


def test_full_queue_answers_503_and_recovers() -> None:
    slow = SlowClassifier(pause=30)
    app = create_app(slow, Settings(max_concurrent=1, max_queue=0, timeout_s=30))
    with TestClient(app) as c, ThreadPoolExecutor(1) as pool:
        first = pool.submit(c.post, "/v1/classify", content=SERVER_LOG.read_bytes(), headers=TEXT)
        assert slow.started.wait(20)
        r = c.post("/v1/classify", content=SERVER_LOG.read_bytes(), headers=TEXT)
        assert r.status_code == 503 and r.headers["retry-after"] == "5" and "busy" in r.json()["error"]
        slow.release.set()
        assert first.result(timeout=30).status_code == 200
        assert c.post("/v1/classify", content=SERVER_LOG.read_bytes(), headers=TEXT).status_code == 200


# -- token, rules, health, metrics, docs ------------------------------------------------------------------------


def test_token_guards_everything_but_health_and_static() -> None:
    with client(token="s3cret") as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/").status_code == 200
        for method, path in (("post", "/v1/classify"), ("get", "/v1/rules"), ("get", "/metrics")):
            r = getattr(c, method)(path)
            assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
            wrong = getattr(c, method)(path, headers={"authorization": "Bearer nope"})
            assert wrong.status_code == 401 and "wrong" in wrong.json()["error"]
        ok = c.post("/v1/classify", content=SERVER_LOG.read_bytes(),
                    headers={**TEXT, "authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        assert c.get("/metrics", headers={"authorization": "bearer s3cret"}).status_code == 200


def test_rules(api: TestClient) -> None:
    rows = api.get("/v1/rules").json()
    ids = [r["id"] for r in rows]
    assert ids == sorted(r.id for r in classifier().rules) and "cuda-oom" in ids
    one = api.get("/v1/rules/cuda-oom").json()
    assert one["id"] == "cuda-oom" and one["fix"] and "id: cuda-oom" in one["source"]
    missing = api.get("/v1/rules/cuda-om")
    assert missing.status_code == 404 and "cuda-oom" in missing.json()["error"]


def test_rules_are_loaded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests use the classifier the server was built with: none loads rules or builds a classifier."""
    import logclassify.engine.classifier as engine

    with client() as c:
        calls: list[str] = []
        real_load, real_init = engine.load_rules, Classifier.__init__
        monkeypatch.setattr(engine, "load_rules", lambda *a, **k: calls.append("load_rules") or real_load(*a, **k))
        monkeypatch.setattr(Classifier, "__init__", lambda self, *a, **k: calls.append("Classifier") or real_init(self, *a, **k))
        for _ in range(3):
            assert c.post("/v1/classify", content=SERVER_LOG.read_bytes(), headers=TEXT).status_code == 200
        assert c.post("/v1/classify-issue", content=ISSUE.read_bytes(), headers=TEXT).status_code == 200
        assert c.get("/v1/rules").status_code == 200
    assert calls == []


def test_health_and_metrics(api: TestClient) -> None:
    health = api.get("/healthz").json()
    assert health["status"] == "ok" and health["rules"] == len(classifier().rules)
    api.post("/v1/classify", content=SERVER_LOG.read_bytes(), headers=TEXT)
    api.get("/v1/rules/nope")
    text = api.get("/metrics").text
    assert 'logclassify_headline_causes_total{id="nccl-system-error-init"}' in text
    assert 'logclassify_http_requests_total{route="/v1/classify",status="200"}' in text
    assert 'logclassify_http_requests_total{route="/v1/rules/{rule_id}",status="404"}' in text
    assert "logclassify_classifications_running 0.0" in text


def test_openapi_and_offline_docs(api: TestClient) -> None:
    doc = api.get("/openapi.json").json()
    for path in ("/v1/classify", "/v1/classify-issue", "/v1/rules", "/v1/rules/{rule_id}", "/healthz", "/metrics"):
        assert path in doc["paths"]
    body = doc["paths"]["/v1/classify"]["post"]["requestBody"]["content"]
    assert {"text/plain", "application/gzip", "application/json"} <= set(body)
    schemas = doc["components"]["schemas"]
    assert {"Report", "Diagnosis", "ClassifyRequest", "ErrorReply"} <= set(schemas)
    assert "HTTPValidationError" not in schemas and "422" not in json.dumps(doc["paths"])  # bad input: 400
    page = api.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    for asset in ("/docs-assets/swagger-ui-bundle.js", "/docs-assets/swagger-ui.css"):
        assert asset in page.text and api.get(asset).status_code == 200


# -- a real server ------------------------------------------------------------------------------------------------


def sample_fixtures(count: int) -> list[Path]:
    logs = sorted(FIXTURES.rglob("*.log"))
    step = max(1, len(logs) // count)
    return logs[::step][:count]


@pytest.mark.slow
def test_real_server_answers_concurrent_requests_like_the_command() -> None:
    """Each fixture sent 3 times by 16 clients (half as gzip) equals `logclassify --format json FILE` (the body is
    tested for an issue body as the command tests a file or stdin: the same bytes, the same answer)."""
    import httpx

    logs = sample_fixtures(24)
    cli = json.loads(run_cli("--format", "json", *map(str, logs), timeout=300).stdout)
    expected = {str(p): without_source(r) for p, r in zip(logs, cli, strict=True)}
    marker = "BODY-MARKER-" + "7" * 12
    with serve("--max-concurrent", "2") as server, httpx.Client(base_url=server.url, timeout=120) as http:
        def ask(path: Path) -> tuple[str, int, dict[str, Any]]:
            body = path.read_bytes()
            r = http.post("/v1/classify", content=gzip.compress(body) if len(body) % 2 else body,
                          headers={"content-type": "application/gzip" if len(body) % 2 else "text/plain"})
            return str(path), r.status_code, r.json()

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(ask, logs * 3))
        bad = http.post("/v1/classify", content=f'{{"text": "{marker}"'.encode(),
                        headers={"content-type": "application/json"})
        assert bad.status_code == 400
        marked = http.post("/v1/classify?redact=false", content=f"RuntimeError: {marker}\n".encode(), headers=TEXT)
        assert marked.status_code == 200 and marker in marked.text
        assert http.get("/v1/nothing").status_code == 404
    for name, status, report in answers:
        assert status == 200, (name, report)
        assert without_source(report) == expected[name], name
    log = server.output()
    assert "POST /v1/classify" in log  # the access log is on ...
    assert marker not in log  # ... and never holds a body


@pytest.mark.slow
def test_real_server_refuses_a_large_body_with_its_limit() -> None:
    import httpx

    with serve("--max-body", "256k", "--token", "t0k") as server:
        r = httpx.post(server.url + "/v1/classify", content=b"z" * 300_000,
                       headers={**TEXT, "authorization": "Bearer t0k"}, timeout=60)
        assert r.status_code == 413 and "256 KiB" in r.json()["error"]
        assert httpx.get(server.url + "/v1/rules", timeout=30).status_code == 401
        assert httpx.get(server.url + "/healthz", timeout=30).status_code == 200
    assert "the page: http://127.0.0.1:" in server.output()  # bound to loopback unless --host says otherwise
    assert "t0k" not in server.output()


def test_serve_rejects_invalid_rules(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("id: x\n")
    r = run_cli("serve", "--rules", str(tmp_path), "--port", "1")
    assert r.returncode == 2 and b"invalid rules" in r.stderr


def test_a_plain_scan_imports_no_service_package() -> None:
    code = ("import sys\nfrom logclassify.cli import main\n"
            f"sys.argv = ['logclassify', '--format', 'json', {str(SERVER_LOG)!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "loaded = [m for m in ('fastapi', 'uvicorn', 'prometheus_client', 'starlette', 'logclassify.serve') "
            "if m in sys.modules]\nsys.stderr.write('LOADED=' + ','.join(loaded))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120, cwd=ROOT)
    assert b"nccl-system-error-init" in r.stdout
    assert r.stderr.decode().strip().endswith("LOADED="), r.stderr.decode()
