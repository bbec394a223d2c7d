"""OGC API - Features, Part 1: Core, under /ogc: GeoJSON for QGIS and GDAL, HTML for people.

Declared conformance: core, geojson and html (every resource answers `?f=html`, or a browser's
`Accept: text/html`). Links are absolute, built from the request (behind a proxy, uvicorn
--proxy-headers makes them https). Bad parameters answer 400 (the standard's status), with
the usual error body.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from app.api.deps import FormsDep, LanguageDep, ReadEngineDep, SettingsDep
from app.api.errors import problems_body
from app.api.map_auth import MapReader
from app.api.pages import render_page
from app.api.responses import JSON
from app.api.schemas import ErrorOut
from app.db.ogc import Extent
from app.errors import InvalidInput, Problem
from app.i18n import translate
from app.services import ogc, ogc_params
from app.services.ogc import Collection
from app.services.ogc_params import CRS84

router = APIRouter(prefix="/ogc", tags=["ogc"])

GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.1"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    # Part 3: each collection's queryables (JSON Schema), linked from the collection. Not
    # its filter classes: the `?<property>=<value>` filters compare text (docs/ogc.md).
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
]
SCHEMA_JSON = "application/schema+json"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "A bad parameter"},
    401: {"model": ErrorOut, "description": "Sign in (HTTP Basic or a bearer token)"},
    404: {"model": ErrorOut, "description": "No such collection or feature (for you)"},
}
CollectionId = Annotated[str, Path(max_length=200, examples=["households"])]
FeatureId = Annotated[str, Path(max_length=200, examples=["1"])]
NO_STORE = {"Cache-Control": "private, no-store", "Vary": "Authorization, Cookie, Accept"}


def _wants_html(request: Request) -> bool:
    """?f=html|json first, else a browser's Accept (text/html listed first)."""
    chosen = request.query_params.get("f")
    if chosen is not None:
        if chosen in ("json", "geojson"):
            return False
        if chosen == "html":
            return True
        raise InvalidInput([Problem("f", "ogc_bad_format")])
    accept = request.headers.get("accept", "")
    return accept.split(",")[0].split(";")[0].strip().lower() == "text/html"


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _link(href: str, rel: str, media_type: str, title: str | None = None) -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": media_type}
    if title:
        link["title"] = title
    return link


def _self_links(request: Request, json_type: str = "application/json") -> list[dict[str, str]]:
    """self and alternate links of this resource, JSON first."""
    as_json = str(request.url.include_query_params(f="json"))
    as_html = str(request.url.include_query_params(f="html"))
    html = _wants_html(request)
    return [
        _link(as_html if html else as_json, "self", "text/html" if html else json_type),
        _link(as_json if html else as_html, "alternate", json_type if html else "text/html"),
    ]


def _bad_request(exc: InvalidInput, language: str) -> JSON:
    return JSON(problems_body(exc.problems, language), status_code=400, headers=NO_STORE)


def _page(
    request: Request, language: str, user: Any, view: str, title: str, **context: Any
) -> Response:
    response = render_page(
        request, "ogc_page.html", language, user, view=view, title=title, **context
    )
    response.headers.update(NO_STORE)
    return response


@router.get("", summary="OGC API Features landing page", responses=ERRORS)
async def landing(request: Request, user: MapReader, language: LanguageDep) -> Response:
    """The landing page: links to the API definition, the conformance and the collections."""
    try:
        html = _wants_html(request)
    except InvalidInput as exc:
        return _bad_request(exc, language)
    base = _base(request)
    root = str(request.base_url).rstrip("/")
    title = translate("ogc.title", language)
    body: dict[str, Any] = {
        "title": title,
        "description": translate("ogc.about", language),
        "links": [
            *_self_links(request),
            _link(f"{root}/openapi.json", "service-desc", OPENAPI),
            _link(f"{root}/docs", "service-doc", "text/html"),
            _link(f"{base}/conformance", "conformance", "application/json"),
            _link(f"{base}/collections", "data", "application/json"),
        ],
    }
    if html:
        return _page(request, language, user, "landing", title, body=body, base=base)
    return JSON(body, headers=NO_STORE)


@router.get("/conformance", summary="OGC API Features conformance classes", responses=ERRORS)
async def conformance(request: Request, user: MapReader, language: LanguageDep) -> Response:
    """The conformance classes this server meets."""
    try:
        html = _wants_html(request)
    except InvalidInput as exc:
        return _bad_request(exc, language)
    body = {"conformsTo": CONFORMANCE, "links": _self_links(request)}
    if html:
        title = translate("page.ogc_conformance", language)
        return _page(request, language, user, "conformance", title, body=body, base=_base(request))
    return JSON(body, headers=NO_STORE)


