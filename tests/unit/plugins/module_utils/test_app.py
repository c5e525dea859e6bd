"""The App record type describes exactly what apps_normalize and the action plugin produce."""

from __future__ import annotations

from ansible_collections.appmount.wsgi.plugins.filter.apps import apps_normalize
from ansible_collections.appmount.wsgi.plugins.module_utils.app import App, Code, HostFile, HostLink, Static

SITES = [{"name": "appmount", "locations_dir": "/etc/nginx/appmount"}]
DEFAULTS = {"processes": 2, "threads": 4, "request_log": False, "memory_max": "1G", "cpu_quota": "", "tasks_max": 512,
            "idle_timeout": 0, "listen": 1024}


def test_app_has_every_key_of_a_normalized_record() -> None:
    given = {"name": "blog", "mount": "/blog", "module": "app:app", "source": {"path": "/ctl/blog"},
             "static": [{"url": "/s", "path": "static"}]}
    [rec] = apps_normalize([given], "/srv", ".", SITES, "/run/uwsgi/app", DEFAULTS)
    assert set(rec) == App.__required_keys__
    assert App.__optional_keys__ == {"files", "links"}  # added by the action plugin
    assert set(rec["code"]) == {"kind", "path"} and Code.__required_keys__ == {"kind"}
    assert set(rec["static"][0]) == Static.__required_keys__


def test_code_keys_of_each_kind() -> None:
    given = [{"name": "a", "mount": "/a", "module": "app:app", "source": {"git": "https://x"}},
             {"name": "b", "mount": "/b", "module": "app:app"}]
    git, none = apps_normalize(given, "/srv", ".", SITES, "/run/uwsgi/app", DEFAULTS)
    assert set(git["code"]) == {"kind", "repo", "version"} and set(none["code"]) == {"kind"}
    assert set(git["code"]) | {"path", "id", "archive"} == Code.__required_keys__ | Code.__optional_keys__


def test_files_and_links_of_the_action_plugin() -> None:
    assert HostFile.__required_keys__ == {"path", "content", "mode", "kind"}
    assert HostFile.__optional_keys__ == {"group"}
    assert HostLink.__required_keys__ == {"path", "src", "kind"}
