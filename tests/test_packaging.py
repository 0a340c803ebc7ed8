"""The wheel carries everything the bot reads at run time: `pip install .` works from any folder."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_carries_knowledge_examples_and_simulator(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next(tmp_path.glob("campaign_ops_bot-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "bot/knowledge/lexicon.yaml",
        "bot/knowledge/modules/mta.yaml",
        "bot/knowledge/campaign-api.yaml",
        "bot/data/inventory.example.yaml",
        "bot/data/slack-manifest.yaml",
        "bot/simulator/nlserver.sh",
        "bot/py.typed",
    ):
        assert needed in names, needed
    # Installed (unpacked) elsewhere and run from an unrelated folder: no repository on the path.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    deps = sysconfig.get_paths()["purelib"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CAMPAIGN_BOT_"))}
    env["PYTHONPATH"] = f"{site}{os.pathsep}{deps}"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for args, needle in (
        (["modules"], "watchdog"),
        (["match", "mail not sending"], "mta"),
        (["knowledge", "check"], "knowledge OK"),
        (["example", "inventory"], "environments:"),
    ):
        p = subprocess.run(
            [sys.executable, "-B", "-c", "import sys; from bot.__main__ import main; sys.exit(main())", *args],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert p.returncode == 0 and needle in p.stdout, (args, p.stderr[-500:])
        assert str(ROOT) not in p.stdout + p.stderr
