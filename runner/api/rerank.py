"""Reranking in llama-server's shape (also what Docker Model Runner and cagent's RAG pipelines use):
POST /rerank, /v1/rerank, /engines[/llama.cpp]/v1/rerank with {"model", "query", "documents",
"top_n"?, "return_documents"?}; results sorted by relevance_score, highest first."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import Field

from ..http import Body, parse_body, read_json
from ..rerank import RERANK
from ..service import Runner
from ..tasks import Rerank

PATHS = ("/rerank", "/v1/rerank", "/engines/v1/rerank", "/engines/llama.cpp/v1/rerank")


class RerankRequest(Body):
    model: str = Field(min_length=1)
    query: str
    documents: list[str] = Field(min_length=1)
    top_n: int | None = Field(default=None, ge=1)
    return_documents: bool = False


def router(core: Runner) -> APIRouter:
    router = APIRouter()

    async def rerank(request: Request) -> dict:
        body = parse_body(RerankRequest, await read_json(request))
        entry = core.resolve(body.model)
        out = await core.one(core.worker_for(entry, RERANK), Rerank(body.query, body.documents))
        ranked = sorted(range(len(body.documents)), key=lambda i: (-out["scores"][i], i))[: body.top_n]
        core.metrics.request("rerank", 200)
        return {"model": body.model, "object": "list",
                "usage": {"prompt_tokens": out["prompt_tokens"], "total_tokens": out["prompt_tokens"]},
                "results": [{"index": i, "relevance_score": out["scores"][i],
                             **({"document": {"text": body.documents[i]}} if body.return_documents else {})}
                            for i in ranked]}

    for path in PATHS:
        router.add_api_route(path, rerank, methods=["POST"])
    return router
