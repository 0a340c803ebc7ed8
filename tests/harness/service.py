"""`campaign-bot serve` / `worker` as real processes, on simulated hosts reached with the local
transport (no sshd needed), a fake Slack API, and (optionally) a real redis-server.

Tests that use it only look at processes they started themselves: the serve process, and the
worker it started (its child, found through psutil from the serve pid).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import yaml

from bot.simulator.fleet import build_host, default_scenarios
from tests.harness.fake_slack import FakeSlack
from tests.harness.sshd import free_port

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token-123"
_ts = itertools.count(1)


def next_ts() -> str:
    return f"1800000000.{next(_ts):06d}"


def sign(body: str, ts: str | None = None) -> dict[str, str]:
    ts = ts or str(int(time.time()))
    sig = "v0=" + hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}


def build_hosts(root: Path, names: tuple[str, ...] = ("app1", "app2")) -> dict[str, Path]:
    """Simulated Campaign hosts (from the simulator's default scenarios) under `root`."""
    scenarios = {sc.name: sc for sc in default_scenarios()}
    return {n: build_host(root, scenarios[n], ("prod",)) for n in names}


def write_inventory(path: Path, homes: dict[str, Path], **env_extra: Any) -> Path:
    hosts = [
        {
            "name": n,
            "transport": "local",
            "nl_home": str(h),
            "env_path": str(h / "sim" / "bin"),
            "command_timeout_s": 30,
        }
        for n, h in homes.items()
    ]
    env = {"instances": ["prod"], "channels": ["CPROD"], "hosts": hosts, **env_extra}
    path.write_text(yaml.safe_dump({"environments": {"prod": env}, "default_environment": "prod"}))
    return path


def set_slow(home: Path, seconds: float) -> None:
    """Make every simulated nlserver call on this host take `seconds` (0: back to normal)."""
    (home / "sim" / "delay").write_text(f"{seconds}\n")
    (home / "sim" / "mode").write_text("slow\n" if seconds else "normal\n")


@dataclass
class Service:
    """One `campaign-bot serve` (with its worker unless `no_worker`) or `campaign-bot worker` process."""

    proc: subprocess.Popen[str]
    url: str | None
    log: Path

    def children(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def worker_pids(self) -> list[int]:
        pids = []
        for p in self.children():
            try:
                if "worker" in " ".join(p.cmdline()):
                    pids.append(p.pid)
            except psutil.Error:  # a probe that just ended (a zombie until reaped), or gone meanwhile
                continue
        return pids

    def wait_worker(self, timeout: float = 60) -> int:
        """The pid of the worker `serve` started, once it takes jobs (it logs `worker <host>:<pid>:`)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for pid in self.worker_pids():
                if f":{pid}:" in self.log.read_text():
                    return pid
            time.sleep(0.05)
        raise AssertionError(f"no worker started; log: {self.log.read_text()[-1500:]}")

    def post(self, body: str, headers: dict[str, str], content_type: str = "application/json") -> tuple[int, str]:
        assert self.url is not None
        req = urllib.request.Request(
            self.url + "/slack/events",
            data=body.encode(),
            method="POST",
            headers={"Content-Type": content_type, **headers},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def mention(self, text: str, user: str = "UALICE", channel: str = "CPROD", event_id: str | None = None) -> str:
        ts = next_ts()
        body = json.dumps(
            {
                "type": "event_callback",
                "team_id": "T0001",
                "api_app_id": "A0001",
                "event_id": event_id or f"Ev{ts.replace('.', '')}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": "T0001", "user_id": "UBOT", "is_bot": True}],
                "event": {
                    "type": "app_mention",
                    "user": user,
                    "text": f"<@UBOT> {text}",
                    "ts": ts,
                    "channel": channel,
                    "event_ts": ts,
                },
            }
        )
        status, _ = self.post(body, sign(body))
        assert status == 200
        return ts

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for child in self.children():  # never leave a worker behind, whatever the test did
            child.kill()
        return self.proc.returncode


@dataclass
class Lab:
    tmp: Path
    fake: FakeSlack
    inventory: Path
    homes: dict[str, Path]
    redis_url: str | None = None
    services: list[Service] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CAMPAIGN_BOT_"))}
        env.update(
            {
                "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": self.fake.url,
                "HOST": "127.0.0.1",
                "CAMPAIGN_BOT_INVENTORY": str(self.inventory),
                "CAMPAIGN_BOT_AUDIT_LOG": str(self.tmp / "audit.jsonl"),
                "CAMPAIGN_BOT_STATE_DB": str(self.tmp / "state.sqlite3"),
                "LOG_LEVEL": "INFO",
            }
        )
        if self.redis_url:
            env["CAMPAIGN_BOT_REDIS_URL"] = self.redis_url
        env.update(extra)
        return env

    def start(self, *args: str, name: str = "serve", wait: bool = True, **env: str) -> Service:
        log = self.tmp / f"{name}-{len(self.services)}.log"
        port = free_port("127.0.0.1") if args[0] == "serve" else None
        extra = {"PORT": str(port)} if port else {}
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            cwd=self.tmp,
            env=self.env(**extra, **env),
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            text=True,
        )
        svc = Service(proc, f"http://127.0.0.1:{port}" if port else None, log)
        self.services.append(svc)
        if wait and port:
            wait_healthy(svc)
        return svc

    def close(self) -> None:
        for s in self.services:
            s.stop(signal.SIGKILL, timeout=5)

    def audit(self) -> list[dict[str, Any]]:
        path = self.tmp / "audit.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []

    def thread(self, ts: str) -> list[str]:
        """Everything posted in the thread of `ts` and every update of those messages, in order."""
        posted = {c.result.get("ts") for c in self.fake.of("chat.postMessage") if c.params.get("thread_ts") == ts}
        out = []
        for c in list(self.fake.calls):
            if (c.method == "chat.postMessage" and c.params.get("thread_ts") == ts) or (
                c.method == "chat.update" and c.params.get("ts") in posted
            ):
                out.append(json.dumps(c.params.get("blocks", "")) + str(c.params.get("text", "")))
        return out

    def answers_in(self, ts: str) -> list[str]:
        """The thread's top-level messages (posted), not their updates."""
        return [
            json.dumps(c.params.get("blocks", ""))
            for c in self.fake.of("chat.postMessage")
            if c.params.get("thread_ts") == ts
        ]

    def wait_thread(self, ts: str, needle: str, timeout: float = 40) -> str:
        ok = self.fake.wait_for(lambda: any(needle in t for t in self.thread(ts)), timeout=timeout)
        assert ok, f"no {needle!r} in the thread; got {self.thread(ts)[-3:]}"
        return next(t for t in reversed(self.thread(ts)) if needle in t)


def wait_healthy(svc: Service, timeout: float = 90) -> None:
    assert svc.url is not None
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if svc.proc.poll() is not None:
            raise RuntimeError(f"serve exited ({svc.proc.returncode}): {svc.log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(svc.url + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("serve did not start")
