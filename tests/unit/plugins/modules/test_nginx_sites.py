"""The nginx_sites module: the sites of a host in one run, tested by nginx (the role's apply script with stand-ins
for nginx and systemctl, conftest's ``apply``), and the sites an earlier run wrote that are no longer listed."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.appmount.wsgi.plugins.modules import nginx_sites

MARKER = "# appmount.wsgi site "


@pytest.fixture
def etc(tmp_path: Path) -> Path:
    for name in ("sites-available", "sites-enabled", "snippets", "appmount/sites"):
        (tmp_path / "etc" / name).mkdir(parents=True)
    return tmp_path / "etc"


@pytest.fixture
def main(capsys: pytest.CaptureFixture[str], module_args: Any, etc: Path, apply: Path
         ) -> Callable[..., dict[str, Any]]:
    """``main(check=False, sites=[...], **args)``: nginx_sites.main() on the ``etc`` tree, its result."""

    def run(check: bool = False, sites: tuple[str, ...] = ("main",), **args: Any) -> dict[str, Any]:
        given = dict({
            "files": [{"path": f"{etc}/snippets/tls.conf", "content": "ssl_protocols TLSv1.2;\n", "mode": "0644"}]
            + [{"path": f"{etc}/sites-available/{name}.conf", "content": f"{MARKER}{name}\nserver {{}}\n",
                "mode": "0644"} for name in sites],
            "sites": list(sites), "available_dir": f"{etc}/sites-available", "enabled_dir": f"{etc}/sites-enabled",
            "marker": MARKER, "gone": [f"{etc}/sites-enabled/{{name}}.conf", f"{etc}/sites-available/{{name}}.conf",
                                       f"{etc}/appmount/sites/{{name}}"],
            "absent": [f"{etc}/sites-enabled/default"], "apply": str(apply)}, **args)
        with module_args(dict(given, _ansible_check_mode=check, _ansible_diff=True)), pytest.raises(SystemExit):
            nginx_sites.main()
        result: dict[str, Any] = json.loads(capsys.readouterr().out)
        return result

    return run


def test_the_sites_are_written_linked_and_then_left_alone(main: Callable[..., dict[str, Any]], etc: Path) -> None:
    (etc / "sites-enabled" / "default").symlink_to("/etc/nginx/sites-available/default")
    checked = main(check=True)
    assert checked["changed"] is True and not (etc / "snippets" / "tls.conf").exists()
    assert os.path.lexists(etc / "sites-enabled" / "default")
    first = main()
    assert first["changed"] is True and len(first["diff"]) == 4  # two files, a link, the default site
    assert (etc / "sites-available" / "main.conf").read_text().startswith(MARKER)
    assert os.readlink(etc / "sites-enabled" / "main.conf") == f"{etc}/sites-available/main.conf"
    assert not os.path.lexists(etc / "sites-enabled" / "default")
    again = main()
    assert again["changed"] is False and again["removed_sites"] == [] and again["diff"] == []


def test_a_site_no_longer_listed_goes_with_its_paths_and_other_files_stay(main: Callable[..., dict[str, Any]],
                                                                          etc: Path) -> None:
    main(sites=("main", "tools"))
    (etc / "appmount" / "sites" / "tools" / "ping.conf").parent.mkdir()
    (etc / "appmount" / "sites" / "tools" / "ping.conf").write_text("location /ping/ {}\n")
    (etc / "sites-available" / "hand-written.conf").write_text("server {}\n")  # not appmount's: kept
    result = main(sites=("main",))
    assert result["changed"] is True and result["removed_sites"] == ["tools"]
    assert sorted(os.listdir(etc / "sites-available")) == ["hand-written.conf", "main.conf"]
    assert os.listdir(etc / "sites-enabled") == ["main.conf"] and not (etc / "appmount" / "sites" / "tools").exists()


def test_the_script_and_the_directories_come_first_and_stay_when_nginx_refuses(
        main: Callable[..., dict[str, Any]], etc: Path, tmp_path: Path) -> None:
    """The apply script is written before the sites it tests, and is not put back with them."""
    (tmp_path / "nginx-says").write_text('nginx: [emerg] unknown directive "bogus"\n')
    script = {"path": f"{etc}/apply-v2", "content": "#!/bin/sh\n", "mode": "0755", "kind": "script"}
    site = {"path": f"{etc}/sites-available/main.conf", "content": "bogus;\n", "mode": "0644", "kind": "nginx"}
    result = main(files=[site, script], directories=[f"{etc}/acme/.well-known/acme-challenge"])
    assert result["failed"] is True and not (etc / "sites-available" / "main.conf").exists()
    assert (etc / "apply-v2").read_text() == "#!/bin/sh\n" and (etc / "apply-v2").stat().st_mode & 0o777 == 0o755
    assert (etc / "acme" / ".well-known" / "acme-challenge").is_dir()


def test_a_configuration_nginx_refuses_is_put_back(main: Callable[..., dict[str, Any]], etc: Path,
                                                   tmp_path: Path) -> None:
    main(sites=("main", "tools"))
    (etc / "appmount" / "sites" / "tools").mkdir()  # the gone site's app locations: still there for its file
    before = {name: (etc / "sites-available" / name).read_text() for name in ("main.conf", "tools.conf")}
    (tmp_path / "nginx-says").write_text('nginx: [emerg] unknown directive "bogus"\n')
    result = main(sites=("main",), files=[{"path": f"{etc}/sites-available/main.conf", "content": "bogus;\n",
                                           "mode": "0644"}])
    assert result["failed"] is True and result["msg"].endswith('unknown directive "bogus"')
    assert {name: (etc / "sites-available" / name).read_text() for name in before} == before
    assert os.readlink(etc / "sites-enabled" / "tools.conf") == f"{etc}/sites-available/tools.conf"
    assert (etc / "appmount" / "sites" / "tools").is_dir()
    assert not (tmp_path / "systemctl-calls").exists()  # nothing reloaded: the role's handler never runs
