"""The JSON API described as OpenAPI 3.1, served at ``/api/openapi.json``.

Hand-written next to the routes it describes; ``tests/workbench/test_openapi.py`` checks that
every ``/api/`` route is in it (and nothing else), and fuzzes the live hub with schemathesis.
Calls authenticate with the session cookie of a logged-in user; writes also send that
session's CSRF token in ``X-CSRF-Token`` (it is in every page's forms).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

_ID = {"name": "request_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
_PUBLICATION = {
    "name": "publication_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
}
_ERROR = {"type": "object", "properties": {"error": {"type": "string"}, "message": {"type": "string"}}}


def _answers(ok: dict[str, Any], *codes: str) -> dict[str, Any]:
    words = {
        "400": "Body is not the JSON described",
        "401": "Not logged in",
        "403": "Not allowed (or a missing/wrong X-CSRF-Token)",
        "404": "No such request, or outside the caller's scope (the same answer)",
        "409": "Cannot be assigned now",
        "413": "Body too large",
        "422": "Refused input (error code and message)",
    }
    found = {
        code: {"description": words[code], "content": {"application/json": {"schema": _ERROR}}}
        for code in codes
    }
    return {**ok, **found}


def _json(description: str, schema: dict[str, Any], status: str = "200") -> dict[str, Any]:
    return {status: {"description": description, "content": {"application/json": {"schema": schema}}}}


_CSRF = {"name": "X-CSRF-Token", "in": "header", "required": True, "schema": {"type": "string"}}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Social service hub API", "version": "1"},
    "components": {
        "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "hub_session"}},
    },
    "security": [{"session": []}],
    "paths": {
        "/api/requests": {
            "get": {
                "summary": "Requests in the caller's scope, keyset-paged",
                "parameters": [
                    {
                        "name": "view",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["mine", "open", "all"]},
                    },
                    {"name": "after", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": _answers(
                    _json(
                        "One page",
                        {
                            "type": "object",
                            "required": ["total", "requests"],
                            "properties": {
                                "total": {"type": "integer"},
                                "next_after": {"type": ["string", "null"]},
                                "requests": {"type": "array", "items": {"type": "object"}},
                            },
                        },
                    ),
                    "401",
                    "403",
                ),
            }
        },
        "/api/requests/{request_id}": {
            "get": {
                "summary": "One request with its messages and replies",
                "parameters": [_ID],
                "responses": _answers(_json("The request", {"type": "object"}), "401", "403", "404"),
            }
        },
        "/api/requests/{request_id}/reply": {
            "post": {
                "summary": "Queue a reply (sent at most once per idempotency key)",
                "parameters": [_ID, _CSRF],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["text"],
                                "properties": {
                                    "text": {"type": "string"},
                                    "idempotency_key": {"type": "string", "maxLength": 64},
                                },
                            }
                        }
                    },
                },
                "responses": _answers(
                    _json("Queued", {"type": "object"}, "202"), "400", "401", "403", "404", "413", "422"
                ),
            }
        },
        "/api/requests/{request_id}/assign": {
            "post": {
                "summary": "Pick an assignee, or route again automatically",
                "parameters": [_ID, _CSRF],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"user_id": {"type": "integer"}, "auto": {"type": "boolean"}},
                            }
                        }
                    },
                },
                "responses": _answers(
                    _json("Assigned", {"type": "object"}), "400", "401", "403", "404", "409", "413"
                ),
            }
        },
        "/api/requests/{request_id}/assignments": {
            "get": {
                "summary": "Every assignment of a request and why it was made",
                "parameters": [_ID],
                "responses": _answers(_json("The assignments", {"type": "object"}), "401", "403", "404"),
            }
        },
        "/api/queue/rows": {
            "get": {
                "summary": "Queue rows (rendered) for given ids, scoped like the queue; the rest are gone",
                "parameters": [
                    {"name": "ids", "in": "query", "schema": {"type": "string"}, "description": "1,2,3"},
                    {"name": "view", "in": "query", "schema": {"enum": ["mine", "open", "all", "handled"]}},
                    {"name": "compact", "in": "query", "schema": {"enum": ["0", "1"]}},
                ],
                "responses": _answers(
                    _json("Rows, gone ids and the view's total", {"type": "object"}), "401", "403"
                ),
            }
        },
        "/api/notifications": {
            "get": {
                "summary": "The caller's unread count and latest notifications",
                "responses": _answers(_json("Unread count and latest", {"type": "object"}), "401"),
            }
        },
        "/api/requests/{request_id}/viewing": {
            "post": {
                "summary": "Heartbeat of a request page: who else is viewing or replying",
                "parameters": [_ID, _CSRF],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"mode": {"enum": ["viewing", "replying"]}},
                            }
                        }
                    },
                },
                "responses": _answers(
                    _json("The others on this request now", {"type": "object"}),
                    "400",
                    "401",
                    "403",
                    "404",
                    "422",
                ),
            }
        },
        "/api/publications/{publication_id}": {
            "get": {
                "summary": "A publication's monitor: state, delivery counts, chart series, rendered sections",
                "parameters": [_PUBLICATION],
                "responses": _answers(_json("The monitor", {"type": "object"}), "401", "403", "404"),
            }
        },
        "/api/publish/check": {
            "post": {
                "summary": "Check a compose form as it is: each account's problems, or the draft's error",
                "parameters": [_CSRF],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "text": {"type": "string"},
                                    "category": {"type": "string"},
                                    "account": {"type": "string"},
                                    "scheduled_at": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "responses": _answers(
                    _json("Problems per account", {"type": "object"}), "401", "403", "404", "413"
                ),
            }
        },
        "/api/openapi.json": {
            "get": {
                "summary": "This document",
                "security": [],
                "responses": _json("OpenAPI 3.1", {"type": "object"}),
            }
        },
    },
}


async def openapi_document(request: Request) -> Response:
    return JSONResponse(DOCUMENT)


ROUTES: list[BaseRoute] = [Route("/api/openapi.json", openapi_document)]
