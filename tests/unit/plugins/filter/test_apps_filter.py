"""Unit tests of plugins/filter/apps.py: ``apps_errors`` and ``apps_normalize``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ansible_collections.appmount.wsgi.plugins.filter import apps as apps_filter

App = dict[str, Any]
SRC: App = {"path": "code"}  # a directory that the ``base_dir`` fixture creates


def app(**overrides: Any) -> App:
    """A valid app ('blog' at '/blog') with ``overrides`` applied."""
    return {"name": "blog", "mount": "/blog", "module": "app:app", **overrides}


@pytest.fixture
def base_dir(tmp_path: Path) -> str:
    """A controller base directory holding the source directory ``code/``."""
    (tmp_path / "code").mkdir()
    return str(tmp_path)


# (apps, label the error starts with, distinctive fragment of the error)
REFUSED: list[Any] = [
    pytest.param(
        [app(), app(mount="/other")],
        "appmount_apps[1] (blog)",
        "name 'blog' is already used by appmount_apps[0]",
        id="duplicate-name",
    ),
    pytest.param(
        [app(), app(name="wiki")],
        "appmount_apps[1] (wiki)",
        "mount '/blog' is already used by app 'blog'",
        id="duplicate-mount",
    ),
    pytest.param(
        [app(name="Blog")],
        "appmount_apps[0] (Blog)",
        "name 'Blog' is invalid; allowed: lower-case letters",
        id="name-upper-case",
    ),
    pytest.param([app(name="my blog")], "appmount_apps[0] (my blog)", "name 'my blog' is invalid", id="name-space"),
    pytest.param([app(name="a" * 32)], f"appmount_apps[0] ({'a' * 32})", "at most 31 characters", id="name-too-long"),
    pytest.param(
        [app(mount="blog")], "appmount_apps[0] (blog)", "mount 'blog' must start with '/'", id="mount-no-leading-slash"
    ),
    pytest.param(
        [app(mount="/blog/")],
        "appmount_apps[0] (blog)",
        "mount '/blog/' must not end with '/'",
        id="mount-trailing-slash",
    ),
    pytest.param(
        [app(mount="/blog/../admin")],
        "appmount_apps[0] (blog)",
        "must not contain '.' or '..' segments",
        id="mount-dotdot",
    ),
    pytest.param(
        [app(mount="/blog//admin")], "appmount_apps[0] (blog)", "must not contain '//'", id="mount-double-slash"
    ),
    pytest.param(
        [app(module="app")],
        "appmount_apps[0] (blog)",
        "module 'app' is invalid; allowed: 'python.module:callable'",
        id="module-no-callable",
    ),
    pytest.param(
        [app(module="my-app:app")], "appmount_apps[0] (blog)", "module 'my-app:app' is invalid", id="module-bad-chars"
    ),
    pytest.param(
        [app(packges=["flask"])],
        "appmount_apps[0] (blog)",
        "unknown key 'packges'; allowed keys: cpu_quota, env, hooks, idle_timeout, memory_max, module",
        id="unknown-key",
    ),
    pytest.param(
        [app(processes="two")],
        "appmount_apps[0] (blog)",
        "processes 'two' is invalid; allowed: an integer",
        id="processes-string",
    ),
    pytest.param(
        [app(packages="flask")],
        "appmount_apps[0] (blog)",
        "packages 'flask' is invalid; allowed: a list of strings",
        id="packages-string",
    ),
    pytest.param([app(env=["A=1"])], "appmount_apps[0] (blog)", "env ['A=1'] is invalid; allowed: a mapping",
                 id="env-list"),
    pytest.param(
        [app(state="stopped")],
        "appmount_apps[0] (blog)",
        "state 'stopped' is invalid; allowed: present, disabled, absent",
        id="state-unknown",
    ),
    pytest.param(
        [app(source={"path": "missing"})],
        "appmount_apps[0] (blog)",
        "source.path 'missing' is not a directory on the controller",
        id="source-path-missing",
    ),
    pytest.param(
        [app(source={"path": "code", "git": "https://example.invalid/x.git"})],
        "appmount_apps[0] (blog)",
        "source needs exactly one of 'path'",
        id="source-path-and-git",
    ),
    pytest.param(
        [app(source={"path": "code", "version": "v1"})],
        "appmount_apps[0] (blog)",
        "source.version is only allowed with source.git",
        id="source-version-without-git",
    ),
    pytest.param(
        [app(source=SRC, static=[{"url": "/static", "path": "static"}]), app(name="assets", mount="/blog/static")],
        "appmount_apps[0] (blog)",
        "static url '/blog/static' collides with the mount of app 'assets'",
        id="static-url-collides-with-mount",
    ),
    pytest.param(
        [app(env={"1BAD": "x"})],
        "appmount_apps[0] (blog)",
        "env variable name '1BAD' is invalid; allowed: letters, digits and '_'",
        id="env-name-digit",
    ),
    pytest.param(
        [app(env={"A-B": "x"})], "appmount_apps[0] (blog)", "env variable name 'A-B' is invalid", id="env-name-dash"
    ),
    pytest.param(
        [app(env={"MOTD": "a\nb"})],
        "appmount_apps[0] (blog)",
        "env 'MOTD' must be a string without control characters (no newline)",
        id="env-multiline-value",
    ),
    pytest.param(
        [app(env={"TAB": "a\tb"})],
        "appmount_apps[0] (blog)",
        "env 'TAB' must be a string without control characters",
        id="env-control-character",
    ),
    pytest.param([app(memory_max="lots")], "appmount_apps[0] (blog)",
                 "memory_max 'lots' must be a size such as 512M or 2G", id="memory-max-word"),
    pytest.param([app(memory_max=0)], "appmount_apps[0] (blog)", "memory_max 0 must be more than 0",
                 id="memory-max-zero"),
    pytest.param([app(cpu_quota="1.5")], "appmount_apps[0] (blog)",
                 "cpu_quota '1.5' must be a percentage of one core such as 50% or 200%", id="cpu-quota-not-percent"),
    pytest.param([app(cpu_quota="0%")], "appmount_apps[0] (blog)", "cpu_quota '0%' must be a percentage",
                 id="cpu-quota-zero"),
    pytest.param([app(tasks_max=-1)], "appmount_apps[0] (blog)", "tasks_max -1 must be at least 1",
                 id="tasks-max-negative"),
    pytest.param([app(tasks_max="many")], "appmount_apps[0] (blog)", "tasks_max 'many' must be a number",
                 id="tasks-max-word"),
    pytest.param(
        [app(processes=0)],
        "appmount_apps[0] (blog)",
        "processes 0 is invalid; allowed: an integer of at least 1",
        id="processes-zero",
    ),
    pytest.param(
        [app(threads=True)],
        "appmount_apps[0] (blog)",
        "threads True is invalid; allowed: an integer",
        id="threads-bool",
    ),
    pytest.param(
        [app(request_log="yes")],
        "appmount_apps[0] (blog)",
        "request_log 'yes' is invalid; allowed: true or false",
        id="request-log-string",
    ),
    pytest.param(
        [app(source=SRC, requirements="../requirements.txt")],
        "appmount_apps[0] (blog)",
        "requirements '../requirements.txt' must not contain '..'",
        id="requirements-dotdot",
    ),
    pytest.param(
        [app(requirements="requirements.txt")],
        "appmount_apps[0] (blog)",
        "requirements needs a source",
        id="requirements-without-source",
    ),
    pytest.param(
        [app(static=[{"url": "/static", "path": "static"}])],
        "appmount_apps[0] (blog)",
        "static[0] needs a source",
        id="static-without-source",
    ),
    pytest.param(
        [app(source=SRC, static=[{"url": "/", "path": "static"}])],
        "appmount_apps[0] (blog)",
        "static[0].url '/' is invalid; allowed: '/seg[/seg...]'",
        id="static-url-root",
    ),
    pytest.param([app(hooks=[{"argv": []}])], "appmount_apps[0] (blog)", "hooks[0].argv must name a command",
                 id="hook-empty-argv"),
    pytest.param([app(hooks=[{"argv": "python manage.py migrate"}])], "appmount_apps[0] (blog)",
                 "hooks[0].argv 'python manage.py migrate' is invalid; allowed: a list of strings",
                 id="hook-argv-string"),
    pytest.param([app(hooks=[{"argv": ["true"], "timeout": 0}])], "appmount_apps[0] (blog)",
                 "hooks[0].timeout 0 is invalid; allowed: an integer of at least 1", id="hook-timeout-zero"),
    pytest.param([app(hooks=[{"argv": ["true"], "shell": True}])], "appmount_apps[0] (blog)",
                 "hooks[0] has unknown key 'shell'; allowed keys: argv, once, timeout", id="hook-unknown-key"),
    pytest.param([app(hooks=[{"timeout": 5}])], "appmount_apps[0] (blog)", "hooks[0].argv is required",
                 id="hook-without-argv"),
    pytest.param([app(scope_cookies="no")], "appmount_apps[0] (blog)",
                 "scope_cookies 'no' is invalid; allowed: true or false", id="scope-cookies-string"),
    pytest.param([app(static=[{"url": "/static", "path": ".", "root": "build"}])], "appmount_apps[0] (blog)",
                 "static[0].root 'build' is invalid; allowed: code, release", id="static-root-unknown"),
    pytest.param([app(idle_timeout=15)], "appmount_apps[0] (blog)",
                 "idle_timeout 15 is too short: every wake is a start, and systemd gives up on an app that starts 5 "
                 "times in 60 s (apps_start_limit_burst, apps_start_limit_interval); allowed: 0 (always running) or "
                 "at least 16 (seconds)", id="idle-timeout-below-the-start-limit"),
    pytest.param([app(idle_timeout=-30)], "appmount_apps[0] (blog)", "idle_timeout -30 is too short",
                 id="idle-timeout-negative"),
    pytest.param([app(idle_timeout="5m")], "appmount_apps[0] (blog)",
                 "idle_timeout '5m' is invalid; allowed: an integer", id="idle-timeout-string"),
    pytest.param(app(), "appmount_apps", "appmount_apps must be a list of apps", id="apps-not-a-list"),
    pytest.param(["blog"], "appmount_apps[0]", "appmount_apps[0] must be a mapping", id="entry-not-a-mapping"),
]


@pytest.mark.parametrize(("apps", "label", "fragment"), REFUSED)
def test_apps_errors_refuses(base_dir: str, apps: Any, label: str, fragment: str) -> None:
    errors: list[str] = apps_filter.apps_errors(apps, base_dir)
    assert len(errors) == 1, errors
    assert errors[0].startswith(label), errors
    assert fragment in errors[0], errors


VALID: list[Any] = [
    pytest.param([app(name="home", mount="/")], id="root-mount"),
    pytest.param([app(name="ping", mount="/tools/ping")], id="nested-mount"),
    pytest.param(
        [app(name="ping", mount="/ping", module="ping.wsgi:app", packages=["ping-app>=1"])],
        id="packages-and-module-only",
    ),
    pytest.param([app(), app(name="old", state="absent")], id="duplicate-mount-of-absent-app"),
    pytest.param(
        [
            app(
                source=SRC,
                requirements="requirements.txt",
                static=[{"url": "/static", "path": "static"}],
                env={"DEBUG": False, "WORKERS": 3},
                processes=4,
                state="disabled",
            )
        ],
        id="every-field",
    ),
    pytest.param([app(source={"git": "https://example.invalid/blog.git", "version": "v1.2"})], id="git-source"),
    pytest.param([app(idle_timeout=16)], id="idle-timeout-at-the-minimum"),
    pytest.param([app(idle_timeout=0)], id="idle-timeout-zero-always-running"),
    pytest.param(None, id="apps-none"),
    pytest.param([], id="apps-empty"),
]


@pytest.mark.parametrize("apps", VALID)
def test_apps_errors_accepts(base_dir: str, apps: Any) -> None:
    assert apps_filter.apps_errors(apps, base_dir) == []


IDLE_MINIMA = [((60, 5), 16), ((30, 3), 16), ((120, 3), 61), ((60, 2), 61), ((10, 1), 11)]


@pytest.mark.parametrize(("start_limit", "minimum"), IDLE_MINIMA)
def test_idle_minimum_keeps_the_wakes_under_the_start_limit(start_limit: tuple[int, int], minimum: int) -> None:
    assert apps_filter.idle_minimum(start_limit) == minimum
    interval, burst = start_limit
    # woken right after each idle exit, an app starts every `minimum` seconds: within `interval`, fewer starts than
    # `burst` (one when it is 1); a second less would allow one more
    assert interval // minimum + 1 <= max(1, burst - 1) < interval // (minimum - 1) + 1


@pytest.mark.parametrize(("start_limit", "refused", "accepted"), [([30, 3], 15, 16), ([120, 3], 60, 61)])
def test_apps_errors_refuses_an_idle_timeout_under_the_role_start_limit(
        base_dir: str, start_limit: list[int], refused: int, accepted: int) -> None:
    interval, burst = start_limit
    assert apps_filter.apps_errors([app(idle_timeout=refused)], base_dir, start_limit=start_limit) == [
        f"appmount_apps[0] (blog): idle_timeout {refused} is too short: every wake is a start, and systemd gives up on "
        f"an app that starts {burst} times in {interval} s (apps_start_limit_burst, apps_start_limit_interval); "
        f"allowed: 0 (always running) or at least {accepted} (seconds)"]
    assert apps_filter.apps_errors([app(idle_timeout=accepted)], base_dir, start_limit=start_limit) == []
    assert apps_filter.apps_errors([app(idle_timeout=0)], base_dir, start_limit=start_limit) == []


@pytest.mark.parametrize("idle_default", [10, -1])
def test_apps_errors_refuses_a_short_apps_default_idle_timeout(base_dir: str, idle_default: int) -> None:
    errors = apps_filter.apps_errors([app(), app(name="wiki", mount="/wiki", idle_timeout=0)], base_dir,
                                     idle_default=idle_default)
    assert errors == [f"apps_default_idle_timeout {idle_default} is too short: every wake is a start, and systemd "
                      "gives up on an app that starts 5 times in 60 s (apps_start_limit_burst, "
                      "apps_start_limit_interval); allowed: 0 (always running) or at least 16 (seconds)"]


@pytest.mark.parametrize("idle_default", [0, 16, 300])
def test_apps_errors_accepts_apps_default_idle_timeout(base_dir: str, idle_default: int) -> None:
    assert apps_filter.apps_errors([app()], base_dir, start_limit=(60, 5), idle_default=idle_default) == []


def test_apps_errors_reports_every_problem_of_an_app(base_dir: str) -> None:
    errors: list[str] = apps_filter.apps_errors([app(name="Bad", mount="bad", module="bad")], base_dir)
    assert len(errors) == 3
    assert all(e.startswith("appmount_apps[0] (Bad): ") for e in errors)


SITE_NAMES = ["main", "tools"]


@pytest.mark.parametrize(("apps", "message"), [
    pytest.param([app(site="shop")], "appmount_apps[0] (blog): site 'shop' is not a site of nginx_sites; sites: main, "
                 "tools", id="unknown-site"),
    pytest.param([app(), app(name="wiki", site="main")], "appmount_apps[1] (wiki): mount '/blog' is already used by "
                 "app 'blog' on site 'main'; mounts must be unique per site", id="same-mount-on-the-default-site"),
    pytest.param([app(site="tools", source=SRC, static=[{"url": "/static", "path": "s"}]),
                  app(name="wiki", mount="/blog/static", site="tools")],
                 "appmount_apps[0] (blog): static url '/blog/static' collides with the mount of app 'wiki' on site "
                 "'tools'", id="static-url-on-the-same-site"),
])
def test_apps_errors_refuses_on_sites(base_dir: str, apps: Any, message: str) -> None:
    assert apps_filter.apps_errors(apps, base_dir, SITE_NAMES) == [message + "; choose another url"
                                                                   if "static" in message else message]


def test_an_absent_app_may_name_a_site_that_is_gone(base_dir: str) -> None:
    gone = app(site="shop", state="absent")
    assert apps_filter.apps_errors([gone], base_dir, SITE_NAMES) == []
    [rec] = normalize([gone])
    assert rec["site"] == "main" and rec["nginx_stale"][0].startswith("/etc/nginx/appmount/sites/tools/")


def test_two_sites_may_use_the_same_mount(base_dir: str) -> None:
    apps = [app(), app(name="wiki", site="tools"), app(name="docs", mount="/blog/static", site="tools"),
            app(name="shop", mount="/shop", source=SRC, static=[{"url": "/static", "path": "s"}])]
    assert apps_filter.apps_errors(apps, base_dir, SITE_NAMES) == []


def test_apps_errors_ignores_static_of_absent_app(base_dir: str) -> None:
    gone = app(source=SRC, static=[{"url": "/static", "path": "s"}], state="absent")
    apps = [gone, app(name="x", mount="/blog/static")]
    assert apps_filter.apps_errors(apps, base_dir) == []


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"name": "blog\n"}, id="name"),
        pytest.param({"mount": "/blog\n"}, id="mount"),
        pytest.param({"module": "app:app\n"}, id="module"),
        pytest.param({"env": {"DEBUG\n": "1"}}, id="env-name"),
    ],
)
def test_apps_errors_refuses_trailing_newline(base_dir: str, overrides: App) -> None:
    assert len(apps_filter.apps_errors([app(**overrides)], base_dir)) == 1


ROOT = "/srv/appmount"


# the role's apps_default_* values, as preflight.yml passes them
ROLE_DEFAULTS: App = {"processes": 2, "threads": 4, "request_log": False, "memory_max": "1G", "cpu_quota": "",
                      "tasks_max": 512, "idle_timeout": 0, "listen": 1024}


# nginx_site_endpoints as the nginx role gives them (the keys apps_normalize reads)
SITES: list[App] = [{"name": "main", "locations_dir": "/etc/nginx/appmount"},
                    {"name": "tools", "locations_dir": "/etc/nginx/appmount/sites/tools"}]


def normalize(apps: list[App], base_dir: str = "/ctl", **defaults: Any) -> list[App]:
    return apps_filter.apps_normalize(apps, ROOT, base_dir, SITES, "/run/uwsgi/app", {**ROLE_DEFAULTS, **defaults})


def test_normalize_places_each_app_on_its_site_and_removes_it_from_the_others() -> None:
    blog, tools = normalize([app(), app(name="ping", mount="/blog", site="tools")])
    assert (blog["site"], blog["nginx_enabled"]) == ("main", "/etc/nginx/appmount/locations-enabled/blog.conf")
    assert blog["nginx_stale"] == ["/etc/nginx/appmount/sites/tools/locations-enabled/blog.conf",
                                   "/etc/nginx/appmount/sites/tools/locations-available/blog.conf"]
    assert (tools["site"], tools["nginx_conf"]) == (
        "tools", "/etc/nginx/appmount/sites/tools/locations-available/ping.conf")
    assert tools["nginx_stale"] == ["/etc/nginx/appmount/locations-enabled/ping.conf",
                                    "/etc/nginx/appmount/locations-available/ping.conf"]


def test_normalize_derives_paths_user_and_socket() -> None:
    [rec] = normalize([app(source=SRC)])
    assert rec["user"] == "_blog"
    assert rec["home"] == f"{ROOT}/blog"
    assert rec["code_dir"] == f"{ROOT}/blog/current/code"
    assert rec["venv"] == f"{ROOT}/blog/current/venv"
    assert rec["fifo"] == "/run/appmount/blog/fifo"
    assert rec["env_file"] == "/etc/uwsgi/apps-available/blog.env"
    assert rec["unit_dropin"] == "/etc/systemd/system/appmount-app@blog.service.d/appmount.conf"
    assert rec["uwsgi_ini"] == "/etc/uwsgi/apps-available/blog.ini"
    assert rec["uwsgi_enabled"] == "/etc/uwsgi/apps-enabled/blog.ini"
    assert rec["nginx_conf"] == "/etc/nginx/appmount/locations-available/blog.conf"
    assert rec["nginx_enabled"] == "/etc/nginx/appmount/locations-enabled/blog.conf"
    assert rec["purge"] == [rec["uwsgi_ini"], rec["env_file"], "/etc/systemd/system/appmount-app@blog.service.d",
                            rec["home"], "/run/uwsgi/app/blog", "/var/log/uwsgi/app/blog.log"]
    assert rec["data_dir"] == f"{ROOT}/blog/data"
    assert rec["socket"] == "/run/uwsgi/app/blog/socket"
    assert (rec["state"], rec["listen"]) == ("present", 1024)


@pytest.mark.parametrize(("mount", "location"), [("/blog", "/blog/"), ("/tools/ping", "/tools/ping/"), ("/", "/")])
def test_normalize_location(mount: str, location: str) -> None:
    assert normalize([app(mount=mount)])[0]["location"] == location


@pytest.mark.parametrize(
    ("mount", "url", "path", "expected"),
    [
        ("/blog", "/static", "static", {"url": "/blog/static/", "dir": f"{ROOT}/blog/current/code/static/"}),
        ("/", "/assets/css", "web/css/", {"url": "/assets/css/", "dir": f"{ROOT}/blog/current/code/web/css/"}),
    ],
)
def test_normalize_static(mount: str, url: str, path: str, expected: dict[str, str]) -> None:
    [rec] = normalize([app(mount=mount, source=SRC, static=[{"url": url, "path": path}])])
    assert rec["static"] == [expected]


def test_normalize_env() -> None:
    [rec] = normalize([app(env={"DEBUG": True, "CACHE": False, "WORKERS": 3, "MODE": "prod",
                                "APPMOUNT_MOUNT": "/elsewhere"})])
    assert rec["env"] == {
        "APPMOUNT_APP": "blog",
        "APPMOUNT_MOUNT": "/blog",
        "APPMOUNT_DATA_DIR": f"{ROOT}/blog/data",
        "APPMOUNT_STATIC_DIR": f"{ROOT}/blog/current/static",
        "APPMOUNT_CALLABLE": "app:app",
        "DEBUG": "true",
        "CACHE": "false",
        "WORKERS": "3",
        "MODE": "prod",
    }


@pytest.mark.parametrize(
    ("path", "expected"), [("code", "/ctl/code"), ("../apps/./blog", "/apps/blog"), ("/abs/x", "/abs/x")]
)
def test_normalize_resolves_source_path(path: str, expected: str) -> None:
    assert normalize([app(source={"path": path})])[0]["code"] == {"kind": "path", "path": expected}


def test_normalize_keeps_git_source() -> None:
    source = {"git": "https://example.invalid/blog.git", "version": "v1"}
    code = {"kind": "git", "repo": source["git"], "version": "v1"}
    assert normalize([app(source=source)])[0]["code"] == code
    assert normalize([app(source={"git": source["git"]})])[0]["code"]["version"] == "HEAD"


@pytest.mark.parametrize(("given", "expected"), [({}, 5), ({"processes": 3}, 3)])
def test_normalize_processes(given: App, expected: int) -> None:
    assert normalize([app(**given)], processes=5)[0]["processes"] == expected


@pytest.mark.parametrize(("given", "expected"), [({}, 7), ({"threads": 1}, 1)])
def test_normalize_threads(given: App, expected: int) -> None:
    [rec] = normalize([app(**given)], threads=7)
    assert rec["threads"] == expected


@pytest.mark.parametrize(
    ("default", "given", "expected"),
    [(False, {}, False), (True, {}, True), (False, {"request_log": True}, True), (True, {"request_log": False}, False)],
)
def test_normalize_request_log(default: bool, given: App, expected: bool) -> None:
    assert normalize([app(**given)], request_log=default)[0]["request_log"] is expected


@pytest.mark.parametrize(
    ("default", "given", "expected"),
    [(0, {}, 0), (300, {}, 300), (0, {"idle_timeout": 60}, 60), (300, {"idle_timeout": 0}, 0)],
)
def test_normalize_idle_timeout_from_the_app_or_the_role(default: int, given: App, expected: int) -> None:
    assert normalize([app(**given)], idle_timeout=default)[0]["idle_timeout"] == expected


def test_normalize_without_source() -> None:
    [rec] = normalize([app(packages=["blog-app==1.0"])])
    assert (rec["code"], rec["requirements"]) == ({"kind": "none"}, None)
    assert rec["packages"] == ["blog-app==1.0"]


def test_normalize_keeps_requirements_relative_to_the_code() -> None:
    [rec] = normalize([app(source=SRC, requirements="req/prod.txt")])
    assert rec["requirements"] == "req/prod.txt"


def test_normalize_keeps_order_and_state() -> None:
    recs = normalize([app(), app(name="wiki", mount="/wiki", state="absent")])
    assert [(r["name"], r["state"]) for r in recs] == [("blog", "present"), ("wiki", "absent")]


def test_normalize_none_is_empty() -> None:
    assert normalize(None) == []  # type: ignore[arg-type]


def test_filter_module_exports() -> None:
    filters = apps_filter.FilterModule().filters()
    assert filters == {"apps_errors": apps_filter.apps_errors, "apps_normalize": apps_filter.apps_normalize}


@pytest.mark.parametrize("given", [{}, {"memory_max": "256M", "cpu_quota": "50%", "tasks_max": 64}])
def test_normalize_limits_from_the_app_or_the_role(given: App) -> None:
    role = {"memory_max": "2G", "cpu_quota": "", "tasks_max": 100}
    [rec] = normalize([app(**given)], **role)
    expected = {key: str(given.get(key, role[key])) for key in role}
    assert {key: rec[key] for key in role} == expected


@pytest.mark.parametrize("value", ["512M", "2G", "1.5G", "25%", "infinity", 1073741824])
def test_apps_errors_accepts_memory_max(base_dir: str, value: Any) -> None:
    assert apps_filter.apps_errors([app(memory_max=value, cpu_quota="200%", tasks_max="infinity")], base_dir) == []


def test_normalize_hooks_with_their_defaults() -> None:
    [rec] = normalize([app(hooks=[{"argv": ["python", "manage.py", "migrate"], "once": True},
                                  {"argv": ["python", "manage.py", "collectstatic"], "timeout": 60}])])
    assert rec["hooks"] == [{"argv": ["python", "manage.py", "migrate"], "timeout": 600, "once": True},
                            {"argv": ["python", "manage.py", "collectstatic"], "timeout": 60, "once": False}]
    assert normalize([app()])[0]["hooks"] == []


@pytest.mark.parametrize(("root", "path", "expected"), [
    ("code", "static", f"{ROOT}/blog/current/code/static/"),
    ("release", ".", f"{ROOT}/blog/current/static/"),
    ("release", "css/", f"{ROOT}/blog/current/static/css/"),
])
def test_normalize_static_from_the_code_or_the_release(root: str, path: str, expected: str) -> None:
    [rec] = normalize([app(source=SRC, static=[{"url": "/static", "path": path, "root": root}])])
    assert rec["static"] == [{"url": "/blog/static/", "dir": expected}]
    assert rec["static_dir"] == f"{ROOT}/blog/current/static"


def test_static_of_the_release_needs_no_source(base_dir: str) -> None:
    assert apps_filter.apps_errors([app(static=[{"url": "/s", "path": ".", "root": "release"}])], base_dir) == []


@pytest.mark.parametrize(("mount", "given", "expected"), [
    ("/blog", {}, True), ("/blog", {"scope_cookies": False}, False), ("/", {}, False)])
def test_normalize_scope_cookies_on_by_default_and_never_at_the_root(mount: str, given: App, expected: bool) -> None:
    [rec] = normalize([app(mount=mount, **given)])
    assert rec["scope_cookies"] is expected and rec["prefix_check"] is True
