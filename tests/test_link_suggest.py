"""``ckg link suggest``: candidate mappings by lexical similarity, written as SSSOM rows to review."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pyoxigraph import Store

from catalog import CATALOG_DIR
from ckg.cli import cli
from conftest import skip_reason
from esco_support import full_esco  # noqa: F401 - fixture
from linking.suggest import Concept, Index, catalogue_items, esco_skills, stem, suggest, tokens
from competency_kg.compile import compile_catalogue
from linking.esco import import_esco, load_esco_into
from linking.sssom import SEMAPV, read_mapping_set

FIXTURE = Path(__file__).parent / "fixtures" / "esco" / "esco-mini-v1.1.1.ttl"
ESCO = "http://data.europa.eu/esco/"
CRITERION = "https://w3id.org/competency-kg/competency/klantgerichtheid/level/1/criterion/3"


def test_words_meet_across_inflections():
    assert stem("handles") == stem("handling") == stem("handle")
    assert stem("customers") == stem("customer")
    assert stem("complaints") == stem("complaint")
    assert tokens("Handles the complaints of a customer") == [stem("handle"), stem("complaint"), stem("customer")]


@pytest.mark.parametrize("scoring", ["bm25", "tfidf"])
def test_index_ranks_the_closest_text_first(scoring):
    concepts = [Concept(ESCO + "a", "handle customer complaints", description="Administer complaints from customers."),
                Concept(ESCO + "b", "manage frustration", description="Stay calm when faced with anger."),
                Concept(ESCO + "c", "operate forklift", description="Drive a forklift truck.")]
    ranked = Index(concepts, scoring=scoring).search("Handles complaints according to the known procedures.", 3)
    assert [c.iri for c, _, _ in ranked] == [ESCO + "a"]
    assert 0 < ranked[0][1] <= 1 and stem("complaint") in ranked[0][2]
    calm = Index(concepts, scoring=scoring).search("Stays calm, even when customers react with anger", 3)
    assert calm[0][0].iri == ESCO + "b"


@pytest.fixture(scope="module")
def mini_import(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mini") / "esco.nq"
    import_esco([FIXTURE], out)
    return out


def test_suggest_command_writes_valid_sssom(mini_import, tmp_path):
    out = tmp_path / "suggestions.sssom.tsv"
    result = CliRunner().invoke(cli, ["link", "suggest", "--target", "esco", "--esco", str(mini_import), "--top", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    mapping_set, problems = read_mapping_set(out)
    assert problems == []
    assert {m.justification for m in mapping_set.mappings} == {SEMAPV + "LexicalSimilarityThresholdMatching"}
    assert all(0.0 <= m.confidence <= 1.0 for m in mapping_set.mappings)
    best = [m for m in mapping_set.mappings if m.subject == CRITERION]
    assert best[0].object == ESCO + "skill/28d715e3-3e5b-4fb6-8dd2-4be4919c8587"
    assert "already in a curated mapping set" in best[0].comment
    validators = pytest.importorskip("sssom.validators", reason=skip_reason("the sssom toolkit is not installed (pip install -e '.[test]')"))
    from sssom.parsers import parse_sssom_table
    validators.validate(parse_sssom_table(out), fail_on_error=True)


def test_suggest_refuses_what_is_not_esco(tmp_path):
    (tmp_path / "skills.txt").write_text("nothing")
    result = CliRunner().invoke(cli, ["link", "suggest", "--esco", str(tmp_path / "skills.txt")])
    assert result.exit_code == 1 and "cannot read ESCO: no ESCO data found" in result.output


def test_suggestions_on_full_esco_find_curated_links(full_esco):
    store = Store()
    load_esco_into(store, full_esco[0])
    graph = compile_catalogue(CATALOG_DIR).graph
    items = catalogue_items(graph.store())
    assert len(items) == 1 + 5 + 15
    found = suggest(items, Index(esco_skills(store)), 10)
    top = {s.item.iri: s.concept.label for s in found if s.rank == 1}
    assert top["https://w3id.org/competency-kg/competency/klantgerichtheid"] == "ensure customer orientation"
    curated, _ = read_mapping_set(CATALOG_DIR / "mappings" / "esco.sssom.tsv")
    pairs = {(m.subject, m.object) for m in curated.mappings}
    hits = {(s.item.iri, s.concept.iri) for s in found} & pairs
    assert len(hits) >= len(pairs) // 3, "bench/suggest.py records about half of the curated links in the top 10"
