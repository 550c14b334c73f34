"""``ckg serve`` start-up, settings and shutdown, and the ``ckg query`` client."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest
import rdflib
import requests
from click.testing import CliRunner

from catalogue_fixtures import BROKEN, FIXTURES, assemble
from ckg.cli import cli
from conftest import ROOT, _server_env, _wait_until_up, free_port, start_server
from deploy.procs import stop
from test_sparql_limits import RUNAWAY, SLACK, settled_descendants
from tests.hostile_support import descendants

SKOS = "http://www.w3.org/2004/02/skos/core#"


# ---- serve: start-up failures ----

def test_bad_catalogue_stops_start_up_with_the_problem_list(tmp_path):
    catalogue = assemble(tmp_path / "catalogue", BROKEN / "many-problems")
    result = subprocess.run([sys.executable, "-m", "ckg.cli", "serve", "--port", str(free_port()), str(catalogue)],
                            cwd=ROOT, env=_server_env(None), capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "problems found" in result.stderr and "the server was not started" in result.stderr
    assert str(catalogue) in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_port_in_use_is_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "ckg.cli", "serve", "--port", str(port)],
                                cwd=ROOT, env=_server_env(None), capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "--port" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_setting_from_the_environment_is_named():
    result = subprocess.run([sys.executable, "-m", "ckg.cli", "serve"], cwd=ROOT, capture_output=True, text=True,
                            env=_server_env({"CKG_QUERY_TIMEOUT": "soon"}), timeout=60)
    assert result.returncode == 2
    assert "CKG_QUERY_TIMEOUT" in result.stderr and "Traceback" not in result.stderr


# ---- serve: settings from the environment ----

def test_settings_from_environment_variables(tmp_path):
    catalogue = assemble(tmp_path / "mini", FIXTURES / "valid-mini")
    port = free_port()
    env = _server_env({"CKG_HOST": "127.0.0.1", "CKG_PORT": str(port), "CKG_WORKERS": "1", "CKG_THREADS": "1", "CKG_SPARQL_SLOTS": "1",
                       "CKG_QUERY_TIMEOUT": "1", "CKG_MAX_RESULTS": "5", "CKG_BASE": "http://example.org/ckg/",
                       "CKG_CATALOG": str(catalogue)})
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "ckg.cli", "serve"], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_up(process, url, log)
        endpoint = url + "sparql"
        description = requests.get(endpoint, headers={"Accept": "application/n-triples"}).text
        assert "<http://example.org/ckg/sparql>" in description  # CKG_BASE
        ask = requests.get(endpoint, params={"query": "ASK { <http://example.org/ckg/competency/luisteren> ?p ?o }"})
        assert ask.json()["boolean"] is True  # CKG_CATALOG
        too_many = requests.get(endpoint, params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 6"})
        assert too_many.status_code == 400 and "more than 5 rows" in too_many.text  # CKG_MAX_RESULTS
        assert requests.get(endpoint, params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 5"}).status_code == 200
        stopped = requests.get(endpoint, params={"query": RUNAWAY}, timeout=1 + SLACK)  # well before the 10 s default
        assert stopped.status_code == 503 and "the 1 s this endpoint allows" in stopped.text  # CKG_QUERY_TIMEOUT
        # CKG_WORKERS=1, CKG_SPARQL_SLOTS=1: one worker with one query process.
        assert len(descendants(process.pid)) == 2
        assert "Serving" in log.read_text() and f"http://127.0.0.1:{port}/sparql" in log.read_text()
    finally:
        stop(process)


def test_stopping_the_server_stops_every_process():
    with start_server("--workers", "2", "--threads", "2") as url:
        processes = settled_descendants(url.pid, 2 + 2 * 2)
        assert len(processes) == 2 + 2 * 2  # two workers, each with two query processes
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(pid) for pid in processes):
        time.sleep(0.1)
    assert not [pid for pid in processes if _alive(pid)]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# ---- query ----

LABELS = f"PREFIX skos: <{SKOS}> SELECT ?c ?label WHERE {{ ?c a skos:ConceptScheme ; skos:prefLabel ?label }}"


def run_query(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["query", *args], input=input)


def test_query_prints_a_table(sparql_endpoint):
    result = run_query("--endpoint", sparql_endpoint, LABELS)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["c", "label"] and set(lines[1]) <= {"-", " "}
    assert lines[-1] == f"({len(lines) - 3} rows)" and len(lines) > 3


def test_query_from_a_file_and_from_stdin(sparql_endpoint, tmp_path):
    file = tmp_path / "q.rq"
    file.write_text("ASK { ?s ?p ?o }", encoding="utf-8")
    assert run_query("-e", sparql_endpoint, str(file)).output.strip() == "true"
    assert run_query("-e", sparql_endpoint, "-", input="ASK { ?s <http://example.org/nope> ?o }").output.strip() == "false"


@pytest.mark.parametrize("fmt, check", [
    ("json", lambda out: json.loads(out)["results"]["bindings"]),
    ("csv", lambda out: out.startswith("c,label")),
    ("tsv", lambda out: out.startswith("?c\t?label")),
    ("xml", lambda out: "<sparql" in out),
])
def test_query_raw_formats(sparql_endpoint, fmt, check):
    result = run_query("-e", sparql_endpoint, "--format", fmt, LABELS)
    assert result.exit_code == 0, result.output
    assert check(result.output)


@pytest.mark.parametrize("fmt, marker", [("table", " a <"), ("turtle", " a <"), ("jsonld", '"@id"'),
                                         ("rdfxml", "<rdf:RDF")])
def test_query_graph_results(sparql_endpoint, fmt, marker):
    query = "CONSTRUCT WHERE { ?s a <http://www.w3.org/2004/02/skos/core#ConceptScheme> }"
    result = run_query("-e", sparql_endpoint, "-f", fmt, query)
    assert result.exit_code == 0, result.output
    assert marker in result.output
    parsed = rdflib.Graph().parse(data=result.output, format={"table": "turtle", "turtle": "turtle",
                                                              "jsonld": "json-ld", "rdfxml": "xml"}[fmt])
    schemes = set(parsed.subjects(rdflib.RDF.type, rdflib.SKOS.ConceptScheme))
    assert schemes == {rdflib.URIRef("https://w3id.org/competency-kg/scheme"),
                       rdflib.URIRef("https://w3id.org/competency-kg/levels")} and len(parsed) == 2


def test_query_reports_a_bad_query(sparql_endpoint):
    result = run_query("-e", sparql_endpoint, "SELECT * WHERE { ?s ?p")
    assert result.exit_code == 1
    assert "refused the query" in result.output and "not valid SPARQL" in result.output


def test_query_reports_an_unreachable_endpoint():
    result = run_query("-e", f"http://127.0.0.1:{free_port()}/sparql", "ASK {}")
    assert result.exit_code == 1 and "cannot reach" in result.output and "ckg serve" in result.output


def test_query_reports_a_client_side_timeout(sparql_endpoint):
    result = run_query("-e", sparql_endpoint, "--timeout", "1", RUNAWAY)
    assert result.exit_code == 1 and "no answer within 1 s" in result.output


def test_query_reports_the_server_time_limit(sparql_endpoint):
    result = run_query("-e", sparql_endpoint, RUNAWAY)
    assert result.exit_code == 1 and "503" in result.output and "stopped" in result.output
