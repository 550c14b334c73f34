"""The SHACL shapes hold for the bundled catalogue, and both engines find the same violations."""
from __future__ import annotations

import dataclasses
import random

import pytest
import rdflib
from pyoxigraph import BlankNode, Literal, NamedNode

from catalog import CATALOG_DIR
from ontology import shacl, shacl_compiled
from ontology.graph import Statement
from competency_kg.compile import compile_catalogue
from ontology.namespaces import CKG, RDF, SKOS, XSD

BASE = "https://w3id.org/competency-kg/"
COMPETENCY = NamedNode(BASE + "competency/klantgerichtheid")
LEVEL_2 = NamedNode(BASE + "competency/klantgerichtheid/level/2")
CRITERION = NamedNode(BASE + "competency/klantgerichtheid/level/2/criterion/3")


def fresh_graph():
    return compile_catalogue(CATALOG_DIR, shacl=False).graph


def drop(graph, subject, predicate, language=None):
    part = graph.parts[0]
    part[:] = [s for s in part if not (s.subject == subject and s.predicate.value == predicate
                                       and (language is None or getattr(s.object, "language", None) == language))]


def add(graph, *statement):
    graph.parts[0].append(Statement(*statement))


MUTATIONS = {
    "criterion without nl text": lambda g: drop(g, CRITERION, CKG + "statement", "nl"),
    "criterion without any text": lambda g: drop(g, CRITERION, CKG + "statement"),
    "two English names": lambda g: add(g, COMPETENCY, NamedNode(SKOS + "prefLabel"), Literal("Client focus", language="en")),
    "rank zero": lambda g: (drop(g, LEVEL_2, CKG + "rank"),
                            add(g, LEVEL_2, NamedNode(CKG + "rank"), Literal("0", datatype=NamedNode(XSD + "integer")))),
    "rank as text": lambda g: (drop(g, LEVEL_2, CKG + "rank"), add(g, LEVEL_2, NamedNode(CKG + "rank"), Literal("two"))),
    "level without criteria": lambda g: drop(g, LEVEL_2, CKG + "hasCriterion"),
    "broader is not a cluster": lambda g: (drop(g, COMPETENCY, SKOS + "broader"),
                                           add(g, COMPETENCY, NamedNode(SKOS + "broader"), NamedNode(BASE + "nowhere"))),
    "two clusters": lambda g: add(g, COMPETENCY, NamedNode(SKOS + "broader"), NamedNode(BASE + "level/1")),
    "orphan criterion": lambda g: add(g, NamedNode(BASE + "stray"), NamedNode(RDF + "type"), NamedNode(CKG + "BehaviouralCriterion")),
    "competency without levels": lambda g: drop(g, COMPETENCY, CKG + "hasLevel"),
    "mapping record without justification": lambda g: _edit_mapping_record(g, "https://w3id.org/sssom/mapping_justification", None),
    "mapping record with a non-mapping property": lambda g: _edit_mapping_record(
        g, "http://www.w3.org/2002/07/owl#annotatedProperty", NamedNode(SKOS + "broader")),
    "criterion text without a language": lambda g: add(g, CRITERION, NamedNode(CKG + "statement"), Literal("kale tekst")),
    "position as text": lambda g: (drop(g, CRITERION, CKG + "position"),
                                   add(g, CRITERION, NamedNode(CKG + "position"), Literal("derde", language="nl"))),
    "two positions": lambda g: add(g, CRITERION, NamedNode(CKG + "position"), Literal("9", datatype=NamedNode(XSD + "integer"))),
    "cluster given as text": lambda g: (drop(g, COMPETENCY, SKOS + "broader"),
                                        add(g, COMPETENCY, NamedNode(SKOS + "broader"), Literal("Ondernemen", language="nl"))),
    "competency outside the scheme": lambda g: drop(g, COMPETENCY, SKOS + "inScheme"),
    "competency that is a blank node": lambda g: add(g, BlankNode("b0"), NamedNode(RDF + "type"), NamedNode(CKG + "Competency")),
    "level pointing at no proficiency level": lambda g: (drop(g, LEVEL_2, CKG + "level"),
                                                         add(g, LEVEL_2, NamedNode(CKG + "level"), NamedNode(BASE + "level/9"))),
    "criterion shared by two levels": lambda g: add(g, NamedNode(BASE + "competency/klantgerichtheid/level/3"),
                                                    NamedNode(CKG + "hasCriterion"), CRITERION),
}


def _edit_mapping_record(graph, predicate, new_object):
    """Drop (or replace) one property of the first mapping record (they live in the graph's mappings group)."""
    found = next((s for s in graph.mappings if s.predicate.value == predicate), None)
    assert found is not None, "the bundled catalogue has no mapping records"
    graph.mappings.remove(found)
    if new_object is not None:
        graph.mappings.append(Statement(found.subject, found.predicate, new_object))


