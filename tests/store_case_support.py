"""The CASE answers of two apps, compared: what the store-mode tests use to hold ``--store`` to embedded mode."""
from __future__ import annotations

API = "/ims/case/v1p1/"
REFUSALS = ("CFDocuments?bogus=1", "CFDocuments?limit=0", "CFItems", "CFItems/not-a-uuid",
            "CFItems/00000000-0000-4000-8000-000000000000", "CFPackages/00000000-0000-4000-8000-000000000000",
            "NoSuchEndpoint/00000000-0000-4000-8000-000000000000", "CFConcepts/045d49b4-2bfd-5af9-8619-b5167aaed853")


def case_paths(client) -> list[str]:
    """Every CASE path the embedded app answers: documents (with the collection parameters), packages, and
    each item, association, rubric and definition of every package, then the refusals."""
    documents = client.get(API + "CFDocuments").json["CFDocuments"]
    paths = ["CFDocuments", "CFDocuments?limit=1&offset=1", "CFDocuments?sort=title&orderBy=desc",
             "CFDocuments?fields=identifier,title", "CFDocuments?filter=language='en'"]
    for document in documents:
        identifier = document["identifier"]
        paths.append(f"CFPackages/{identifier}")
        package = client.get(API + f"CFPackages/{identifier}").json
        for item in package["CFItems"]:
            paths += [f"CFItems/{item['identifier']}", f"CFItemAssociations/{item['identifier']}"]
        paths += [f"CFAssociations/{a['identifier']}" for a in package["CFAssociations"]]
        paths += [f"CFRubrics/{r['identifier']}" for r in package["CFRubrics"]]
        for endpoint in ("CFItemTypes", "CFLicenses", "CFAssociationGroupings"):
            paths += [f"{endpoint}/{d['identifier']}" for d in package["CFDefinitions"][endpoint]]
    return paths + list(REFUSALS)


def assert_same_case(client, engine_client) -> int:
    """Both apps answer every CASE path alike (status, type, ETag, bytes); returns how many were compared."""
    paths = case_paths(client)
    for path in paths:
        want, got = client.get(API + path), engine_client.get(API + path)
        assert (got.status_code, got.mimetype, got.headers.get("ETag"), got.headers.get("X-Total-Count")) == \
               (want.status_code, want.mimetype, want.headers.get("ETag"), want.headers.get("X-Total-Count")), path
        assert got.data == want.data, path
    return len(paths)


def assert_same_alignments(client, engine_client, site) -> int:
    """``{IRI}/alignment`` of every competency and competency level (and the refusals) alike in both apps."""
    base = site.base
    nodes = sorted(s[len(base):] for s in site.descriptions.by_subject if s.startswith(base + "competency/"))
    compared = 0
    for path in nodes:
        for query in ("", "?lang=en", "?lang=fr", "?bogus=1"):
            want, got = client.get(f"/{path}/alignment{query}"), engine_client.get(f"/{path}/alignment{query}")
            assert (got.status_code, got.mimetype, got.data) == (want.status_code, want.mimetype, want.data), (path, query)
            compared += want.status_code == 200
    return compared
