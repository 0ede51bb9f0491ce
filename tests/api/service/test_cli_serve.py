"""``aigc-prov serve``: token hashing, settings passed to the workers, uvicorn's arguments; and
a real uvicorn on a loopback port answering a verification."""

from __future__ import annotations

import http.client
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from api.cli import main
from api.service.deps import hash_token
from tests.api.service.conftest import Site


def test_hash_token_reads_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("s3cret-token\n"))
    assert main(["serve", "--hash-token"]) == 0
    assert capsys.readouterr().out.strip() == hash_token("s3cret-token")
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n"))
    assert main(["serve", "--hash-token"]) == 2
    assert "the token is empty" in capsys.readouterr().err


def test_new_token_prints_a_token_and_its_hash(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--new-token"]) == 0
    lines = capsys.readouterr().out.splitlines()
    token, digest = lines[0].removeprefix("token: "), lines[1].removeprefix("hash:  ")
    assert len(token) >= 40 and hash_token(token) == digest


def test_serve_refuses_invalid_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIGC_PROV_TOKEN_HASHES", "plain-token")
    assert main(["--home", str(tmp_path), "serve"]) == 2
    err = capsys.readouterr().err
    assert "AIGC_PROV_TOKEN_HASHES" in err and "64 hex digits" in err
    monkeypatch.delenv("AIGC_PROV_TOKEN_HASHES")
    with pytest.raises(SystemExit):
        main(["serve", "--workers", "0"])
    assert "must be from 1 to 64" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("workers", [1, 2])
def test_a_real_server_on_loopback_answers(site: Site, tmp_path: Path, workers: int) -> None:
    """``serve`` passes --home, --catalog and --host on to uvicorn's workers, and answers on
    kept-alive connections without waiting for delayed ACKs (TCP_NODELAY, also with several
    workers). Every new connection (the kernel hands each to one of the workers) sees what
    the others wrote: a rating and the audit log live in the catalog, not in a worker."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIGC_PROV_")}
    env["HF_HUB_OFFLINE"] = "1"
    env["AIGC_PROV_TOKEN_HASHES"] = hash_token("serve-test-token")
    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "api", "--home", str(site.home), "--catalog", site.url]
    command += ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    command += ["--log-level", "warning"]
    with log.open("wb") as output:
        server = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                    assert json.load(response)["status"] == "ready"
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the server did not start: {log.read_text()}")
                time.sleep(0.2)
        boundary = "aigcprovtest"
        head = (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="cat.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        )
        body = head.encode() + site.files[0].read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        request = urllib.request.Request(
            f"{base}/v1/verify",
            data=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        for _ in range(4):  # urllib opens a new connection for each request
            with urllib.request.urlopen(request, timeout=30) as response:
                assert json.load(response)["status"] == "verified"
        auth = {"Authorization": "Bearer serve-test-token", "Content-Type": "application/json"}
        record_id = site.record_ids[0]
        rate = urllib.request.Request(
            f"{base}/v1/records/{record_id}/rating", data=b'{"rating": 4}', headers=auth
        )
        with urllib.request.urlopen(rate, timeout=10) as response:
            assert json.load(response)["rating"] == 4
        for _ in range(6):
            with urllib.request.urlopen(f"{base}/v1/records/{record_id}", timeout=10) as response:
                assert json.load(response)["summary"]["rating"] == 4
            audit = urllib.request.Request(f"{base}/v1/audit", headers=auth)
            with urllib.request.urlopen(audit, timeout=10) as response:
                logged = [row for row in json.load(response)["entries"] if row["origin"] == "api"]
            assert len(logged) == 4
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        times = []
        try:
            for _ in range(15):
                started = time.perf_counter()
                connection.request("GET", "/healthz")
                assert json.loads(connection.getresponse().read())["status"] == "ok"
                times.append(time.perf_counter() - started)
        finally:
            connection.close()
        assert statistics.median(times[1:]) < 0.02, times  # a delayed ACK costs ~40 ms
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_hashing_a_token_needs_no_server_extra() -> None:
    code = (
        "import sys\n"
        "for name in ('fastapi', 'uvicorn', 'pydantic_settings'):\n"
        "    sys.modules[name] = None  # not installed\n"
        "from api.cli import main\n"
        "sys.exit(main(['serve', '--hash-token']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input="tok\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == hash_token("tok")
    code = code.replace("'--hash-token'", "'--port', '1'")
    refused = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert refused.returncode == 2
    assert "pip install 'aigc-provenance[server]'" in refused.stderr
