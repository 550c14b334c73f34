"""The bundled catalogue holds the source page's knowledge, word for word, in nl and en."""
from __future__ import annotations

import pytest
from pyoxigraph import Literal, NamedNode

from catalog import CATALOG_DIR
from competency_kg.compile import compile_catalogue
from conftest import SHARED, skip_reason
from ontology.namespaces import CKG, DCAT, DCT, RDF, SKOS, VCARD

SEED = SHARED / "seed"


@pytest.fixture(scope="module")
def built():
    compiled = compile_catalogue(CATALOG_DIR)
    return compiled.catalogue, compiled.graph


def instances(graph, cls: str) -> list[str]:
    return sorted(s.subject.value for s in graph.statements()
                  if s.predicate.value == RDF + "type" and s.object.value == cls)


def test_counts_are_exactly_those_of_the_page(built):
    _, graph = built
    assert len(instances(graph, CKG + "Competency")) == 1
    assert len(instances(graph, CKG + "ProficiencyLevel")) == 5
    assert len(instances(graph, CKG + "CompetencyLevel")) == 5
    assert len(instances(graph, CKG + "BehaviouralCriterion")) == 15
    assert len(instances(graph, CKG + "DevelopmentOffer")) == 2
    assert instances(graph, CKG + "Cluster") == ["https://w3id.org/competency-kg/cluster/ondernemen"]


def test_every_text_has_nl_and_en_and_nothing_else(built):
    _, graph = built
    texts: dict[tuple[str, str], set[str]] = {}
    ours = {s.subject for s in graph.statements() if s.predicate.value == RDF + "type" and s.object.value.startswith(CKG)}
    ours |= {NamedNode(graph.iris.dataset), NamedNode(graph.iris.scheme), NamedNode(graph.iris.level_scheme)}
    for s in graph.statements():
        if s.subject in ours and isinstance(s.object, Literal) and s.object.language:
            texts.setdefault((s.subject.value, s.predicate.value), set()).add(s.object.language)
    assert texts, "no texts at all"
    for key, languages in texts.items():
        assert languages == {"nl", "en"}, key


@pytest.mark.skipif(not SEED.is_dir(), reason=skip_reason(f"the source page is not in {SEED}"))
def test_every_dutch_text_stands_word_for_word_on_the_source_page(built):
    page = "\n".join(p.read_text(encoding="utf-8") for p in SEED.glob("*.txt"))
    _, graph = built
    dutch = {s.object.value for s in graph.statements() if isinstance(s.object, Literal) and s.object.language == "nl"}
    composed = {text for text in dutch if ", niveau " in text}  # labels made of the page's own words
    for text in sorted(dutch - composed):
        for paragraph in text.split("\n"):
            assert paragraph in page, f"not on the page: {paragraph!r}"
    for label in composed:
        name, _, rest = label.partition(", niveau ")
        rank, _, level_name = rest.partition(": ")
        assert name in page and f"Niveau {rank}: {level_name}" in page


def test_criteria_keep_the_page_order(built):
    catalogue, graph = built
    by_iri = {}
    for s in graph.statements():
        if s.predicate.value == CKG + "statement" and s.object.language == "nl":
            by_iri[s.subject.value] = s.object.value
    base = "https://w3id.org/competency-kg/competency/klantgerichtheid/level/"
    assert by_iri[base + "1/criterion/1"] == "Toont begrip voor de wensen en belangen van een klant."
    assert by_iri[base + "3/criterion/2"].startswith("Levert maatwerk voor de klant")
    assert by_iri[base + "5/criterion/3"] == "Doet investeringen met het oog op een lange termijn relatie met de klant"
    positions = {s.subject.value: int(s.object.value) for s in graph.statements() if s.predicate.value == CKG + "position"}
    assert all(positions[iri] == int(iri.rsplit("/", 1)[1]) for iri in by_iri)


def test_levels_have_rank_name_and_description(built):
    _, graph = built
    level = NamedNode("https://w3id.org/competency-kg/level/5")
    facts = {(s.predicate.value, str(s.object)) for s in graph.statements() if s.subject == level}
    assert (CKG + "rank", '"5"^^<http://www.w3.org/2001/XMLSchema#integer>') in facts
    assert (SKOS + "prefLabel", '"Strategie/Leiderschap"@nl') in facts
    assert any(p == SKOS + "definition" and "visie, missie en strategie" in o for p, o in facts)


def test_publisher_contact_point_and_catalogue_metadata(built):
    _, graph = built
    facts = {(s.subject.value, s.predicate.value, s.object.value) for s in graph.statements()}
    base = "https://w3id.org/competency-kg/"
    contact = base + "organisation/reynaarde/contact"
    assert (base, DCT + "publisher", base + "organisation/reynaarde") in facts
    assert (base, DCAT + "contactPoint", contact) in facts
    assert (contact, VCARD + "hasEmail", "mailto:info@reynaarde.nl") in facts
    assert (contact, VCARD + "hasTelephone", "tel:+31306062711") in facts
    assert (base, DCT + "license", "https://creativecommons.org/licenses/by/4.0/") in facts
    assert (base, DCAT + "version", "1.0.0") in facts
    assert any(s == base and p == DCT + "issued" for s, p, _ in facts)


def test_skos_hierarchy_is_browsable(built):
    _, graph = built
    facts = {(s.subject.value, s.predicate.value, s.object.value) for s in graph.statements()}
    base = "https://w3id.org/competency-kg/"
    assert (base + "scheme", SKOS + "hasTopConcept", base + "cluster/ondernemen") in facts
    assert (base + "competency/klantgerichtheid", SKOS + "broader", base + "cluster/ondernemen") in facts
    assert (base + "competency/klantgerichtheid/level/2", SKOS + "broader", base + "competency/klantgerichtheid") in facts
    assert (base + "competency/klantgerichtheid/level/2", CKG + "level", base + "level/2") in facts


def test_base_can_be_overridden(tmp_path):
    graph = compile_catalogue(CATALOG_DIR, base="http://127.0.0.1:8000/").graph
    subjects = {s.subject.value for s in graph.statements()}
    assert "http://127.0.0.1:8000/competency/klantgerichtheid" in subjects
    assert not any(s.startswith("https://w3id.org/competency-kg/") for s in subjects)
