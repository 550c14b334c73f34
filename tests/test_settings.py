"""The settings table (service.config) is the one declaration behind ``ckg serve``'s options and ``from_env``."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from ckg.serve_commands import serve
from service.config import SETTINGS, ServiceConfig, SettingError


def _other_value(setting):
    """A valid value, different from the default, as the environment would spell it."""
    if setting.type is int:
        return str(int(setting.minimum or 0) + 5), int(setting.minimum or 0) + 5
    if setting.type is float:
        return "2.5", 2.5
    return "/somewhere/else", "/somewhere/else"


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_from_env_reads_every_row(monkeypatch, setting):
    raw, expected = _other_value(setting)
    assert setting.default_value() != expected
    monkeypatch.setenv(setting.env, raw)
    assert getattr(ServiceConfig.from_env(), setting.name) == expected
    assert getattr(ServiceConfig.from_env(**{setting.name: expected}), setting.name) == expected


def test_an_empty_variable_means_the_default(monkeypatch):
    monkeypatch.setenv("CKG_PORT", "")
    assert ServiceConfig.from_env().port == 8000


@pytest.mark.parametrize("env, raw", [("CKG_PORT", "eighty"), ("CKG_PORT", "0"), ("CKG_QUERY_TIMEOUT", "0.01")])
def test_a_bad_value_names_its_variable(monkeypatch, env, raw):
    monkeypatch.setenv(env, raw)
    with pytest.raises(SettingError, match=f"\\${env}="):
        ServiceConfig.from_env()


def test_serve_help_lists_every_row():
    text = CliRunner().invoke(serve, ["--help"], terminal_width=400).output
    for setting in SETTINGS:
        assert setting.env in text
        if setting.option != "":
            assert (setting.option or "--" + setting.name.replace("_", "-")) in text
            assert setting.help.split(";")[0].split(" (")[0] in text


def test_the_readme_table_names_every_row():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("### `ckg serve` settings"):]
    for setting in SETTINGS:
        assert f"`{setting.env}`" in table, f"README's settings table lacks {setting.env}"
