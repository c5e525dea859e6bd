"""Example Flask app: url_for links, redirects, a POST form, static files, the session."""

from __future__ import annotations

import json
import os
from pathlib import Path

from flask import Flask, jsonify, redirect, render_template_string, request, session, url_for

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ.get("BLOG_SECRET_KEY", "dev-only")
# No cookie settings: Flask sends its session cookie with Path=/, and
# appmount.wsgi scopes it to the app's mount (scope_cookies).

POSTS = Path(os.environ.get("APPMOUNT_DATA_DIR", ".")) / "posts.jsonl"

PAGE = """<!doctype html>
<html><head><title>Blog</title>
<link rel="stylesheet" href="{{ url_for('static', filename='style.css') }}"></head>
<body><h1>The blog</h1>
<p>Visits in this session: <span id="visits">{{ visits }}</span></p>
<ul>{% for post in posts %}<li>{{ post }}</li>{% endfor %}</ul>
<form method="post" action="{{ url_for('add') }}"><input name="title"><button>Post</button></form>
<p><a id="about" href="{{ url_for('about') }}">About</a></p>
</body></html>
"""


def read_posts() -> list[str]:
    if not POSTS.exists():
        return []
    return [json.loads(line)["title"] for line in POSTS.read_text().splitlines() if line]


@app.get("/")
def index() -> str:
    session["visits"] = session.get("visits", 0) + 1
    return render_template_string(PAGE, visits=session["visits"], posts=read_posts())


@app.post("/add")
def add():  # type: ignore[no-untyped-def]
    title = request.form.get("title", "").strip()
    if title:
        with POSTS.open("a") as out:
            out.write(json.dumps({"title": title}) + "\n")
    return redirect(url_for("index"))


@app.get("/about")
def about() -> str:
    return "A Flask blog served by appmount.wsgi."


@app.get("/go")
def go():  # type: ignore[no-untyped-def]
    return redirect(url_for("about"))


@app.get("/_env")
def env():  # type: ignore[no-untyped-def]
    return jsonify(
        app="blog",
        script_name=request.environ.get("SCRIPT_NAME"),
        path_info=request.environ.get("PATH_INFO"),
        visits=session.get("visits", 0),
    )
