"""The CASE 1.1 REST API under ``{base}ims/case/v1p1/``: a thin edge over service/case_api.py."""
from __future__ import annotations

import hashlib

import orjson
from flask import Blueprint, Response, request

from exports.case import API_PATH

from .case_api import CaseApi
from .site import current_site

blueprint = Blueprint("case", __name__)
PREFIX = "/" + API_PATH.rstrip("/")


def _api() -> CaseApi:
    site = current_site()
    return site.cached("case-api", lambda: CaseApi(site.graph))()


@blueprint.after_request
def _cors(response: Response) -> Response:
    """Any origin may read, as everywhere on this service; paging totals and ETags are readable too."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "ETag, X-Total-Count"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Accept, If-None-Match"
        response.headers["Access-Control-Max-Age"] = "86400"
    return response


@blueprint.route(f"{PREFIX}/<endpoint>", defaults={"identifier": None})
@blueprint.route(f"{PREFIX}/<endpoint>/<identifier>")
def case_endpoint(endpoint: str, identifier: str | None) -> Response:
    answer = _api().answer(endpoint, identifier, request.args.to_dict(flat=False))
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
