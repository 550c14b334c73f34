"""Every IRI's JSON-LD is exactly the graph of its Turtle (and N-Triples, RDF/XML); descriptions are self-contained."""
from __future__ import annotations

import json

import pytest
import rdflib
from rdflib.compare import isomorphic

from exports.jsonld import context
from service import create_app
from service.config import ServiceConfig

SKOS = rdflib.Namespace("http://www.w3.org/2004/02/skos/core#")
CKG = rdflib.Namespace("https://w3id.org/competency-kg/def#")
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
BASE = "https://w3id.org/competency-kg/"


@pytest.fixture(scope="module")
def app():
    return create_app(ServiceConfig())


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


def every_path(app) -> list[str]:
    site = app.extensions["ckg"]
    paths = sorted(iri[len(site.base):] for iri in site.descriptions.by_subject if iri.startswith(site.base))
    return paths + ["def", "shapes", "competency/", "level/", "cluster/"]


def twin(path: str, name: str) -> str:
    return f"/{path}?format={name}" if path == "" or path.endswith("/") else f"/{path}.{name}"


def parse_jsonld(data: bytes) -> rdflib.Graph:
    """Parse a served JSON-LD document offline: the context IRI is resolved to the bundled context."""
    document = json.loads(data)
    local = context()["@context"]
    ctx = document["@context"]
    if isinstance(ctx, list):
        document["@context"] = [local if item == BASE + "context.jsonld" else item for item in ctx]
    elif ctx == BASE + "context.jsonld":
        document["@context"] = local
    return rdflib.Graph().parse(data=json.dumps(document), format="json-ld")


def test_the_catalogue_has_the_iris_the_issue_names(app):
    paths = set(every_path(app))
    for expected in ("", "scheme", "levels", "level/1", "cluster/ondernemen", "competency/klantgerichtheid",
                     "competency/klantgerichtheid/level/5", "competency/klantgerichtheid/level/5/criterion/3",
                     "offer/coachen-op-klantgerichtheid", "organisation/reynaarde", "organisation/reynaarde/contact"):
        assert expected in paths


def test_jsonld_is_the_same_graph_as_turtle_for_every_iri(app, client):
    checked = 0
    for path in every_path(app):
        turtle = client.get(twin(path, "ttl"))
        jsonld = client.get(twin(path, "jsonld"))
        assert turtle.status_code == jsonld.status_code == 200, path
        from_turtle = rdflib.Graph().parse(data=turtle.data, format="turtle")
        from_jsonld = parse_jsonld(jsonld.data)
        assert len(from_turtle) > 0, path
        assert isomorphic(from_turtle, from_jsonld), f"{path}: JSON-LD and Turtle differ"
        inline = rdflib.Graph().parse(data=client.get(twin(path, "jsonld") + ("&" if "?" in twin(path, "jsonld") else "?")
                                                      + "context=inline").data, format="json-ld")
        assert isomorphic(from_turtle, inline), f"{path}: inline-context JSON-LD differs"
        checked += 1
    assert checked >= 35


def test_ntriples_and_rdfxml_are_the_same_graph_as_turtle_for_every_iri(app, client):
    for path in every_path(app):
        from_turtle = rdflib.Graph().parse(data=client.get(twin(path, "ttl")).data, format="turtle")
        assert isomorphic(from_turtle, rdflib.Graph().parse(data=client.get(twin(path, "nt")).data, format="nt")), path
        assert isomorphic(from_turtle, rdflib.Graph().parse(data=client.get(twin(path, "rdf")).data, format="xml")), path


def test_competency_jsonld_has_the_nested_predictable_shape(client):
    document = json.loads(client.get("/competency/klantgerichtheid.jsonld").data)
    assert document["id"] == BASE + "competency/klantgerichtheid"
    assert document["prefLabel"]["nl"] == "Klantgerichtheid"
    assert [level["rank"] for level in document["levels"]] == [1, 2, 3, 4, 5]
    for level in document["levels"]:
        assert [c["position"] for c in level["criteria"]] == [1, 2, 3]
        assert set(level["criteria"][0]["statement"]) == {"nl", "en"}
    # the names of what it links to come along, so no second request is needed
    included = {node["id"]: node for node in document["@included"]}
    assert included[BASE + "cluster/ondernemen"]["prefLabel"]["nl"] == "Ondernemen"
    assert included[BASE + "level/3"]["prefLabel"]["nl"] == "Professional/Sturen"