def _collection_json(
    request: Request, collection: Collection, extent: Extent, language: str
) -> dict[str, Any]:
    base = _base(request)
    items = f"{base}/collections/{collection.id}/items"
    found: dict[str, Any] = {
        "id": collection.id,
        "title": collection.title.get(language) or collection.id,
        "description": collection.description.get(language, ""),
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": {},
        "links": [
            _link(f"{base}/collections/{collection.id}", "self", "application/json"),
            _link(f"{base}/collections/{collection.id}?f=html", "alternate", "text/html"),
            _link(items, "items", GEOJSON),
            _link(f"{items}?f=html", "items", "text/html"),
            _link(f"{base}/collections/{collection.id}/queryables", QUERYABLES_REL, SCHEMA_JSON),
        ],
    }
    if extent.bbox is not None:
        found["extent"]["spatial"] = {"bbox": [extent.bbox], "crs": CRS84}
    if collection.source.time is not None:
        interval = [
            t.astimezone(UTC).isoformat() if t else None for t in (extent.start, extent.end)
        ]
        found["extent"]["temporal"] = {"interval": [interval], "trs": GREGORIAN}
    if not found["extent"]:
        del found["extent"]
    return found


@router.get("/collections", summary="OGC API Features collections", responses=ERRORS)
async def collections(
    request: Request,
    user: MapReader,
    engine: ReadEngineDep,
    forms: FormsDep,
    settings: SettingsDep,
    language: LanguageDep,
) -> Response:
    """Every collection the reader may read, with its extent."""
    try:
        html = _wants_html(request)
    except InvalidInput as exc:
        return _bad_request(exc, language)
    found = await ogc.collections(
        engine, forms, user, settings.priorities_path, settings.household_form
    )
    listed = [
        _collection_json(request, c, await ogc.collection_extent(engine, c), language)
        for c in found
    ]
    body = {"links": _self_links(request), "collections": listed}
    if html:
        title = translate("page.ogc_collections", language)
        return _page(request, language, user, "collections", title, body=body, base=_base(request))
    return JSON(body, headers=NO_STORE)


@router.get(
    "/collections/{collection_id}", summary="One OGC API Features collection", responses=ERRORS
)
async def collection(
    collection_id: CollectionId,
    request: Request,
    user: MapReader,
    engine: ReadEngineDep,
    forms: FormsDep,
    settings: SettingsDep,
    language: LanguageDep,
) -> Response:
    """One collection: its title, extent, CRS and links to its items."""
    try:
        html = _wants_html(request)
    except InvalidInput as exc:
        return _bad_request(exc, language)
    found = ogc.find(
        await ogc.collections(
            engine, forms, user, settings.priorities_path, settings.household_form
        ),
        collection_id,
    )
    body = _collection_json(request, found, await ogc.collection_extent(engine, found), language)
    body["links"][:2] = _self_links(request)
    if html:
        return _page(
            request, language, user, "collection", body["title"], body=body, base=_base(request)
        )
    return JSON(body, headers=NO_STORE)


@router.get(
    "/collections/{collection_id}/queryables",
    summary="The properties of an OGC API Features collection that filters may name",
    responses={200: {"content": {SCHEMA_JSON: {}}}, **ERRORS},
)
async def queryables(
    collection_id: CollectionId,
    request: Request,
    user: MapReader,
    engine: ReadEngineDep,
    forms: FormsDep,
    settings: SettingsDep,
    language: LanguageDep,
) -> Response:
    """A collection's queryables as a JSON Schema (OGC API Features Part 3): each property
    `?<name>=<value>` may filter on, with its type, the geometry, and `datetime`."""
    try:
        html = _wants_html(request)
    except InvalidInput as exc:
        return _bad_request(exc, language)
    found = ogc.find(
        await ogc.collections(
            engine, forms, user, settings.priorities_path, settings.household_form
        ),
        collection_id,
    )
    uri = f"{_base(request)}/collections/{found.id}/queryables"
    body = ogc.queryables(found, uri, language)
    if html:
        body["links"] = [_link(uri, "alternate", SCHEMA_JSON)]
        title = f"{body['title']} · {translate('page.ogc_queryables', language)}"
        return _page(request, language, user, "queryables", title, body=body, base=_base(request))
    return JSON(body, headers=NO_STORE, media_type=SCHEMA_JSON)


