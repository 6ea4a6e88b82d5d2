"""`python -m runner [--pull MODEL]...`: serve the model runner API (what the Dockerfile starts)."""

from __future__ import annotations

import argparse
import logging
import os

from .app import configure_from_env, create_app, default_models_path, models_from_env


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m runner", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("MODEL_RUNNER_HOST", "0.0.0.0"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("MODEL_RUNNER_PORT", "12434")))
    parser.add_argument("--models-path", default=default_models_path())
    parser.add_argument("--pull", action="append", default=[], metavar="MODEL",
                        help="model to pull at start (repeatable; also MODELS, space or comma separated)")
    args = parser.parse_args(argv)
    level = os.environ.get("LOG_LEVEL", "info").upper()
    logging.basicConfig(level=getattr(logging, level, logging.INFO), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import uvicorn

    app = create_app(args.models_path, args.pull + models_from_env(), configure_from_env())
    uvicorn.run(app, host=args.host, port=args.port, log_level=level.lower() if level.lower() in
                ("critical", "error", "warning", "info", "debug", "trace") else "info", access_log=level == "DEBUG")


if __name__ == "__main__":
    main()
