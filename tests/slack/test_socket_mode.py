"""Socket Mode: `campaign-bot serve` with SLACK_APP_TOKEN connects to a local websocket stand-in
(the fake Web API hands out its URL) and answers envelopes with acks, then works in threads."""

from __future__ import annotations

import json
import queue
import threading
import time
from pathlib import Path

import pytest

from tests.harness.fake_slack import FakeSlack
from tests.integration.fleet import Fleet
from tests.slack.conftest import slack_inventory, start_bot, stop_bot

websockets_sync = pytest.importorskip("websockets.sync.server")


def mention_envelope(envelope_id: str, retry_attempt: int) -> dict[str, object]:
    """An events_api envelope carrying the same app_mention (event id EvSock1) each time."""
    return {
        "envelope_id": envelope_id,
        "type": "events_api",
        "accepts_response_payload": False,
        "retry_attempt": retry_attempt,
        "payload": {
            "type": "event_callback",
            "team_id": "T0001",
            "event_id": "EvSock1",
            "api_app_id": "A1",
            "authorizations": [{"team_id": "T0001", "user_id": "UBOT", "is_bot": True}],
            "event": {
                "type": "app_mention",
                "user": "UALICE",
                "text": "<@UBOT> is wfserver running?",
                "ts": "1700000999.000100",
                "channel": "CPROD",
            },
        },
    }


def test_socket_mode_acks_and_answers(fleet: Fleet, tmp_path: Path) -> None:
    acks: queue.Queue[dict[str, object]] = queue.Queue()
    connected = threading.Event()
    envelopes = [
        {
            "envelope_id": "env-1",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": {
                "command": "/campaign-module",
                "text": "waakhond",
                "user_id": "UALICE",
                "channel_id": "CPROD",
                "team_id": "T0001",
                "response_url": "https://example.invalid/r",
                "trigger_id": "1.2",
            },
        },
        mention_envelope("env-2", retry_attempt=0),
        # The same event again, as Slack re-delivers it: acked, not answered twice.
        mention_envelope("env-3", retry_attempt=1),
    ]

    def handler(ws) -> None:  # type: ignore[no-untyped-def]
        if connected.is_set():
            return  # only the first connection gets the envelopes
        connected.set()
        ws.send(json.dumps({"type": "hello", "num_connections": 1}))
        for env in envelopes:
            ws.send(json.dumps(env))
            try:
                acks.put(json.loads(ws.recv(timeout=10)))
            except TimeoutError:
                return
        try:
            while True:
                ws.recv(timeout=30)
        except Exception:
            return

    server = websockets_sync.serve(handler, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.socket.getsockname()[1]
    fake = FakeSlack(ws_url=f"ws://127.0.0.1:{port}/link").start()
    inv = slack_inventory(tmp_path / "inventory.yaml", fleet)
    proc, _ = start_bot(tmp_path, fake, inv, {"SLACK_APP_TOKEN": "xapp-1-test", "SLACK_SIGNING_SECRET": ""})
    try:
        got = {}
        end = time.monotonic() + 30
        while len(got) < 3 and time.monotonic() < end:
            try:
                a = acks.get(timeout=1)
                got[a["envelope_id"]] = a
            except queue.Empty:
                if proc.poll() is not None:
                    raise AssertionError((tmp_path / "bot.log").read_text()[-3000:]) from None
        assert set(got) == {"env-1", "env-2", "env-3"}, (tmp_path / "bot.log").read_text()[-3000:]
        assert "watchdog" in json.dumps(got["env-1"].get("payload", {}))
        assert fake.wait_for(
            lambda: any(c.params.get("thread_ts") == "1700000999.000100" for c in fake.of("chat.postMessage"))
        )
        assert fake.wait_for(
            lambda: any("wfserver" in json.dumps(c.params.get("blocks", "")) for c in fake.of("chat.update")),
            timeout=30,
        )
        time.sleep(1)
        thread_posts = [c for c in fake.of("chat.postMessage") if c.params.get("thread_ts") == "1700000999.000100"]
        assert len(thread_posts) == 1
        assert any(
            c.headers.get("Authorization", "").startswith("Bearer xapp-") for c in fake.of("apps.connections.open")
        )
    finally:
        stop_bot(proc)
        server.shutdown()
        fake.stop()
