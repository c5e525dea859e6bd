"""Example Flask app that keeps notes in the session (appmount.wsgi scopes its cookie to the mount)."""

from __future__ import annotations

import os

from flask import Flask, jsonify, redirect, render_template_string, request, session, url_for

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ.get("NOTES_SECRET_KEY", "dev-only")

PAGE = """<!doctype html>
<html><head><title>Notes</title></head>
<body><h1>Notes</h1>
<p>Visits in this session: <span id="visits">{{ visits }}</span></p>
<ol>{% for note in notes %}<li>{{ note }}</li>{% endfor %}</ol>
<form method="post" action="{{ url_for('index') }}"><input name="note"><button>Add</button></form>
</body></html>
"""


@app.route("/", methods=["GET", "POST"])
def index():  # type: ignore[no-untyped-def]
    if request.method == "POST":
        session["notes"] = [*session.get("notes", []), request.form.get("note", "")]
        return redirect(url_for("index"))
    session["visits"] = session.get("visits", 0) + 1
    return render_template_string(PAGE, visits=session["visits"], notes=session.get("notes", []))


@app.get("/_env")
def env():  # type: ignore[no-untyped-def]
    return jsonify(
        app="notes",
        script_name=request.environ.get("SCRIPT_NAME"),
        url_scheme=request.environ.get("wsgi.url_scheme"),
        external=url_for("index", _external=True),
        path_info=request.environ.get("PATH_INFO"),
        visits=session.get("visits", 0),
    )
