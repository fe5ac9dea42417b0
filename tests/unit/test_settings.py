"""Settings: environment over config file over defaults; bad files name file, line and key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from carriers.errors import ConfigError
from gateway.settings import effective_config, load_settings

GOOD = """\
port: 9000
carriers:
  delhivery:
    base_url: http://127.0.0.1:8081
    token: s3cret-token
    client_name: ACME
    warehouse: ACME-WH
"""


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "backhaul.yaml").write_text(text)
    return tmp_path


def test_file_values_are_read(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, GOOD))
    assert settings.port == 9000
    assert settings.carriers["delhivery"]["client_name"] == "ACME"


def test_environment_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKHAUL_PORT", "9100")
    monkeypatch.setenv("BACKHAUL_CARRIERS__DELHIVERY__TOKEN", "from-env")
    settings = load_settings(_write(tmp_path, GOOD))
    assert settings.port == 9100
    assert settings.carriers["delhivery"]["token"] == "from-env"
    assert settings.carriers["delhivery"]["client_name"] == "ACME"  # merged, not replaced


def test_defaults_without_a_file(tmp_path: Path) -> None:
    assert load_settings(tmp_path).port == 8080


def test_bad_value_names_file_line_and_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(_write(tmp_path, "host: 127.0.0.1\nport: eighty\n"))
    message = str(err.value)
    assert f"{tmp_path / 'backhaul.yaml'}:2: port:" in message
    assert "integer" in message


def test_bad_carrier_value_names_the_nested_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(_write(tmp_path, GOOD.replace("token: s3cret-token", "token: x\n    timeout_s: -1")))
    assert "backhaul.yaml:6: carriers.delhivery.timeout_s" in str(err.value)


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"backhaul.yaml:1: prot: Extra inputs are not permitted"):
        load_settings(_write(tmp_path, "prot: 80\n"))


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"backhaul.yaml:2: not valid YAML"):
        load_settings(_write(tmp_path, "port: 1\n  bad: [\n"))


def test_unknown_carrier_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no carrier adapter registered as 'acme'"):
        load_settings(_write(tmp_path, "carriers:\n  acme: {base_url: http://x}\n"))


def test_effective_config_masks_secrets(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, GOOD), redis_url="redis://user:hunter2@db:6379/0")
    shown = json.dumps(effective_config(settings))
    assert "s3cret-token" not in shown and "hunter2" not in shown
    assert "redis://********@db:6379/0" in shown


def test_config_show_command(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKHAUL_")}
    env["BACKHAUL_CONFIG_DIR"] = str(_write(tmp_path, GOOD))
    out = subprocess.run([sys.executable, "-m", "gateway", "config", "show"], env=env, capture_output=True,
                         text=True, check=True).stdout
    shown = json.loads(out)
    assert shown["port"] == 9000
    assert shown["carriers"]["delhivery"]["token"] == "********"


def test_bad_config_stops_the_command_with_exit_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKHAUL_")}
    env["BACKHAUL_CONFIG_DIR"] = str(_write(tmp_path, "port: -5\n"))
    run = subprocess.run([sys.executable, "-m", "gateway", "config", "show"], env=env, capture_output=True,
                         text=True)
    assert run.returncode == 2
    assert "backhaul.yaml:1: port: Input should be greater than or equal to 0" in run.stderr
