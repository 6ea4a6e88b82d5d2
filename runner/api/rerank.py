"""Reranking in llama-server's shape (also what Docker Model Runner and cagent's RAG pipelines use):
POST /rerank, /v1/rerank, /engines[/llama.cpp][/v1]/rerank with {"model", "query", "documents",
"top_n"?, "return_documents"?}; results sorted by relevance_score, highest first. Scoring in vLLM's
shape, which DMR routes too: POST /score, /engines[/llama.cpp]/score with {"model", "text_1", "text_2"}
(one text against many, or pairwise lists); scores in input order."""

from __future__ import annotations

import time
import uuid

from fastapi import APIRouter, Request
from pydantic import Field

from ..http import ApiError, Body, parse_body, read_json
from ..rerank import RERANK
from ..service import Runner
from ..tasks import Rerank

PATHS = ("/rerank", "/v1/rerank", "/engines/rerank", "/engines/llama.cpp/rerank", "/engines/v1/rerank",
         "/engines/llama.cpp/v1/rerank")
SCORE_PATHS = ("/score", "/v1/score", "/engines/score", "/engines/llama.cpp/score")


class RerankRequest(Body):
    model: str = Field(min_length=1)
    query: str
    documents: list[str] = Field(min_length=1)
    top_n: int | None = Field(default=None, ge=1)
    return_documents: bool = False


class ScoreRequest(Body):
    model: str = Field(min_length=1)
    text_1: str | list[str]
    text_2: str | list[str]


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

    async def score(request: Request) -> dict:
        body = parse_body(ScoreRequest, await read_json(request))
        first = [body.text_1] if isinstance(body.text_1, str) else body.text_1
        second = [body.text_2] if isinstance(body.text_2, str) else body.text_2
        if not first or not second:
            raise ApiError(400, "text_1 and text_2 must not be empty")
        if len(first) == 1:
            pairs = [(first[0], second)]
        elif len(first) == len(second):
            pairs = [(a, [b]) for a, b in zip(first, second, strict=True)]
        else:
            raise ApiError(400, "text_1 must be one text, or as many texts as text_2")
        worker = core.worker_for(core.resolve(body.model), RERANK)
        scores, used = [], 0
        for query, documents in pairs:
            out = await core.one(worker, Rerank(query, documents))
            scores += out["scores"]
            used += out["prompt_tokens"]
        core.metrics.request("score", 200)
        return {"id": f"score-{uuid.uuid4().hex[:24]}", "object": "list", "created": int(time.time()),
                "model": body.model, "data": [{"index": i, "object": "score", "score": s} for i, s in enumerate(scores)],
                "usage": {"prompt_tokens": used, "total_tokens": used, "completion_tokens": 0}}

    for path in PATHS:
        router.add_api_route(path, rerank, methods=["POST"])
    for path in SCORE_PATHS:
        router.add_api_route(path, score, methods=["POST"])
    return router
