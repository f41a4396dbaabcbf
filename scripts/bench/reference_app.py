"""The reference pages `make bench` measures the product's pages against, served by the same
gunicorn settings: a 50-row Jinja table from one SQLite query (`/table`), and a bare route
(`/bare`). `python scripts/bench/reference_app.py DB` creates the table's database first.

    REFERENCE_DB=/tmp/ref.db gunicorn -w 4 'scripts.bench.reference_app:create_app()'
"""

import os
import sqlite3
import sys
from contextlib import closing

from flask import Flask, render_template_string

TABLE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Référence</title></head>
<body><main><h1>Référence</h1>
<table><thead><tr><th>N°</th><th>Entreprise</th><th>Identifiant</th><th>Statut</th><th>Modifié</th></tr></thead>
<tbody>{% for row in rows %}<tr><td>{{ row[0] }}</td><td>{{ row[1] }}</td><td>{{ row[2] }}</td>
<td>{{ row[3] }}</td><td>{{ row[4] }}</td></tr>{% endfor %}</tbody></table></main></body></html>"""


def create(path, rows=1000):
    with closing(sqlite3.connect(path)) as con, con:
        con.execute("DROP TABLE IF EXISTS company")
        con.execute(
            "CREATE TABLE company (id INTEGER PRIMARY KEY, name TEXT, identifier TEXT,"
            " status TEXT, updated TEXT)"
        )
        con.executemany(
            "INSERT INTO company VALUES (?, ?, ?, ?, ?)",
            [
                (i, f"Société {i:04d} SARL", f"B{100000 + i}", "transmis", "2026-11-23 10:00")
                for i in range(rows)
            ],
        )


def create_app():
    app = Flask(__name__)
    path = os.environ["REFERENCE_DB"]

    @app.get("/table")
    def table():
        # One connection and one query per request, as a small app without a pool does.
        with closing(sqlite3.connect(path)) as con:
            rows = con.execute("SELECT * FROM company ORDER BY id LIMIT 50").fetchall()
        return render_template_string(TABLE, rows=rows)

    @app.get("/bare")
    def bare():
        return "ok"

    return app


if __name__ == "__main__":
    create(sys.argv[1])
