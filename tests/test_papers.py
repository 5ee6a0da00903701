"""The operator's papers: the shipped systemd unit is valid, and the documents it and the README
point to exist and say what they must."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from moosic_core import PROJECT_ROOT

UNIT = PROJECT_ROOT / "deploy" / "moosic.service"
UNITS = ("moosic.service", "moosic@.service", "moosic-backup.service", "moosic-backup.timer")
INSTALL_DIR = "/opt/moosic"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_units_verify(tmp_path) -> None:
    """`systemd-analyze verify` on the units, with the install directory made real in tmp."""
    root = tmp_path / "opt-moosic"
    program = root / ".venv" / "bin" / "moosic"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    for name in UNITS:
        text = (PROJECT_ROOT / "deploy" / name).read_text()
        (tmp_path / name).write_text(text.replace(INSTALL_DIR, str(root)))
    proc = subprocess.run(["systemd-analyze", "verify", *UNITS], capture_output=True,
                          text=True, timeout=60, check=False, cwd=tmp_path)
    complaints = [line for line in (proc.stdout + proc.stderr).splitlines()
                  if "moosic" in line]
    assert proc.returncode == 0 and not complaints, proc.stdout + proc.stderr


def test_unit_runs_the_bot_unprivileged_and_does_not_restart_on_config_errors() -> None:
    text = UNIT.read_text()
    assert f"ExecStart={INSTALL_DIR}/.venv/bin/moosic run" in text
    assert "User=moosic" in text and "UMask=0077" in text
    assert "RestartPreventExitStatus=2" in text  # a ConfigError / refused token exits 2


def test_papers_exist_and_cover_what_they_must() -> None:
    assert "Apache License" in (PROJECT_ROOT / "LICENSE").read_text()
    privacy = (PROJECT_ROOT / "PRIVACY.md").read_text()
    for must in ("Article 50(3)", "/forget", "in memory only", "Who to ask", "until"):
        assert must in privacy, must
    deploy = (PROJECT_ROOT / "docs" / "deploy.md").read_text()
    for must in ("443, 80, 88", "X-Telegram-Bot-Api-Secret-Token", "deploy/moosic.service",
                 "moosic db backup", "keys rotate", "moosic-backup.timer", "development mode",
                 "/metrics", "/healthz", "extended quota", "deploy/moosic@.service",
                 "discord.shard_ids", "messages_per_second"):
        assert must in deploy, must
