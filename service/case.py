"""The CASE 1.1 REST API under ``{base}ims/case/v1p1/``: a thin edge over service/case_api.py."""
from __future__ import annotations

import hashlib

import orjson
from flask import Blueprint, Response, request

from exports.case import API_PATH

from .case_api import CaseAnswers
from .edge import file_answer
from .site import current_site

blueprint = Blueprint("case", __name__)
PREFIX = "/" + API_PATH.rstrip("/")


def _api() -> CaseAnswers:
    return current_site().case


@blueprint.route(f"{PREFIX}/<endpoint>", defaults={"identifier": None})
@blueprint.route(f"{PREFIX}/<endpoint>/<identifier>")
def case_endpoint(endpoint: str, identifier: str | None) -> Response:
    api = _api()
    answer = api.answer(endpoint, identifier, request.args.to_dict(flat=False))
    if answer.package_language is not None:  # a whole framework: streamed to a file once, then sent from it
        path = api.package_file(identifier)
        return file_answer(path, "application/json")
    body = orjson.dumps(answer.body, option=orjson.OPT_INDENT_2)
    tag = hashlib.sha256(body).hexdigest()[:32]
    if answer.status == 200 and request.if_none_match.contains(tag):
        response = Response(status=304)
        response.set_etag(tag)
        return response
    response = Response(body, status=answer.status, mimetype="application/json", headers=answer.headers)
    if answer.status == 200:
        response.set_etag(tag)
    return response


ALIGNMENT_LANGUAGES = ("nl", "en")


def _alignment_json(path: str, language: str) -> str | None:
    """The Open Badges 3.0 Alignment of the resource at ``path`` (a competency or competency level), as JSON text."""
    site = current_site()
    found = _api().alignment(site.base + path.lstrip("/"), language if language in ALIGNMENT_LANGUAGES else "nl")
    return None if found is None else orjson.dumps(found, option=orjson.OPT_INDENT_2).decode()


@blueprint.app_context_processor
def _alignment_helper() -> dict:
    """Lets a page template show its copyable alignment block (templates/_alignment.html)."""
    return {"ob_alignment": _alignment_json}


@blueprint.route("/competency/<path:rest>/alignment")
def alignment(rest: str) -> Response:
    """``{IRI}/alignment[?lang=en]``: the Open Badges 3.0 Alignment object of a competency or competency level.

    Only below ``competency/``, where no IRI of the scheme ends in ``/alignment``: a route on every
    path would hide, say, a competency whose slug is "alignment".
    """
    path = f"competency/{rest}"
    language = request.args.get("lang", "nl")
    unknown = sorted(set(request.args) - {"lang"})
    if unknown or language not in ALIGNMENT_LANGUAGES:
        message = f"unsupported parameter {', '.join(unknown)}" if unknown else f"no alignment in language '{language}'"
        body = {"error": f"{message}; use ?lang={' or ?lang='.join(ALIGNMENT_LANGUAGES)} (default nl)"}
        return Response(orjson.dumps(body), status=400, mimetype="application/json")
    text = _alignment_json(path, language)
    if text is None:
        body = {"error": f"/{path} is not a competency or competency level of this catalogue; "
                         "alignments are offered at {competency IRI}/alignment and {competency level IRI}/alignment"}
        return Response(orjson.dumps(body), status=404, mimetype="application/json")
    return Response(text + "\n", mimetype="application/json")
