"""Settings that the README promises through environment variables, and promises about how `ckg serve` runs.

Each setting is read from its variable by the real command (`ckg serve` under gunicorn) or by the
app factory, and the test looks at an effect that differs from the default, so a variable that is
ignored fails the test. (CKG_SPARQL_CACHE_MIB is in test_sparql_cache.py.)
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from conftest import ROOT, _server_env, start_server
from test_sparql_limits import settled_descendants

sys.path.insert(0, str(ROOT / "bench"))
from synthetic import generate  # noqa: E402

MEMORY_HOG = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l } ORDER BY ?a ?f ?i ?l"
"""Billions of rows to sort: reaches any memory limit long before a generous time limit."""


@pytest.fixture(scope="module")
def synthetic_catalogue(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("synthetic") / "catalog", 5)


def test_page_size_downloads_dir_and_query_memory_from_the_environment(synthetic_catalogue, tmp_path):
    downloads = tmp_path / "downloads"
    env = {"CKG_PAGE_SIZE": "2", "CKG_DOWNLOADS_DIR": str(downloads), "CKG_QUERY_MEMORY": "64",
           "CKG_QUERY_TIMEOUT": "120"}
    with start_server("--workers", "1", "--threads", "1", str(synthetic_catalogue), env=env) as url:
        # CKG_PAGE_SIZE: 5 competencies, 2 per page -> 3 pages (the default of 100 gives one)
        listing = json.loads(requests.get(url + "competency/?format=jsonld", timeout=30).content)
        assert listing["totalItems"] == 5 and len(listing["member"]) == 2
        assert listing["view"]["last"].endswith("competency/?page=3")
        # CKG_DOWNLOADS_DIR: the release files are written there, and served from there
        served = requests.get(url + "downloads/catalogue.nt", timeout=60)
        assert served.status_code == 200
        written = [p for p in downloads.rglob("catalogue.nt")]
        assert len(written) == 1 and written[0].read_bytes() == served.content
        # CKG_QUERY_MEMORY: the query process is stopped at 64 MB, and says so
        hog = requests.get(url + "sparql", params={"query": MEMORY_HOG}, timeout=150)
        assert hog.status_code == 503 and "memory" in hog.text and "64 MB" in hog.text


def test_render_cache_size_from_the_environment(monkeypatch):
    """CKG_RENDER_CACHE bounds the rendered answers a worker keeps: with 2, a third resource evicts the first."""
    from service import create_app
    from service.config import ServiceConfig
    from service.site import current_site
    monkeypatch.setenv("CKG_RENDER_CACHE", "2")
    app = create_app(ServiceConfig.from_env())
    client = app.test_client()
    for path in ("competency/klantgerichtheid.ttl", "level/1.ttl", "level/2.ttl", "level/3.ttl"):
        assert client.get("/" + path).status_code == 200
    with app.app_context():
        cache = current_site().render_cache
        assert cache.size == 2 and len(cache) == 2


def test_a_bug_is_exit_3_with_a_message_never_a_traceback(tmp_path):
    """The last line of defence in ckg.cli.main: an unexpected exception inside a command."""
    script = textwrap.dedent("""
        import sys
        import ontology.loader
        def broken(*args, **kwargs):
            raise KeyError("a bug planted by the test")
        ontology.loader.load_catalogue = broken
        sys.argv = ["ckg", "validate"]
        from ckg.cli import main
        main()
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=_server_env(None), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 3, result.stderr
    assert "ckg: internal error: KeyError" in result.stderr and "a bug planted by the test" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def _padded_get(endpoint: str, request_line: int) -> requests.PreparedRequest:
    """A GET of an ASK query padded with a comment so that its request line has exactly ``request_line`` bytes."""
    fixed = requests.Request("GET", endpoint, params={"query": "ASK {} #"}).prepare()
    padding = request_line - len(f"GET {fixed.path_url} HTTP/1.1")
    prepared = requests.Request("GET", endpoint, params={"query": "ASK {} #" + "x" * padding}).prepare()
    assert len(f"GET {prepared.path_url} HTTP/1.1") == request_line
    return prepared


def test_get_urls_up_to_8_kb_are_served(sparql_endpoint):
    """The README: GET URLs up to 8 KB, POST beyond. 8,190 bytes is gunicorn's request-line limit as configured."""
    with requests.Session() as session:
        answer = session.send(_padded_get(sparql_endpoint, 8_190), timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json()["boolean"] is True
        too_long = session.send(_padded_get(sparql_endpoint, 8_400), timeout=30)
        assert too_long.status_code in (400, 414)


def test_the_catalogue_is_compiled_once_in_the_master_and_shared_with_the_workers(tmp_path):
    """With 2 workers the catalogue is compiled by one process — gunicorn's master — and both workers answer
    from it. A wrapper around the compile step records which process ran it."""
    record = tmp_path / "compiled-by"
    script = textwrap.dedent(f"""
        import os, sys
        import competency_kg.compile as compile_module
        original = compile_module.compile_catalogue
        def recording(*args, **kwargs):
            with open({str(record)!r}, "a") as out:
                out.write(f"{{os.getpid()}}\\n")
            return original(*args, **kwargs)
        compile_module.compile_catalogue = recording
        sys.argv = ["ckg", *sys.argv[1:]]
        from ckg.cli import main
        main()
    """)
    wrapper = tmp_path / "serve_wrapper.py"
    wrapper.write_text(script)
    with start_server("--workers", "2", "--threads", "1", "--sparql-slots", "1", runner=[sys.executable, str(wrapper)]) as url:
        workers = settled_descendants(url.pid, 2 * 2)
        answered_by = {requests.get(url + "sparql", params={"query": f"ASK {{ }} # {i}"}, timeout=30,
                                    headers={"Connection": "close"}).status_code for i in range(6)}
        assert answered_by == {200}
        assert len(workers) == 2 * 2  # two workers, each with one query process
    pids = record.read_text().split()
    assert pids == [str(url.pid)]
