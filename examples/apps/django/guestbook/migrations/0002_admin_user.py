"""The admin account, created once by the migrate hook when DJANGO_ADMIN_PASSWORD is set."""

import os

from django.contrib.auth.hashers import make_password
from django.db import migrations


def create_admin(apps, schema_editor):  # type: ignore[no-untyped-def]
    password = os.environ.get("DJANGO_ADMIN_PASSWORD")
    user = apps.get_model("auth", "User")
    if password and not user.objects.filter(username="admin").exists():
        user.objects.create(username="admin", password=make_password(password), is_staff=True, is_superuser=True)


class Migration(migrations.Migration):
    dependencies = [
        ("guestbook", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_admin, migrations.RunPython.noop)]
