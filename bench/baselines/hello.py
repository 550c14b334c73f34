"""The floor of any Flask app: one route, one constant string, run under the same gunicorn settings as ours.

bench/http_load.py compares our competency GET with it: whatever our service does on top of routing a
request through Flask and gunicorn is what the ratio measures.
"""
from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    """The cheapest possible answer; Flask adds the headers."""
    return "Hello, World!"
