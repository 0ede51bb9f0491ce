"""HTTP service load benchmark (issue 6): verify uploads and catalog search over loopback.

Run from the repository root::

    .venv/bin/python bench/bench_service.py [--duration 120] [--records 100000]
        [--workers-list 1,2] [--concurrency C] [--pg postgresql://postgres@127.0.0.1:5432]
        [--json PATH] [--quick]

In one run:

1. a temporary home: a key ring with one signing key and a catalog (SQLite in the home, or with
   ``--pg`` a PostgreSQL database created and dropped here) holding ``--records`` synthetic
   records (``bench/_synthetic_records.py``: Chinese, English and mixed prompts, the real record
   shape) and ``--files`` real 1024x1024 photo-like PNGs made by ``finalize`` with the home's key
   (so they are catalogued and verify as ``verified``), then what a catalog gets anyway after a
   bulk load (SQLite ``ANALYZE`` + WAL checkpoint; PostgreSQL ``VACUUM ANALYZE``);
2. the in-process verify rate on one core, in this process, on the same files' bytes: the work
   one ``POST /v1/verify`` does in its worker thread (``api.service.routers.verify.verify_bytes``:
   the pixel-count check, ``provenance.verify`` with the service's settings, key-ring policy and
   catalog, the audit-log write, the report as a dict) -- the reference of the target -- and,
   for comparison, ``verify`` with the catalog but no audit write and ``verify`` without the
   catalog (the call the core benchmark, ``bench_verify.py``, times);
3. for each worker count: the real server as a subprocess (``aigc-prov --home H serve --host
   127.0.0.1 --port P --workers W``), ready when ``/readyz`` answers 200; then for ``verify``
   (``POST /v1/verify``, multipart field ``file``, the files in turn) and ``search``
   (``GET /v1/records?q=...``: Chinese and English words from common to rare, model and
   steps-range filters, alone and combined; 2,000 distinct queries in turn) a load from a
   separate client process: ``--concurrency`` keep-alive connections (default 2 x workers + 2),
   opened ``--connect-stagger`` seconds apart (a burst of connects would all go to one worker),
   each sending its next request as soon as the previous answer is read (a closed loop), for
   ``--warmup`` seconds unrecorded and then ``--duration`` seconds recorded (at most
   ``--max-requests`` requests); the client is plain asyncio streams with pre-built requests, so
   that it takes as little of the shared CPU as possible.

Right after ``/readyz`` a keep-alive probe (20 ``GET /healthz`` one after another on one
connection) tells whether answers wait ~40 ms for delayed ACKs (a server socket without
``TCP_NODELAY``); it is reported, and flagged as a problem when it happens.

Every answer is checked: an error is a transport error, a non-200 answer, a body that is not the
JSON expected, or a verify report whose status is not ``verified``. Reported per scenario:
requests, throughput, latency p50/p99/max (from sending the request to reading the whole
answer), errors by kind, the CPU used by the server processes, the client and everything else,
the server's memory and open files before and after, and whether the audit log grew by exactly
the number of verifications answered.

It prints Markdown (stdout; progress on stderr) with a PASS/FAIL line per target (issue 6: zero
errors; verify throughput per worker at least 70 % of the in-process verify rate) and exits 0
whatever the targets say: it is a measurement. The client and the server share the machine's
cores: on a small machine the client's CPU is taken from the server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _generate_common import (  # noqa: E402
    code_changed_note,
    code_snapshot,
    code_version,
    cores,
    cpu_model,
    load_average,
    log,
    memory_total,
    run_rows,
    table,
    verdict,
    version,
)

SIZE = 1024
SEED = 20261121
TARGET_RATIO = 0.70  # verify req/s per worker >= 70 % of the in-process verify rate
N_QUERIES = 2000
BOUNDARY = "aigcprovbenchboundary7f3a9c"
SIGNED_MODEL = "Tongyi-MAI/Z-Image-Turbo"

# Query words. Chinese: two characters inside longer words of the synthetic vocabulary, common
# to rare; English: words, common to rare (the lists bench_catalog.py uses, plus a few words
# that occur in no prompt, so that some searches find nothing).
ZH_TERMS = [
    "橘猫", "油画", "少女", "山水", "夜景", "赛璐", "水彩", "电影", "窗台", "樱花", "古风", "机甲",
    "雪山", "灯塔", "熊猫", "狐狸", "光线", "逆光", "薄雾", "霓虹", "细节", "质感", "风格", "汉服",
    "咖啡", "锦鲤", "极光", "萤火", "长城", "鲸鱼", "钓鱼", "版画", "青苔", "回眸", "水墨", "星空",
    "火锅", "算盘",
]  # fmt: skip
EN_TERMS = [
    "cat", "cinematic", "watercolor", "anime", "samurai", "dragon", "lighthouse", "bokeh", "neon",
    "fog", "aurora", "masterpiece", "castle", "fox", "owl", "guitar", "rain", "golden",
    "reflections", "portrait", "robot", "sailboat", "impressionism", "hummingbird", "fireflies",
    "xylophone", "zeppelin",
]  # fmt: skip

SHAPES = {
    "zh": "Chinese word (`q=油画`)",
    "en": "English word (`q=cinematic`)",
    "zh+en": "two words, Chinese and English (`q=樱花 bokeh`)",
    "text+filters": "word + model + steps range (`q=cat&model=Z-Image&steps_min=28&steps_max=40`)",
    "filters": "model + steps range only (`model=FLUX.1-dev&steps_min=20&steps_max=30`)",
}


# --- statistics ----------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def fmt_ms(seconds: float) -> str:
    value = seconds * 1e3
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


# --- /proc: CPU and memory of a process tree -----------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name (field 3 onwards), or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def tree_pids(root: int) -> list[int]:
    """``root`` and its descendants (from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                parents[int(entry.name)] = int(fields[1])
    out = [root]
    for pid in out:  # grows while iterating: breadth first
        out.extend(child for child, parent in parents.items() if parent == pid)
    return [pid for pid in out if pid in parents]


def proc_cpu_s(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of ``pid`` (its threads included); zeros if it is gone."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0, 0.0
    return int(fields[11]) / TICK, int(fields[12]) / TICK


def proc_rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def machine_cpu() -> dict[str, float]:
    """Busy, steal and total CPU seconds of the whole machine so far (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq
    return {
        "busy": busy / TICK,
        "steal": steal / TICK,
        "total": (busy + idle + iowait + steal) / TICK,
    }


def cpu_sample(server_root: int) -> dict[str, Any]:
    times = os.times()
    pids = tree_pids(server_root)
    return {
        "t": time.perf_counter(),
        "machine": machine_cpu(),
        "client": times.user + times.system,
        "server": {str(pid): sum(cpu) for pid, cpu in ((str(p), proc_cpu_s(p)) for p in pids)},
        "server_sys": sum(proc_cpu_s(pid)[1] for pid in pids),
        "mem": {str(pid): {"rss_kib": proc_rss_kib(pid), "fds": proc_fds(pid)} for pid in pids},
    }


# --- the client (a separate process) --------------------------------------------------------


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, the server closes the connection) of one HTTP/1.1 answer."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length: int | None = None
    chunked = close = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding":
            chunked = "chunked" in value
        elif name == "connection":
            close = value == "close"
    if chunked:
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
                break
            parts.append(await reader.readexactly(size + 2))
        body = b"".join(p[:-2] for p in parts)
    elif length is not None:
        body = await reader.readexactly(length)
    else:
        body, close = await reader.read(), True
    return status, body, close


def _check(kind: str, status: int, body: bytes) -> tuple[str | None, int]:
    """(error kind or None, results found) of one answer."""
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if status != 200:
        code = doc.get("code") if isinstance(doc, dict) else None
        return f"HTTP {status}" + (f" {code}" if code else ""), 0
    if not isinstance(doc, dict):
        return "200 with a body that is not a JSON object", 0
    if kind == "verify":
        if doc.get("status") != "verified":
            return f"report status {doc.get('status')!r}", 0
        return None, 1
    results = doc.get("results")
    if not isinstance(results, list):
        return "200 without a results list", 0
    return None, len(results)


def _requests(cfg: dict[str, Any]) -> list[tuple[int, bytes]]:
    """(tag, raw request bytes) for each item the client sends in turn."""
    host = f"Host: {cfg['host']}:{cfg['port']}\r\n"
    out = []
    if cfg["kind"] == "verify":
        for tag, path in enumerate(cfg["files"]):
            data = Path(path).read_bytes()
            body = b"".join(
                [
                    f"--{BOUNDARY}\r\n".encode(),
                    b'Content-Disposition: form-data; name="file"; filename="',
                    Path(path).name.encode(),
                    b'"\r\nContent-Type: image/png\r\n\r\n',
                    data,
                    f"\r\n--{BOUNDARY}--\r\n".encode(),
                ]
            )
            head = (
                f"POST /v1/verify HTTP/1.1\r\n{host}Accept: application/json\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            out.append((tag, head + body))
    else:
        for tag, target in cfg["queries"]:
            out.append(
                (tag, f"GET {target} HTTP/1.1\r\n{host}Accept: application/json\r\n\r\n".encode())
            )
    return out


async def client_load(cfg: dict[str, Any]) -> dict[str, Any]:
    """Closed-loop load: ``concurrency`` keep-alive connections, warm-up then measured phase."""
    items = _requests(cfg)
    kind = cfg["kind"]
    loop = asyncio.get_running_loop()
    state: dict[str, Any] = {"next": 0, "measured": 0, "sample_start": None}
    latencies: list[float] = []
    tags: list[int] = []
    found: list[int] = []
    errors = {"warmup": Counter[str](), "measured": Counter[str]()}
    answered = Counter[str]()  # 200 answers by phase (the audit check counts them)
    first_error: dict[str, str] = {}
    t_start = loop.time()
    t_measure = t_start + cfg["warmup"]
    t_end = t_measure + cfg["duration"]
    last_done = [t_measure]
    progress = [t_measure]

    def take() -> tuple[int, bytes, str] | None:
        now = loop.time()
        if now >= t_end:
            return None
        phase = "measured" if now >= t_measure else "warmup"
        if phase == "measured":
            if state["sample_start"] is None:
                state["sample_start"] = cpu_sample(cfg["server_pid"])
            if state["measured"] >= cfg["max_requests"]:
                return None
            state["measured"] += 1
        index = state["next"]
        state["next"] += 1
        tag, raw = items[index % len(items)]
        return tag, raw, phase

    async def connection(index: int) -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        # Connections open one after another: a burst of connects would all be accepted by
        # whichever worker wakes first (asyncio accepts every pending connection at once).
        await asyncio.sleep(index * cfg["connect_stagger"])
        while (job := take()) is not None:
            tag, raw, phase = job
            t0 = loop.time()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(cfg["host"], cfg["port"])
                assert reader is not None
                writer.write(raw)
                await writer.drain()
                status, body, close = await asyncio.wait_for(
                    _read_response(reader), cfg["request_timeout"]
                )
            except (
                OSError,
                EOFError,
                asyncio.IncompleteReadError,
                TimeoutError,
                ValueError,
            ) as exc:
                failure = f"transport {type(exc).__name__}"
                errors[phase][failure] += 1
                first_error.setdefault(failure, str(exc)[:300])
                if writer is not None:
                    writer.close()
                reader = writer = None
                await asyncio.sleep(0.01)
                continue
            t1 = loop.time()
            problem, hits = _check(kind, status, body)
            if problem is None:
                answered[phase] += 1
            else:
                errors[phase][problem] += 1
                first_error.setdefault(problem, body[:300].decode("utf-8", "replace"))
            if phase == "measured":
                latencies.append(t1 - t0)
                tags.append(tag)
                found.append(hits)
                last_done[0] = max(last_done[0], t1)
                if t1 - progress[0] >= 15:
                    progress[0] = t1
                    log(
                        f"    {kind}: {t1 - t_measure:.0f} s, {len(latencies):,} requests, "
                        f"{sum(errors['measured'].values())} errors"
                    )
            if close and writer is not None:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    await asyncio.gather(*(connection(i) for i in range(cfg["concurrency"])))
    sample_end = cpu_sample(cfg["server_pid"])
    window = last_done[0] - t_measure
    return {
        "latencies_s": latencies,
        "tags": tags,
        "found": found,
        "window_s": window,
        "errors": {k: dict(v) for k, v in errors.items()},
        "first_error": first_error,
        "answered_ok": dict(answered),
        "cpu_start": state["sample_start"],
        "cpu_end": sample_end,
        "items": len(items),
        "request_bytes": [len(raw) for _, raw in items] if kind == "verify" else None,
    }


def client_main(cfg_path: Path, out_path: Path) -> None:
    cfg = json.loads(cfg_path.read_text())
    result = asyncio.run(client_load(cfg))
    out_path.write_text(json.dumps(result))


# --- setup: home, catalog, signed files, queries ---------------------------------------------


def pg_admin(base: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(sql)


def build_home(workdir: Path, args: argparse.Namespace, url: str) -> dict[str, Any]:
    """The key ring, the catalog with its synthetic records and the signed, catalogued files."""
    import gc

    import _synthetic_records as synth
    from bench_verify import make_image

    from provenance import Attestation, KeyRing, draft_from_attestation, finalize
    from provenance.catalog.store import Catalog

    home = workdir / "home"
    ring = KeyRing.open(home / "keys")
    ring.init(label="bench_service")
    key = ring.signing_key()
    info: dict[str, Any] = {"home": str(home), "key_id": key.key_id}
    t0 = time.perf_counter()
    with Catalog.open(url) as cat:
        cat.sync_keys(ring.entries())
        log(f"inserting {args.records:,} synthetic records ...")
        batch = 5000
        for start in range(0, args.records, batch):
            gc.disable()
            rows = synth.rows(start, min(batch, args.records - start), SEED, span=args.records)
            gc.enable()
            cat.add_records(rows)
        info["records_s"] = time.perf_counter() - t0
        log(f"signing {args.files} {SIZE}x{SIZE} files ...")
        rng = random.Random(SEED)
        files = []
        t1 = time.perf_counter()
        for i in range(args.files):
            text, _ = synth.prompt(rng)
            draft = draft_from_attestation(
                Attestation(
                    prompt=text,
                    seed=rng.randrange(2**32),
                    steps=8,
                    cfg_scale=0.0,
                    model=SIGNED_MODEL,
                    width=SIZE,
                    height=SIZE,
                )
            )
            path = workdir / "files" / f"signed-{i}.png"
            path.parent.mkdir(exist_ok=True)
            result = finalize(make_image("photo", seed=SEED + i), draft, key, path, catalog=cat)
            files.append(
                {"path": str(path), "bytes": path.stat().st_size, "record_id": result.record_id}
            )
        info["files_s"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        with cat.engine.connect() as conn:
            if cat.dialect == "sqlite":
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                info["maintenance"] = "ANALYZE; PRAGMA wal_checkpoint(TRUNCATE)"
            else:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.exec_driver_sql("VACUUM ANALYZE records")
                info["maintenance"] = "VACUUM ANALYZE records"
        info["maintenance_s"] = time.perf_counter() - t2
        info["count"] = cat.count()
    info["files"] = files
    return info


def build_queries(records: int) -> list[tuple[int, str]]:
    """``N_QUERIES`` search targets (shape index, path + query string), deterministic."""
    import _synthetic_records as synth

    rng = random.Random(SEED + records)
    names = list(SHAPES)
    models = [(m[0], m[1], m[3]) for m in synth.MODELS]  # name, weight, steps choices

    def filters() -> dict[str, Any]:
        name, _, steps = rng.choices(models, [m[1] for m in models])[0]
        lo = rng.choice(steps)
        return {"model": name, "steps_min": lo, "steps_max": max(lo, rng.choice(steps))}

    out = []
    for i in range(N_QUERIES):
        shape = names[i % len(names)]
        params: dict[str, Any]
        if shape == "zh":
            params = {"q": rng.choice(ZH_TERMS)}
        elif shape == "en":
            params = {"q": rng.choice(EN_TERMS)}
        elif shape == "zh+en":
            params = {"q": f"{rng.choice(ZH_TERMS)} {rng.choice(EN_TERMS)}"}
        elif shape == "text+filters":
            params = {"q": rng.choice(ZH_TERMS + EN_TERMS), **filters()}
        else:
            params = filters()
        out.append((names.index(shape), "/v1/records?" + urllib.parse.urlencode(params)))
    rng.shuffle(out)
    return out


# --- in-process verify rate ------------------------------------------------------------------


def measure_inprocess(home: Path, url: str, files: list[Path], seconds: float) -> dict[str, Any]:
    """Per-call times of the verify variants on the files' bytes, interleaved in rounds."""
    from api.service.routers.verify import verify_bytes
    from api.service.settings import ServiceSettings
    from provenance import KeyRing, KeyRingPolicy, verify
    from provenance.catalog.store import Catalog

    settings = ServiceSettings(home=home, catalog=url)
    ring = KeyRing.open(settings.keys_dir)
    policy = KeyRingPolicy(ring)
    catalog = Catalog.open(settings.catalog_url, create=False)
    catalog.sync_keys(ring.entries())
    blobs = [(p.name, p.read_bytes()) for p in files]
    limits = settings.limits

    def service_work(name: str, data: bytes) -> str:
        return str(verify_bytes(data, name, settings, policy, catalog)["status"])

    def with_catalog(name: str, data: bytes) -> str:
        return verify(data, policy=policy, limits=limits, name=name, catalog=catalog).status.value

    def without_catalog(name: str, data: bytes) -> str:
        return verify(data, policy=policy, limits=limits, name=name).status.value

    variants = {
        "service": (
            "`verify_bytes`: what one `POST /v1/verify` runs in its worker thread (pixel-count "
            "check, `verify(data, policy, limits, name, catalog)`, audit-log write, report as a "
            "dict) -- the reference",
            service_work,
        ),
        "no_audit": (
            "`verify(data, policy=..., limits=..., name=..., catalog=...)`: no audit-log write",
            with_catalog,
        ),
        "no_catalog": (
            "`verify(data, policy=..., limits=...)`: no catalog (the call the core benchmark "
            "times)",
            without_catalog,
        ),
    }
    samples: dict[str, list[float]] = {k: [] for k in variants}
    statuses: dict[str, Counter[str]] = {k: Counter() for k in variants}
    order = list(variants)
    try:
        for _, fn in variants.values():  # warm-up: one call per file
            for name, data in blobs:
                fn(name, data)
        stop = time.perf_counter() + seconds
        rounds = 0
        while time.perf_counter() < stop or rounds < 3:
            order = order[1:] + order[:1]
            for key in order:
                fn = variants[key][1]
                for name, data in blobs:
                    t0 = time.perf_counter()
                    status = fn(name, data)
                    samples[key].append(time.perf_counter() - t0)
                    statuses[key][status] += 1
            rounds += 1
    finally:
        catalog.close()
    return {
        "labels": {k: v[0] for k, v in variants.items()},
        "samples_s": samples,
        "statuses": {k: dict(v) for k, v in statuses.items()},
        "rounds": rounds,
        "files_per_s": {k: len(v) / sum(v) for k, v in samples.items()},
    }


# --- the server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``aigc-prov serve`` as a subprocess of this one."""

    def __init__(self, home: Path, url: str | None, workers: int, log_path: Path, level: str):
        self.port = free_port()
        self.workers = workers
        self.log_path = log_path
        exe = Path(sys.executable).parent / "aigc-prov"
        cmd = [str(exe), "--home", str(home)]
        if url:
            cmd += ["--catalog", url]
        cmd += ["serve", "--host", "127.0.0.1", "--port", str(self.port)]
        cmd += ["--workers", str(workers), "--log-level", level]
        self.command = cmd
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIGC_PROV_")}
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        self.base = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 120.0) -> float:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({self.proc.returncode}): {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=5) as answer:
                    if answer.status == 200:
                        return time.perf_counter() - t0
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server was not ready in {timeout:.0f} s: {self.log_tail()}")

    def snapshot(self) -> dict[str, Any]:
        """Processes of the server with their RSS (KiB) and open file descriptors."""
        pids = tree_pids(self.proc.pid)
        return {str(pid): {"rss_kib": proc_rss_kib(pid), "fds": proc_fds(pid)} for pid in pids}

    def log_tail(self, lines: int = 20) -> str:
        if not self._log.closed:
            self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def log_problems(self) -> list[str]:
        """Lines of the server's log that tell of an error (tracebacks, ERROR lines)."""
        if not self._log.closed:
            self._log.flush()
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if "Traceback" in line or "ERROR" in line or "Exception" in line:
                out.append(line.strip()[:300])
        return out

    def stop(self) -> None:
        pids = tree_pids(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # uvicorn: graceful shutdown
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                log("the server did not stop in 30 s: killing it")
                self.proc.kill()
                self.proc.wait(10)
        for pid in pids[1:]:  # a worker the supervisor left behind
            if _stat_fields(pid) is not None:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        self._log.close()


def keepalive_probe(port: int, count: int = 20) -> dict[str, float]:
    """Sequential ``GET /healthz`` on one keep-alive connection, each answer read in full.

    On Linux a server socket without ``TCP_NODELAY`` sends the body of an answer only when the
    client acknowledges its headers, which a client delays by ~40 ms once the connection is past
    its first exchanges (delayed ACK): answers then take ~40 ms instead of ~1 ms.
    """
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times = []
    try:
        for _ in range(count):
            t0 = time.perf_counter()
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            times.append(time.perf_counter() - t0)
    finally:
        conn.close()
    later = times[3:]  # past the connection's first exchanges (quick ACKs)
    return {"median_s": pct(later, 50), "max_s": max(later), "first_s": times[0]}


def audit_rows(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM verifications")).scalar_one())
    finally:
        engine.dispose()


def run_scenario(
    server: Server,
    kind: str,
    args: argparse.Namespace,
    workdir: Path,
    files: list[str],
    queries: list[tuple[int, str]],
    url: str,
) -> dict[str, Any]:
    concurrency = args.concurrency or 2 * server.workers + 2
    cfg = {
        "kind": kind,
        "host": "127.0.0.1",
        "port": server.port,
        "server_pid": server.proc.pid,
        "concurrency": concurrency,
        "warmup": args.warmup,
        "duration": args.duration,
        "max_requests": args.max_requests,
        "request_timeout": args.request_timeout,
        "connect_stagger": args.connect_stagger,
        "files": files,
        "queries": queries,
    }
    stem = f"{kind}-w{server.workers}"
    cfg_path, out_path = workdir / f"{stem}.cfg.json", workdir / f"{stem}.out.json"
    cfg_path.write_text(json.dumps(cfg))
    audit_before = audit_rows(url)
    mem_before = server.snapshot()
    log(
        f"  {kind}, {server.workers} worker(s), {concurrency} connections: "
        f"{args.warmup:g} s warm-up + {args.duration:g} s ..."
    )
    done = subprocess.run(
        [sys.executable, __file__, "--_client", str(cfg_path), str(out_path)], check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"the client failed ({done.returncode})")
    res: dict[str, Any] = json.loads(out_path.read_text())
    res.update(
        kind=kind,
        workers=server.workers,
        concurrency=concurrency,
        mem_before=mem_before,
        mem_after=server.snapshot(),
        audit_delta=audit_rows(url) - audit_before,
    )
    res["summary"] = summarize(res)
    s = res["summary"]
    log(
        f"  -> {s['requests']:,} requests, {s['rps']:.1f} req/s, p50 {fmt_ms(s['p50'])} ms, "
        f"p99 {fmt_ms(s['p99'])} ms, {s['errors']} errors"
    )
    return res


def summarize(res: dict[str, Any]) -> dict[str, Any]:
    lat = res["latencies_s"]
    n = len(lat)
    out: dict[str, Any] = {
        "requests": n,
        "rps": n / res["window_s"] if res["window_s"] > 0 else 0.0,
        "p50": pct(lat, 50) if lat else float("nan"),
        "p99": pct(lat, 99) if lat else float("nan"),
        "max": max(lat) if lat else float("nan"),
        "errors": sum(res["errors"]["measured"].values()),
        "warmup_errors": sum(res["errors"]["warmup"].values()),
    }
    a, b = res["cpu_start"], res["cpu_end"]
    if a and b:
        wall = b["t"] - a["t"]
        machine = b["machine"]["total"] - a["machine"]["total"]  # all cores
        server = sum(b["server"].get(pid, 0.0) - a["server"].get(pid, 0.0) for pid in b["server"])
        client = b["client"] - a["client"]
        busy = b["machine"]["busy"] - a["machine"]["busy"]
        out.update(
            cpu_wall_s=wall,
            server_cores=server / wall,
            client_cores=client / wall,
            other_pct=max(0.0, 100 * (busy - server - client) / machine) if machine else 0.0,
            steal_pct=100 * (b["machine"]["steal"] - a["machine"]["steal"]) / machine
            if machine
            else 0.0,
            server_cpu_ms_per_req=1e3 * server / n if n else float("nan"),
            server_sys_ms_per_req=1e3 * (b["server_sys"] - a["server_sys"]) / n
            if n
            else float("nan"),
            client_cpu_ms_per_req=1e3 * client / n if n else float("nan"),
            per_process_cores=[
                (b["server"][pid] - a["server"].get(pid, 0.0)) / wall for pid in b["server"]
            ],
            pids_changed=sorted(a["server"]) != sorted(b["server"]),
        )
    return out


# --- report --------------------------------------------------------------------------------


def uvicorn_choice() -> str:
    """What uvicorn's ``auto`` settings (``serve`` uses them) pick: httptools and uvloop when
    they are installed, else h11 and asyncio."""
    from importlib.util import find_spec

    protocol = "httptools" if find_spec("httptools") else "h11"
    loop = "uvloop" if find_spec("uvloop") else "asyncio"
    return f"{protocol} protocol, {loop} event loop"


def machine_rows(args: argparse.Namespace, started: dt.datetime, code: str) -> list[list[str]]:
    rows = [
        ["CPU", cpu_model()],
        ["cores", cores()],
        ["memory", memory_total()],
        ["Python", sys.version.split()[0]],
        ["uvicorn", f"{version('uvicorn')} (its `auto` choice: {uvicorn_choice()})"],
        [
            "uvloop / httptools / h11",
            f"{version('uvloop')} / {version('httptools')} / {version('h11')}",
        ],
        ["FastAPI / Starlette", f"{version('fastapi')} / {version('starlette')}"],
        ["python-multipart", version("python-multipart")],
        ["SQLAlchemy", version("sqlalchemy")],
        ["SQLite", sqlite3.sqlite_version],
    ]
    if args.pg:
        import psycopg

        with psycopg.connect(args.pg + "/postgres") as conn:
            row = conn.execute("SELECT version()").fetchone()
        rows.append(["PostgreSQL", str(row[0]).split(" on ")[0] if row else "unknown"])
        rows.append(["psycopg", version("psycopg")])
    rows.append(["aigc-provenance", version("aigc-provenance")])
    return rows + run_rows(started, code)


def markdown(res: dict[str, Any]) -> str:
    out: list[str] = []
    emit = out.append
    args, setup, inproc = res["args"], res["setup"], res["inprocess"]
    engine = "PostgreSQL" if args["pg"] else "SQLite"
    sizes = [f["bytes"] for f in setup["files"]]
    emit(
        f"Catalog: {engine}, {setup['count']:,} records ({args['records']:,} synthetic + "
        f"{len(sizes)} signed files; inserted in {setup['records_s']:.0f} s, then "
        f"`{setup['maintenance']}`). Files: {len(sizes)} photo-like {SIZE}x{SIZE} PNGs made by "
        f"`finalize` with the home's key and catalogued, {min(sizes) / 2**20:.2f}-"
        f"{max(sizes) / 2**20:.2f} MiB. Server: `aigc-prov serve` with uvicorn's defaults "
        f"(log level {args['server_log_level']}). Client: one separate process, asyncio streams, "
        f"keep-alive connections opened {args['connect_stagger']:g} s apart, each in a closed "
        f"loop, {args['warmup']:g} s warm-up (not recorded) "
        f"then {args['duration']:g} s recorded per scenario.\n\nMachine and software:\n"
    )
    emit(table(["item", "value"], res["machine"], "ll"))
    emit(
        f"\nLoad average: {res['load_start']} at the start, {res['load_end']} at the end "
        "(1, 5, 15 min).\n"
    )

    emit(
        f"In-process verify, one thread (one core), the same {len(sizes)} files' bytes in turn, "
        f"{inproc['rounds']} rounds with the variants interleaved, after one warm-up call per "
        "file (files/s = calls / total time):\n"
    )
    rows = []
    for key, label in inproc["labels"].items():
        values = inproc["samples_s"][key]
        rows.append(
            [
                label,
                f"{len(values):,}",
                fmt_ms(pct(values, 50)),
                fmt_ms(pct(values, 99)),
                fmt_rate(inproc["files_per_s"][key]),
                ", ".join(f"{k} {v}" for k, v in inproc["statuses"][key].items()),
            ]
        )
    emit(table(["call", "calls", "p50 ms", "p99 ms", "files/s", "statuses"], rows, "lrrrrl"))

    emit("\nLoad over loopback (requests, throughput and latency of the recorded part):\n")
    rows = []
    for sc in res["scenarios"]:
        s = sc["summary"]
        rows.append(
            [
                sc["kind"],
                str(sc["workers"]),
                str(sc["concurrency"]),
                f"{s['requests']:,}",
                f"{sc['window_s']:.1f}",
                fmt_rate(s["rps"]),
                fmt_rate(s["rps"] / sc["workers"]),
                fmt_ms(s["p50"]),
                fmt_ms(s["p99"]),
                fmt_ms(s["max"]),
                f"{s['errors']} ({s['warmup_errors']})",
                f"{s.get('server_cores', float('nan')):.2f}",
                f"{s.get('client_cores', float('nan')):.2f}",
                f"{s.get('other_pct', float('nan')):.0f}%",
            ]
        )
    emit(
        table(
            [
                "route",
                "workers",
                "connections",
                "requests",
                "seconds",
                "req/s",
                "req/s per worker",
                "p50 ms",
                "p99 ms",
                "max ms",
                "errors (warm-up)",
                "server CPU (cores)",
                "client CPU (cores)",
                "others",
            ],
            rows,
        )
    )
    emit(
        "\nCPU: cores busy on average over the recorded part (1.00 = one core all the time); "
        "others: the rest of the machine's busy time as a share of all cores"
        + (" (the PostgreSQL server's processes included)." if args["pg"] else ".")
    )
    probes = {sc["workers"]: sc["keepalive_probe"] for sc in res["scenarios"]}
    emit(
        "\nKeep-alive probe, right after `/readyz` (20 `GET /healthz` one after another on one "
        "connection, median of the last 17; ~40 ms means the answers wait for delayed ACKs): "
        + ", ".join(f"{w} worker(s) {fmt_ms(p['median_s'])} ms" for w, p in probes.items())
        + "."
    )

    errors = [
        (sc, phase, kind, n)
        for sc in res["scenarios"]
        for phase in ("measured", "warmup")
        for kind, n in sc["errors"][phase].items()
    ]
    if errors:
        emit("\nErrors by kind:\n")
        emit(
            table(
                ["route", "workers", "phase", "error", "count", "first answer or message"],
                [
                    [
                        sc["kind"],
                        str(sc["workers"]),
                        phase,
                        kind,
                        str(n),
                        sc["first_error"].get(kind, "").replace("|", "\\|").replace("\n", " "),
                    ]
                    for sc, phase, kind, n in errors
                ],
                "lrllrl",
            )
        )

    searches = [sc for sc in res["scenarios"] if sc["kind"] == "search"]
    if searches:
        names = list(SHAPES)
        emit("\nSearch latency by query shape (recorded part; queries in turn):\n")
        rows = []
        for index, name in enumerate(names):
            cells = [SHAPES[name]]
            for sc in searches:
                lat = [t for t, g in zip(sc["latencies_s"], sc["tags"], strict=True) if g == index]
                hits = [h for h, g in zip(sc["found"], sc["tags"], strict=True) if g == index]
                if lat:
                    empty = sum(1 for h in hits if h == 0) / len(hits)
                    cells.append(
                        f"{fmt_ms(pct(lat, 50))} / {fmt_ms(pct(lat, 99))} "
                        f"({len(lat):,}; {100 * empty:.0f}% empty)"
                    )
                else:
                    cells.append("n/a")
            rows.append(cells)
        emit(
            table(
                [
                    "query shape",
                    *[
                        f"{sc['workers']} worker(s): p50 / p99 ms (requests; no results)"
                        for sc in searches
                    ],
                ],
                rows,
                "l" + "r" * len(searches),
            )
        )

    ref = inproc["files_per_s"]["service"]
    verifies = [sc for sc in res["scenarios"] if sc["kind"] == "verify"]
    if verifies:
        emit("\nVerify over HTTP against the in-process rate (one core):\n")
        rows = []
        for sc in verifies:
            s = sc["summary"]
            per_worker = s["rps"] / sc["workers"]
            rows.append(
                [
                    str(sc["workers"]),
                    fmt_rate(per_worker),
                    *[f"{per_worker / inproc['files_per_s'][k]:.0%}" for k in inproc["labels"]],
                    f"{s.get('server_cpu_ms_per_req', float('nan')):.2f} "
                    f"({s.get('server_sys_ms_per_req', float('nan')):.2f})",
                    f"{1e3 / ref:.2f}",
                    f"{s.get('client_cpu_ms_per_req', float('nan')):.2f}",
                ]
            )
        emit(
            table(
                [
                    "workers",
                    "req/s per worker",
                    "vs `verify_bytes` (reference)",
                    "vs verify, no audit",
                    "vs verify, no catalog",
                    "server CPU ms per request (kernel)",
                    "in-process ms per call (reference)",
                    "client CPU ms per request",
                ],
                rows,
            )
        )

    emit(
        "\nServer processes: memory and open files before the warm-up -> at the start of the "
        "recorded part -> at its end (all the server's processes together):\n"
    )
    rows = []
    for sc in res["scenarios"]:
        points = [sc["mem_before"]]
        if sc["cpu_start"] and sc["cpu_end"]:
            points += [sc["cpu_start"]["mem"], sc["cpu_end"]["mem"]]
        else:
            points.append(sc["mem_after"])
        rss = " -> ".join(f"{sum(p['rss_kib'] for p in m.values()) / 1024:,.0f}" for m in points)
        fds = " -> ".join(str(sum(p["fds"] for p in m.values())) for m in points)
        split = sc["summary"].get("per_process_cores", [])
        audit = (
            f"{sc['audit_delta']:,} rows for {sum(sc['answered_ok'].values()):,} answers"
            if sc["kind"] == "verify"
            else f"{sc['audit_delta']:,} rows"
        )
        rows.append(
            [
                sc["kind"],
                str(sc["workers"]),
                str(len(points[-1])),
                rss,
                fds,
                " + ".join(f"{c:.2f}" for c in split),
                audit,
            ]
        )
    emit(
        table(
            [
                "route",
                "workers",
                "processes",
                "RSS MiB",
                "open files",
                "CPU per process (cores)",
                "audit log growth (warm-up included)",
            ],
            rows,
            "lrrrrll",
        )
    )
    emit(
        "\nProcesses: the `aigc-prov serve` process and its descendants (with several workers: "
        "uvicorn's supervisor, multiprocessing's resource tracker and the workers). The kernel "
        "hands each new connection to whichever worker accepts first, so the workers' shares "
        "of the connections (and of the CPU) need not be equal."
    )

    emit("\nTargets (issue 6):\n")
    lines = []
    summary = []
    for sc in res["scenarios"]:
        s = sc["summary"]
        total = s["errors"] + s["warmup_errors"]
        ok = total == 0
        label = f"zero errors, {sc['kind']}, {sc['workers']} worker(s)"
        value = f"{s['errors']} recorded + {s['warmup_errors']} in the warm-up"
        lines.append([label, value, f"**{verdict(ok)}**"])
        summary.append(f"- **{verdict(ok)}**: {label} ({value})")
    for sc in verifies:
        per_worker = sc["summary"]["rps"] / sc["workers"]
        ratio = per_worker / ref
        ok = ratio >= TARGET_RATIO
        label = (
            f"verify req/s per worker >= {TARGET_RATIO:.0%} of in-process `verify_bytes`, "
            f"{sc['workers']} worker(s)"
        )
        value = f"{fmt_rate(per_worker)} / {fmt_rate(ref)} = {ratio:.0%}"
        lines.append([label, value, f"**{verdict(ok)}**"])
        summary.append(f"- **{verdict(ok)}**: {label} ({value})")
    emit(table(["target", "value", "result"], lines, "lrl"))
    emit("")
    out.extend(summary)
    worst = max((sc["summary"].get("other_pct", 0.0) for sc in res["scenarios"]), default=0.0)
    emit(
        f"\nCPU of the whole machine: other processes {res['other_pct_run']:.0f}% of all cores "
        f"over the load runs (the server, the client and this script not counted; worst "
        f"scenario {worst:.0f}%), hypervisor steal {res['steal_pct_run']:.1f}%."
    )
    cpus = os.cpu_count() or 0
    emit(
        f"\nThe client and the server share this machine's {cpus} cores: the client's CPU "
        "(column 'client CPU') is CPU the server did not get, and with as many workers as cores "
        "the workers also compete with the client and with each other, so req/s per worker is "
        "a floor for a server with cores of its own."
    )
    problems = res["problems"]
    emit(
        "\nMeasurement checks: "
        + (
            "every in-process call returned `verified`; the server's processes were the same "
            "at the start and end of each recorded part; every verify answered 200 wrote one "
            "audit row; the server logged no error; the measured code did not change."
            if not problems
            else "PROBLEMS:\n" + "\n".join(f"- {p}" for p in problems)
        )
    )
    return "\n".join(out)


# --- main ----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=120.0, help="recorded s per scenario")
    parser.add_argument("--warmup", type=float, default=5.0, help="unrecorded s first (5)")
    parser.add_argument("--records", type=int, default=100_000, help="synthetic records")
    parser.add_argument("--files", type=int, default=4, help="distinct signed PNGs (4)")
    parser.add_argument("--workers-list", default="1,2", help="worker counts (default 1,2)")
    parser.add_argument("--routes", default="verify,search", help="default verify,search")
    parser.add_argument(
        "--concurrency", type=int, default=0, help="connections (default 2 x workers + 2)"
    )
    parser.add_argument(
        "--max-requests", type=int, default=1_000_000, help="recorded requests at most, each"
    )
    parser.add_argument("--request-timeout", type=float, default=120.0, help="client, s")
    parser.add_argument(
        "--connect-stagger",
        type=float,
        default=0.1,
        help="seconds between the client's connection openings (0.1; inside the warm-up)",
    )
    parser.add_argument(
        "--inproc-seconds", type=float, default=15.0, help="in-process verify timing (15 s)"
    )
    parser.add_argument(
        "--server-log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn's log level (warning: no access log; info logs every request)",
    )
    parser.add_argument(
        "--pg",
        help="PostgreSQL server URL (e.g. postgresql://postgres@127.0.0.1:5432): the catalog "
        "is a database created and dropped there instead of SQLite in the home",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 2k records, 5 s each")
    parser.add_argument("--keep", type=Path, help="keep the home, files and logs in this folder")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--_client", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args._client:
        client_main(*args._client)
        return 0
    if args.quick:
        args.records, args.duration, args.warmup = 2000, 5.0, 1.0
        args.inproc_seconds, args.files = 2.0, 2
    workers_list = [int(w) for w in args.workers_list.split(",") if w.strip()]
    routes = [r.strip() for r in args.routes.split(",") if r.strip()]
    if any(r not in ("verify", "search") for r in routes) or not routes:
        parser.error("--routes: verify and/or search")
    if not workers_list or min(workers_list) < 1 or args.files < 1 or args.duration <= 0:
        parser.error("--workers-list, --files and --duration must be positive")

    started = dt.datetime.now(dt.UTC)
    code = code_version()
    snapshot = code_snapshot()
    load_start = load_average()
    t_run = time.perf_counter()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        workdir = args.keep
    else:
        workdir = Path(tempfile.mkdtemp(prefix="bench_service."))
    dbname = f"bench_service_{os.getpid()}"
    if args.pg:
        pg_admin(args.pg, f'DROP DATABASE IF EXISTS "{dbname}"')
        pg_admin(args.pg, f'CREATE DATABASE "{dbname}"')
        url = f"{args.pg.replace('postgresql://', 'postgresql+psycopg://', 1)}/{dbname}"
    else:
        url = f"sqlite:///{workdir / 'home' / 'catalog.sqlite'}"
    problems: list[str] = []
    scenarios: list[dict[str, Any]] = []
    try:
        log(f"building the home in {workdir} ...")
        setup = build_home(workdir, args, url)
        home = Path(setup["home"])
        files = [f["path"] for f in setup["files"]]
        queries = build_queries(args.records)
        log(f"in-process verify, {args.inproc_seconds:g} s ...")
        inproc = measure_inprocess(home, url, [Path(f) for f in files], args.inproc_seconds)
        for key, counts in inproc["statuses"].items():
            if set(counts) != {"verified"}:
                problems.append(f"in-process {key}: statuses {counts}")
        for workers in workers_list:
            log(f"server with {workers} worker(s) ...")
            server = Server(
                home,
                url if args.pg else None,
                workers,
                workdir / f"server-w{workers}.log",
                args.server_log_level,
            )
            try:
                ready_s = server.wait_ready()
                probe = keepalive_probe(server.port)
                log(
                    f"  ready in {ready_s:.1f} s; keep-alive GET /healthz "
                    f"{probe['median_s'] * 1e3:.1f} ms"
                )
                if probe["median_s"] > 0.02:
                    problems.append(
                        f"{workers} worker(s): sequential GET /healthz on one keep-alive "
                        f"connection take {probe['median_s'] * 1e3:.0f} ms each (median of 17): "
                        "the server's sockets lack TCP_NODELAY, so each answer's body waits for "
                        "the client's delayed ACK (uvicorn with --workers > 1: its listening "
                        "socket has proto 0 and asyncio sets TCP_NODELAY only for proto "
                        "IPPROTO_TCP; uvicorn issue #3149); every latency and throughput of "
                        "this worker count includes that wait"
                    )
                for kind in routes:
                    sc = run_scenario(server, kind, args, workdir, files, queries, url)
                    sc["ready_s"] = ready_s
                    sc["keepalive_probe"] = probe
                    sc["server_command"] = server.command
                    scenarios.append(sc)
                    if sc["summary"].get("pids_changed"):
                        problems.append(
                            f"{kind}, {workers} worker(s): the server's processes changed "
                            "during the recorded part (a worker died or was restarted?)"
                        )
                    ok = sum(sc["answered_ok"].values())
                    if kind == "verify" and sc["audit_delta"] != ok:
                        problems.append(
                            f"verify, {workers} worker(s): {ok} verifications answered 200 but "
                            f"the audit log grew by {sc['audit_delta']} rows"
                        )
            finally:
                server.stop()
            for line in server.log_problems():
                problems.append(f"server log ({workers} worker(s)): {line}")
    finally:
        if args.pg:
            try:
                pg_admin(args.pg, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            except Exception as exc:  # reported, not fatal
                log(f"could not drop {dbname}: {exc}")
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"kept {workdir}")
    note = code_changed_note(snapshot)
    if note:
        problems.append(note)
    run_wall = sum(sc["summary"].get("cpu_wall_s", 0.0) for sc in scenarios)
    other = sum(
        sc["summary"].get("other_pct", 0.0) * sc["summary"].get("cpu_wall_s", 0.0)
        for sc in scenarios
    )
    steal = sum(
        sc["summary"].get("steal_pct", 0.0) * sc["summary"].get("cpu_wall_s", 0.0)
        for sc in scenarios
    )
    res = {
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": machine_rows(args, started, code),
        "load_start": load_start,
        "load_end": load_average(),
        "run_s": time.perf_counter() - t_run,
        "setup": setup,
        "inprocess": inproc,
        "scenarios": scenarios,
        "other_pct_run": other / run_wall if run_wall else 0.0,
        "steal_pct_run": steal / run_wall if run_wall else 0.0,
        "problems": problems,
    }
    print(markdown(res))
    log(f"run took {res['run_s']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(res, ensure_ascii=False, default=str))
        log(f"raw figures in {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
