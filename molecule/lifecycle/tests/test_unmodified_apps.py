"""Unmodified apps under a prefix: the cookie wrapper's off-switch, the health gate's prefix check, and release
hooks (a failing hook, a hook past its timeout, a migration that keeps the rows, hooks marked `once`).

Each test deploys the app list it needs and puts the example apps back as they were when it ends, so the tests
run in any order. The Django example (examples/apps/django) is the app whose hooks are changed.
"""

from __future__ import annotations

import copy
import shlex
import shutil
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from appmount_testinfra import DJANGO, csrf_token, example_apps, get_host, http, molecule_names, playbook

NAMES = molecule_names()
DATA = "/srv/appmount/django/data"
MIGRATION = '''from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("guestbook", "0002_admin_user")]

    operations = [
        migrations.AddField(model_name="entry", name="author", field=models.CharField(max_length=50, null=True)),
    ]
'''


def apps(code: Path, **changes: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The example apps with their code in `code`, each updated with `changes[name]`."""
    result = []
    for app in copy.deepcopy(example_apps()):
        app["source"]["path"] = str(code / app["source"]["path"])
        app.update(changes.get(app["name"], {}))
        result.append(app)
    return result


def django_hooks(*extra: Dict[str, Any]) -> Dict[str, Any]:
    """The Django example's hooks with `extra` hooks after them."""
    [django] = [a for a in example_apps() if a["name"] == "django"]
    return {"hooks": django["hooks"] + list(extra)}


# What these tests change is the apps role's (cookies, hooks): the runs leave the nginx and uwsgi roles out, which
# have nothing to do here (the full playbook runs in test_lifecycle.py)
APPS_ONLY = ("--tags", "apps")


def deploy(app_list: List[Dict[str, Any]], *args: str) -> str:
    run = playbook(app_list, *APPS_ONLY, *args)
    assert run.rc == 0, run.output[-3000:]
    return run.output


def refused(app_list: List[Dict[str, Any]], *args: str) -> str:
    run = playbook(app_list, *APPS_ONLY, *args)
    assert run.rc != 0, run.output[-3000:]
    return run.output


def current(name: str, app: str = "django") -> str:
    return get_host(name).check_output(f"readlink /srv/appmount/{app}/current")


def sql(name: str, query: str) -> str:
    """A query on the Django example's SQLite database, as the app's user."""
    script = f"import sqlite3; print(sqlite3.connect('{DATA}/db.sqlite3').execute({query!r}).fetchall())"
    return get_host(name).check_output(f"runuser -u _django -- python3 -c {shlex.quote(script)}")


@pytest.fixture
def examples_back(code: Path) -> Iterator[None]:
    """Whatever a test changes, the example apps are deployed as they are in examples/apps.yml afterwards."""
    yield
    deploy(apps(code))


@pytest.mark.usefixtures("examples_back")
def test_scope_cookies_off_brings_path_slash_back_and_the_gate_names_the_leak(code: Path) -> None:
    deploy(apps(code))
    for name in NAMES:
        assert http(get_host(name), "/notes/").cookie_paths() == {"session": "/notes"}

    output = refused(apps(code, notes={"scope_cookies": False}))
    assert "notes: its answer leaks out of its prefix: Set-Cookie session Path=/" in output

    deploy(apps(code, notes={"scope_cookies": False, "prefix_check": False}))
    for name in NAMES:
        host = get_host(name)
        assert http(host, "/notes/").cookie_paths() == {"session": "/"}
        assert http(host, "/blog/").cookie_paths() == {"session": "/blog"}  # the other apps keep theirs
        assert "appmount_prefix" not in host.file("/etc/uwsgi/apps-available/notes.ini").content_string


@pytest.mark.usefixtures("examples_back")
def test_a_failing_hook_leaves_the_current_release_serving(code: Path) -> None:
    deploy(apps(code))
    before = {name: current(name) for name in NAMES}
    releases = {name: get_host(name).check_output("ls /srv/appmount/django/releases") for name in NAMES}
    no = {"argv": ["python", "-c", "import sys; print('the hook says no'); sys.exit(4)"]}
    output = refused(apps(code, django=django_hooks(no)))
    assert "django: hook 3 (python -c 'import sys; print('\"'\"'the hook says no'\"'\"'); sys.exit(4)') failed " \
           "with exit status 4" in output
    assert "the hook says no" in output

    slow = {"argv": ["sleep", "60"], "timeout": 2}
    output = refused(apps(code, django=django_hooks(slow)))
    assert "django: hook 3 (sleep 60) ran past its timeout of 2 s" in output
    for name in NAMES:
        host = get_host(name)
        assert current(name) == before[name]
        assert http(host, f"{DJANGO}/").status == 200
        # the failed releases are gone, and nothing of the app's user is left in the releases
        assert host.check_output("ls /srv/appmount/django/releases") == releases[name]
        assert host.run("find /srv/appmount/django/releases -user _django").stdout == ""


@pytest.mark.usefixtures("examples_back")
def test_a_release_whose_hook_adds_a_migration_keeps_the_rows(code: Path) -> None:
    deploy(apps(code))
    text = f"kept-{uuid.uuid4().hex[:8]}"
    for name in NAMES:
        host = get_host(name)
        jar = f"/tmp/jar-{uuid.uuid4().hex}"
        token = csrf_token(http(host, f"{DJANGO}/", jar=jar).body)
        assert http(host, f"{DJANGO}/add", "POST", data=f"csrfmiddlewaretoken={token}&text={text}", jar=jar).status == 302
    django_copy = code.parent / f"django-{uuid.uuid4().hex[:6]}"  # the other apps' code stays as it is
    shutil.copytree(code / "apps" / "django", django_copy, ignore=shutil.ignore_patterns("__pycache__"))
    (django_copy / "guestbook" / "migrations" / "0003_entry_author.py").write_text(MIGRATION)
    models = django_copy / "guestbook" / "models.py"
    models.write_text(models.read_text().replace(
        "    created = models.DateTimeField(auto_now_add=True)\n",
        "    created = models.DateTimeField(auto_now_add=True)\n    author = models.CharField(max_length=50, null=True)\n"))
    before = {name: current(name) for name in NAMES}
    deploy(apps(code, django={"source": {"path": str(django_copy)}}))
    for name in NAMES:
        assert current(name) != before[name]
        assert "author" in sql(name, "select name from pragma_table_info('guestbook_entry')")
        assert text in sql(name, "select text from guestbook_entry")
        assert f"<li>{text}</li>" in http(get_host(name), f"{DJANGO}/").body


@pytest.mark.usefixtures("examples_back")
def test_hooks_marked_once_run_only_where_the_host_is_told_to(code: Path) -> None:
    marker = f"once-{uuid.uuid4().hex[:8]}"
    once = {"argv": ["python", "-c", f"import os; open(os.environ['APPMOUNT_DATA_DIR'] + '/{marker}', 'w')"],
            "once": True}
    output = deploy(apps(code, django=django_hooks(once)), "-e", "apps_run_once_hooks=false")
    assert "django: hook marked once skipped on this host (apps_run_once_hooks is false): python -c" in output
    for name in NAMES:
        host = get_host(name)
        assert not host.file(f"{DATA}/{marker}").exists
        assert http(host, f"{DJANGO}/").status == 200
    # the same hooks with another marker: a new release; playbooks/site.yml runs hooks marked once on the first
    # host of the rollout only (a shared database is migrated once), and the other host says it skipped them
    again = dict(once, argv=once["argv"][:2] + [once["argv"][2].replace(marker, marker + "-2")])
    output = deploy(apps(code, django=django_hooks(again)))
    assert "django: hook ran: python manage.py migrate --noinput" in output
    assert "django: hook marked once skipped on this host" in output
    ran = [name for name in NAMES if get_host(name).file(f"{DATA}/{marker}-2").exists]
    assert ran == NAMES[:1], ran
