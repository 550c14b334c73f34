"""Finished SPARQL answers are reused, bounded by bytes, and errors are never kept."""
from __future__ import annotations

from service.caches import AnswerCache
from service.sparql.execute import Answer, Job


def job(query: str, media_type: str = "application/sparql-results+json") -> Job:
    return Job(query=query, media_type=media_type, accept=None, format_param=None)


def test_a_finished_answer_is_returned_for_the_same_job_only():
    cache = AnswerCache(1000)
    answer = Answer(200, "application/sparql-results+json", b"x" * 100)
    cache.put(job("ASK {}"), answer)
    assert cache.get(job("ASK {}")) is answer
    assert cache.get(job("ASK {}", "text/csv")) is None
    assert cache.get(job("ASK { ?s ?p ?o }")) is None


def test_errors_and_oversized_answers_are_not_kept():
    cache = AnswerCache(1000)
    cache.put(job("q1"), Answer.error(503, "the query ran out of time"))
    cache.put(job("q2"), Answer(200, "text/csv", b"x" * 400))  # more than a quarter of the budget
    assert cache.get(job("q1")) is None and cache.get(job("q2")) is None


def test_least_recently_used_answers_go_first_when_full():
    cache = AnswerCache(1000)
    for name in ("a", "b", "c", "d"):
        cache.put(job(name), Answer(200, "text/csv", b"x" * 240))
    cache.get(job("a"))  # a is now the most recently used
    cache.put(job("e"), Answer(200, "text/csv", b"x" * 240))
    assert cache.get(job("b")) is None
    assert all(cache.get(job(name)) is not None for name in ("a", "c", "d", "e"))


def test_the_live_endpoint_answers_a_repeated_query_identically(live_server):
    import requests
    query = "SELECT ?c WHERE { ?c a <https://w3id.org/competency-kg/def#Competency> }"
    first = requests.get(live_server + "sparql", params={"query": query}, timeout=30)
    second = requests.get(live_server + "sparql", params={"query": query}, timeout=30)
    assert first.status_code == second.status_code == 200
    assert first.content == second.content and first.headers["Content-Type"] == second.headers["Content-Type"]
