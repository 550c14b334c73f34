"""Finished SPARQL answers are reused, bounded by bytes, and errors are never kept."""
from __future__ import annotations

import pytest

from service.caches import AnswerCache
from service.sparql.execute import Answer, Job


def job(query: str, media_type: str = "application/sparql-results+json") -> Job:
    return Job(query=query, media_type=media_type, accept=None, format_param=None)


def test_a_finished_answer_is_returned_for_the_same_job_only():
    cache = AnswerCache(100_000)
    answer = Answer(200, "application/sparql-results+json", b"x" * 10_000)
    cache.put(job("ASK {}"), answer)
    assert cache.get(job("ASK {}")) is answer
    assert cache.get(job("ASK {}", "text/csv")) is None
    assert cache.get(job("ASK { ?s ?p ?o }")) is None


def test_errors_and_oversized_answers_are_not_kept():
    cache = AnswerCache(100_000)
    cache.put(job("q1"), Answer.error(503, "the query ran out of time"))
    cache.put(job("q2"), Answer(200, "text/csv", b"x" * 40_000))  # more than a quarter of the budget
    assert cache.get(job("q1")) is None and cache.get(job("q2")) is None


def test_least_recently_used_answers_go_first_when_full():
    cache = AnswerCache(100_000)
    for name in ("a", "b", "c", "d"):
        cache.put(job(name), Answer(200, "text/csv", b"x" * 24_000))
    cache.get(job("a"))  # a is now the most recently used
    cache.put(job("e"), Answer(200, "text/csv", b"x" * 24_000))
    assert cache.get(job("b")) is None
    assert all(cache.get(job(name)) is not None for name in ("a", "c", "d", "e"))


def test_long_keys_count_against_the_budget():
    """Thousands of distinct long queries with tiny answers (ASK) once grew a worker by gigabytes: the cache's
    real memory (measured by tracemalloc, not by its own count) stays within its budget."""
    import tracemalloc
    budget = 1_000_000
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        cache = AnswerCache(budget)
        for i in range(400):  # 400 x 50 KB of query text = 20 MB offered
            cache.put(job(f"ASK {{}} # {i} " + "x" * 50_000), Answer(200, "application/sparql-results+json", b"{}"))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert cache.bytes_held <= budget
    assert held <= budget * 1.1, f"the cache holds {held:,} bytes for a budget of {budget:,}"
    assert 10 <= len(cache) <= 20  # it still keeps what fits


def _get(url: str, query: str):
    import requests
    answer = requests.get(url + "sparql", params={"query": query}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer


COMPETENCIES = "SELECT ?c WHERE { ?c a <https://w3id.org/competency-kg/def#Competency> } # %s"


def test_the_live_endpoint_serves_a_repeated_query_from_its_cache(live_server):
    """The first answer is computed; the same query again is a cache hit with the same bytes. (live_server has
    2 workers with a cache each: by the third request at least one worker has the answer already.)"""
    query = COMPETENCIES % "repeated"
    answers = [_get(live_server, query) for _ in range(3)]
    assert answers[0].headers["X-Cache"] == "miss"
    assert "hit" in [a.headers["X-Cache"] for a in answers[1:]]
    assert len({a.content for a in answers}) == 1 and b"competency/" in answers[0].content


@pytest.mark.parametrize("query", [
    "SELECT (STRUUID() AS ?v) WHERE {}",
    "SELECT (UUID() AS ?v) WHERE {}",
    "SELECT (RAND() AS ?v) WHERE {}",
    "SELECT (BNODE() AS ?v) WHERE {}",
    "SELECT (STR(NOW()) AS ?v) WHERE {}",
])
def test_answers_that_differ_per_run_are_never_served_from_the_cache(live_server, query):
    """The stale-answer bug: with the cache on, the same STRUUID() came back twice."""
    answers = [_get(live_server, query) for _ in range(4)]
    values = [a.json()["results"]["bindings"][0]["v"]["value"] for a in answers]
    assert len(set(values)) == 4, values
    assert {a.headers["X-Cache"] for a in answers} == {"miss"}


def test_cache_size_zero_from_the_environment_turns_the_cache_off():
    """CKG_SPARQL_CACHE_MIB is read by ``ckg serve``: 0 MiB keeps nothing, so a repeat is computed again."""
    from conftest import start_server
    query = COMPETENCIES % "no cache"
    with start_server("--workers", "1", env={"CKG_SPARQL_CACHE_MIB": "0"}) as url:
        assert [_get(url, query).headers["X-Cache"] for _ in range(3)] == ["miss"] * 3
    with start_server("--workers", "1", env={"CKG_SPARQL_CACHE_MIB": "1"}) as url:
        assert [_get(url, query).headers["X-Cache"] for _ in range(3)] == ["miss", "hit", "hit"]