def test_competency_level_description_holds_criteria_and_linked_labels(client):
    graph = rdflib.Graph().parse(data=client.get("/competency/klantgerichtheid/level/2.ttl").data, format="turtle")
    level = rdflib.URIRef(BASE + "competency/klantgerichtheid/level/2")
    assert len(list(graph.objects(level, CKG.hasCriterion))) == 3
    assert (rdflib.URIRef(BASE + "level/2"), SKOS.prefLabel, rdflib.Literal("Vakman/Vakvrouw", lang="nl")) in graph
    assert (rdflib.URIRef(BASE + "competency/klantgerichtheid"), SKOS.prefLabel,
            rdflib.Literal("Klantgerichtheid", lang="nl")) in graph


def test_cluster_description_lists_its_competencies(client):
    graph = rdflib.Graph().parse(data=client.get("/cluster/ondernemen.ttl").data, format="turtle")
    competency = rdflib.URIRef(BASE + "competency/klantgerichtheid")
    assert (competency, SKOS.broader, rdflib.URIRef(BASE + "cluster/ondernemen")) in graph
    assert (competency, SKOS.prefLabel, rdflib.Literal("Klantgerichtheid", lang="nl")) in graph


def test_dataset_is_described_with_void_and_dcat(app, client):
    graph = rdflib.Graph().parse(data=client.get("/?format=ttl").data, format="turtle")
    dataset = rdflib.URIRef(BASE)
    site = app.extensions["ckg"]
    assert graph.value(dataset, VOID.triples).toPython() == len(site.graph)
    assert graph.value(dataset, VOID.entities).toPython() > 0
    assert graph.value(dataset, VOID.sparqlEndpoint) == rdflib.URIRef(BASE + "sparql")
    dumps = set(graph.objects(dataset, VOID.dataDump))
    assert rdflib.URIRef(BASE + "downloads/catalogue.ttl") in dumps and len(dumps) == 4
    partitions = {graph.value(p, VOID["class"]): graph.value(p, VOID.entities).toPython()
                  for p in graph.objects(dataset, VOID.classPartition)}
    assert partitions[CKG.Competency] == 1 and partitions[CKG.BehaviouralCriterion] == 15
    assert graph.value(dataset, rdflib.URIRef("http://purl.org/dc/terms/license")) is not None
    assert graph.value(dataset, rdflib.URIRef("http://purl.org/dc/terms/publisher")) is not None
    assert len(list(graph.objects(dataset, DCAT.distribution))) >= 5  # the dumps, CSV, and any mapping tables


def test_listing_is_a_hydra_collection(client):
    document = json.loads(client.get("/level/?format=jsonld").data)
    assert document["type"] == ["Collection"] and document["totalItems"] == 5
    assert [member["rank"] for member in document["member"]] == [1, 2, 3, 4, 5]
    assert document["view"]["first"] == BASE + "level/?page=1"


def test_links_to_other_frameworks_are_named_and_esco_is_attributed(client):
    """A mapped criterion carries the name of the ESCO skill it links to; pages show ESCO's attribution."""
    path = "/competency/klantgerichtheid/level/5/criterion/3"
    graph = rdflib.Graph().parse(data=client.get(path + ".ttl").data, format="turtle")
    node = rdflib.URIRef(BASE + path[1:])
    targets = [o for p, o in graph.predicate_objects(node) if str(p).startswith(str(SKOS)) and str(p).endswith("Match")]
    assert targets, "the bundled catalogue maps this criterion to ESCO"
    owl = rdflib.Namespace("http://www.w3.org/2002/07/owl#")
    for target in targets:
        records = list(graph.subjects(owl.annotatedTarget, target))
        assert records and graph.value(records[0], rdflib.URIRef("https://w3id.org/sssom/object_label")) is not None
    html = client.get("/competency/klantgerichtheid", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "This service uses the ESCO classification of the European Commission." in html
    assert f'href="{targets[0]}"' in html
