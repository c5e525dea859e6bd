"""The bench app: a short text at its root and one static file (static/hello.txt)."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index() -> str:
    return "hello from the appmount bench app\n"
