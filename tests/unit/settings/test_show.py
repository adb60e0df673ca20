"""containai.settings.show through `cai config`: every setting, its value and where it came
from, as text or JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.files import trust


def test_config_prints_every_setting_with_its_origin(cai: Any) -> None:
    result = cai("config")
    assert result.code == 0
    assert re.search(r"^data_volume\s+= \"\"\s+# default$", result.out, re.M)
    assert re.search(r"^import\.exclude_priv\s+= true\s+# default$", result.out, re.M)


def test_config_names_the_workspace_and_its_data_volume(cai: Any, work: Path) -> None:
    out = cai("config").out
    assert f"# workspace: {work}" in out
    assert re.search(r"^# data volume: containai-work-[0-9a-f]+$", out, re.M)


def test_config_json_is_parseable_with_settings_origins_and_data_volume(
    cai: Any, work: Path
) -> None:
    result = cai("config", "--json")
    assert result.code == 0
    document = json.loads(result.out)
    assert document["workspace"] == str(work)
    assert document["data_volume"].startswith("containai-work-")
    assert document["settings"]["import"]["exclude_priv"] is True
    assert document["origins"]["import.exclude_priv"] == "default"


def test_config_json_names_the_project_file_as_origin(cai: Any, work: Path) -> None:
    (work / "containai.toml").write_text('data_volume = "team-vol"\n')
    untrusted = json.loads(cai("config", "--json").out)
    assert untrusted["project"]["trust"] == "untrusted" and untrusted["data_volume"] != "team-vol"
    assert "(untrusted, ignored)" in cai("config").out
    trust(work)
    document = json.loads(cai("config", "--json").out)
    assert document["data_volume"] == "team-vol"
    assert document["settings"]["data_volume"] == "team-vol"
    assert document["origins"]["data_volume"] == str(work / "containai.toml")


def test_config_json_shows_the_environment_as_origin(
    cai: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTAINAI_IMPORT__EXCLUDE_PRIV", "false")
    document = json.loads(cai("config", "--json").out)
    assert document["settings"]["import"]["exclude_priv"] is False
    origin = document["origins"]["import.exclude_priv"]
    assert origin == "environment CONTAINAI_IMPORT__EXCLUDE_PRIV"


def test_config_reads_an_extra_config_file(cai: Any, tmp_path: Path) -> None:
    extra = tmp_path / "extra.toml"
    extra.write_text("[agent]\nuid = 4242\n")
    document = json.loads(cai("config", "--json", "--config", str(extra)).out)
    assert document["settings"]["agent"]["uid"] == 4242
    assert document["origins"]["agent.uid"] == str(extra)


def test_config_takes_the_workspace_as_a_positional(cai: Any, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    document = json.loads(cai("config", "--json", str(other)).out)
    assert document["workspace"] == str(other)
    assert document["data_volume"].startswith("containai-other-")