def test_bundled_catalogue_conforms_with_both_engines():
    graph = fresh_graph()
    assert shacl.pyshacl_findings(graph) == []
    assert shacl.compiled_findings(graph) == []


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_both_engines_report_the_same_violations(name):
    graph = fresh_graph()
    MUTATIONS[name](graph)
    reference = {(focus, path, component) for focus, path, _, component in shacl.pyshacl_findings(graph)}
    compiled = {(focus, path, component) for focus, path, _, component in shacl.compiled_findings(graph)}
    assert reference, f"the mutation '{name}' should break a shape"
    assert compiled == reference


def _random_damage(graph, rng: random.Random, edits: int) -> None:
    """Drop, retarget or invent statements at random: the kinds of damage a broken build could do."""
    groups = [graph.shared, *graph.parts, graph.mappings]
    everything = [s for group in groups for s in group]
    present = set(everything)
    subjects, predicates = [s.subject for s in everything], [s.predicate for s in everything]
    objects = [s.object for s in everything]
    for _ in range(edits):
        group = rng.choice([g for g in groups if g])
        victim = rng.randrange(len(group))
        action = rng.choice(("drop", "retarget", "invent"))
        if action == "drop":
            present.discard(group.pop(victim))
            continue
        old = group[victim]
        new = (Statement(old.subject, old.predicate, rng.choice(objects)) if action == "retarget"
               else Statement(rng.choice(subjects), rng.choice(predicates), rng.choice(objects)))
        if new in present:  # a graph is a set: a duplicate would be no change at all
            continue
        if action == "retarget":
            present.discard(group.pop(victim))
        group.append(new)
        present.add(new)


@pytest.mark.parametrize("seed", range(30))
def test_both_engines_agree_on_randomly_damaged_graphs(seed):
    """Damage is added three edits at a time until the reference engine finds a violation (some random edits
    break no shape: a graph that violates nothing would compare two empty sets and prove nothing)."""
    graph = fresh_graph()
    rng = random.Random(seed)
    reference: set = set()
    for _ in range(10):
        _random_damage(graph, rng, edits=3)
        reference = {(focus, path, component) for focus, path, _, component in shacl.pyshacl_findings(graph)}
        if reference:
            break
    assert reference, f"seed {seed}: thirty random edits broke no shape"
    compiled = {(focus, path, component) for focus, path, _, component in shacl.compiled_findings(graph)}
    assert compiled == reference


def test_violations_point_back_into_the_yaml():
    graph = fresh_graph()
    MUTATIONS["criterion without nl text"](graph)
    problems = shacl.validate_graph(graph, engine="compiled")
    assert len(problems) == 1
    problem = problems[0]
    assert problem.path.endswith("competencies/klantgerichtheid.yaml")
    text = (CATALOG_DIR / "competencies" / "klantgerichtheid.yaml").read_text(encoding="utf-8").splitlines()
    assert "Vraagt naar de wensen van de klant." in text[problem.line - 1]
    assert "a criterion needs its Dutch (nl) text" in problem.message


def test_auto_engine_uses_pyshacl_for_small_graphs_and_compiled_for_large():
    graph = fresh_graph()
    assert shacl.choose_engine(graph) == "pyshacl"
    big = dataclasses.replace(graph, parts=graph.parts * (shacl.PYSHACL_MAX_TRIPLES // len(graph.parts[0]) + 1))
    assert shacl.choose_engine(big) == "compiled"


def test_compiled_engine_refuses_what_it_does_not_implement():
    shapes = rdflib.Graph().parse(format="turtle", data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> .
        <urn:s> a sh:NodeShape ; sh:targetClass <urn:C> ;
            sh:sparql [ sh:select "SELECT $this WHERE { }" ] .""")
    with pytest.raises(shacl_compiled.UnsupportedShapes, match="sparql"):
        shacl_compiled.compile_shapes(shapes)


def test_compiled_engine_refuses_complex_paths():
    shapes = rdflib.Graph().parse(format="turtle", data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> .
        <urn:s> a sh:NodeShape ; sh:targetClass <urn:C> ;
            sh:property [ sh:path ( <urn:p> <urn:q> ) ; sh:minCount 1 ] .""")
    with pytest.raises(shacl_compiled.UnsupportedShapes, match="property path"):
        shacl_compiled.compile_shapes(shapes)


@pytest.mark.parametrize("processes", [2, 3])
def test_sharing_the_check_out_over_processes_finds_the_same(processes):
    graph = fresh_graph()
    for name in ("criterion without nl text", "two positions", "orphan criterion", "competency without levels"):
        MUTATIONS[name](graph)
    alone = shacl_compiled.validate(graph.statements(), shacl.compiled_shapes())
    shared = shacl_compiled.validate(graph.statements(), shacl.compiled_shapes(), processes=processes)
    assert len(alone) >= 4
    assert shared == alone


def test_a_forked_helper_checks_alone_instead_of_forking_again():
    """multiprocessing forbids a helper's own helpers: inside one, the check must run in one process."""
    from ontology.parallel import ForkedCall

    graph = fresh_graph()
    MUTATIONS["two positions"](graph)
    alone = shacl_compiled.validate(graph.statements(), shacl.compiled_shapes())
    inside = ForkedCall(lambda: shacl_compiled.validate(graph.statements(), shacl.compiled_shapes(), processes=2)).result()
    assert inside == alone and alone