# The paging parameters as OGC API Features Core defines them, for clients that read the
# API document for the page size (QGIS). The route reads its query itself (a 400, never a
# 422, for a bad value; bbox, datetime, the property filters and `after`, the opaque cursor
# of the `next` links that clients follow and never make, in docs/ogc.md).
PAGING: list[dict[str, Any]] = [
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "style": "form",
        "explode": False,
        "schema": {
            "type": "integer",
            "minimum": 1,
            "maximum": ogc_params.MAX_LIMIT,
            "default": 100,
        },
    },
    {
        "name": "offset",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 0, "maximum": ogc_params.MAX_OFFSET, "default": 0},
    },
]


@router.get(
    "/collections/{collection_id}/items",
    summary="Features of an OGC API Features collection",
    responses={200: {"content": {GEOJSON: {}}}, **ERRORS},
    openapi_extra={"parameters": PAGING},
)
async def items(
    collection_id: CollectionId,
    request: Request,
    user: MapReader,
    engine: ReadEngineDep,
    forms: FormsDep,
    settings: SettingsDep,
    language: LanguageDep,
) -> Response:
    """A page of features (GeoJSON FeatureCollection) in id order: `limit` (default 100, at
    most 10000), `after` (the cursor of a `next` link), `offset`, `bbox`, `datetime` (instant
    or interval, `..` for an open end) and `<property>=<value>` filters on the collection's
    properties; a `next` link (by cursor) and, on a page asked by offset, a `prev` link."""
    found = ogc.find(
        await ogc.collections(
            engine, forms, user, settings.priorities_path, settings.household_form
        ),
        collection_id,
    )
    try:
        html = _wants_html(request)
        query = ogc_params.items_query(list(request.query_params.multi_items()), found.source)
    except InvalidInput as exc:
        return _bad_request(exc, language)
    page = await ogc.items(engine, found, query, count_before=html)
    links = _self_links(request, GEOJSON)
    if page.next is not None:
        # A keyset cursor, never an offset: a survey approved or sent back while a client
        # walks the layer moves no other feature across pages (docs/ogc.md).
        following = request.url.remove_query_params("offset").include_query_params(
            after=page.next, limit=query.limit
        )
        links.append(_link(str(following), "next", "text/html" if html else GEOJSON))
    if query.offset > 0:  # an offset request: the page `limit` before (after the same cursor)
        links.append(
            _link(
                str(
                    request.url.include_query_params(
                        offset=max(0, query.offset - query.limit), limit=query.limit
                    )
                ),
                "prev",
                "text/html" if html else GEOJSON,
            )
        )
    base = _base(request)
    links.append(_link(f"{base}/collections/{found.id}", "collection", "application/json"))
    head = {
        "type": "FeatureCollection",
        "numberMatched": page.matched,
        "numberReturned": page.returned,
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "links": links,
    }
    if html:
        features = orjson.loads("[" + page.features + "]")
        return _page(
            request,
            language,
            user,
            "items",
            found.title.get(language) or found.id,
            body=head,
            features=features,
            columns=[p.name for p in found.source.properties],
            collection=found,
            base=base,
            offset=page.before if page.before is not None else query.offset,
        )
    content = orjson.dumps(head)[:-1] + b',"features":[' + page.features.encode() + b"]}"
    return Response(content, media_type=GEOJSON, headers=NO_STORE)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    summary="One feature of an OGC API Features collection",
    responses={200: {"content": {GEOJSON: {}}}, **ERRORS},
)
async def item(
    collection_id: CollectionId,
    feature_id: FeatureId,
    request: Request,
    user: MapReader,
    engine: ReadEngineDep,
    forms: FormsDep,
    settings: SettingsDep,
    language: LanguageDep,
) -> Response:
    """One feature (404 when it does not exist or the reader may not read it)."""
    try:
        html = _wants_html(request)
    except InvalidInput as exc:
        return _bad_request(exc, language)
    found = ogc.find(
        await ogc.collections(
            engine, forms, user, settings.priorities_path, settings.household_form
        ),
        collection_id,
    )
    feature = orjson.loads(await ogc.item(engine, found, feature_id))
    base = _base(request)
    feature["links"] = [
        *_self_links(request, GEOJSON),
        _link(f"{base}/collections/{found.id}", "collection", "application/json"),
    ]
    if html:
        return _page(
            request,
            language,
            user,
            "item",
            f"{found.title.get(language) or found.id}: {feature_id}",
            body=feature,
            collection=found,
            base=base,
        )
    return Response(orjson.dumps(feature), media_type=GEOJSON, headers=NO_STORE)
