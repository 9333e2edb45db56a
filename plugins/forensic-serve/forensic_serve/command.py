"""The ``forensic serve`` command (definition only: FastAPI and uvicorn are imported inside the body)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import click

from forensic_core.cli.options import pipeline_option
from forensic_serve.config import DEFAULT_TOKEN_ENV, is_loopback


@click.command("serve")
@pipeline_option()
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback unless --allow-remote)."
)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="TCP port (0: any free).")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("forensic-serve-data"),
    show_default=True,
    help="The server's folder: uploads and one journal per analysis (kept across restarts).",
)
@click.option(
    "--max-upload-mb", type=click.FloatRange(0.001, 4096), default=50.0, show_default=True, help="Upload size limit."
)
@click.option(
    "--max-pixels", type=click.IntRange(1), default=40_000_000, show_default=True, help="Image size limit (w x h)."
)
@click.option(
    "--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Analyses run at the same time."
)
@click.option(
    "--queue-size", type=click.IntRange(0, 10_000), default=8, show_default=True, help="Analyses waiting before 429."
)
@click.option(
    "--max-batch",
    type=click.IntRange(1, 4096),
    default=32,
    show_default=True,
    help="Most items one component call holds when concurrent analyses are batched.",
)
@click.option(
    "--stored-sessions",
    type=click.IntRange(1),
    default=10_000,
    show_default=True,
    help="Dialog sessions kept on disk (DATA-DIR/sessions.sqlite3); the least recently used are removed.",
)
@click.option(
    "--session-days",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="Remove a dialog session (and its messages) unused for this many days.",
)
@click.option("--allow-remote", is_flag=True, help="Permit binding a non-loopback address (prints a warning).")
@click.option(
    "--token-env",
    default=DEFAULT_TOKEN_ENV,
    show_default=True,
    help="Environment variable holding a bearer token the API then requires (unset or empty: none).",
)
def serve(
    pipeline_path: Path | None,
    host: str,
    port: int,
    data_dir: Path,
    max_upload_mb: float,
    max_pixels: int,
    workers: int,
    queue_size: int,
    max_batch: int,
    stored_sessions: int,
    session_days: float,
    allow_remote: bool,
    token_env: str,
) -> None:
    """Serve the REST API (OpenAPI at /openapi.json) and the web page at / for analysis, explanation and chat.

    Models load once when the server starts; every analysis goes through the engine into its own journal under
    DATA-DIR and every dialog turn into DATA-DIR/sessions.sqlite3 before it is answered, so a restarted server
    still serves earlier results and continues earlier conversations. Binds loopback by default.

    \b
    Examples:
      forensic serve
      forensic serve -p examples/pipelines/kfd-tiny-daam.yaml --port 8080
      FORENSIC_SERVE_TOKEN=secret forensic serve --host 0.0.0.0 --allow-remote
    """
    from forensic_core.errors import ConfigError

    if not is_loopback(host):
        if not allow_remote:
            raise ConfigError(
                f"--host {host}: not a loopback address; the API would be reachable from other machines. "
                "Add --allow-remote (and set a token in $" + token_env + ") to bind it"
            )
        click.echo(
            f"warning: binding {host}: the API is reachable from other machines"
            + ("" if os.environ.get(token_env) else f"; no token is set (${token_env}): anyone can use it"),
            err=True,
        )
    import uvicorn

    from forensic_core.outlock import held
    from forensic_serve.app import create_app
    from forensic_serve.config import ServeConfig
    from forensic_serve.service import Service

    config = ServeConfig(
        data_dir=data_dir,
        pipeline=pipeline_path,
        host=host,
        port=port,
        allow_remote=allow_remote,
        max_upload_bytes=int(max_upload_mb * 2**20),
        max_pixels=max_pixels,
        workers=workers,
        queue_size=queue_size,
        max_batch_items=max_batch,
        stored_sessions=stored_sessions,
        session_max_age_days=session_days,
        token_env=token_env,
        token=os.environ.get(token_env) or None,
    )
    # one server per data folder: two would resume the same analyses and evict each other's sessions
    with held(data_dir, command="forensic serve") as lock:
        click.echo(f"loading the pipeline and its models ({pipeline_path or 'default'}) ...", err=True)
        listening = bind(host, port)
        bound = listening.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host

        def ready() -> None:
            click.echo(f"forensic serve: http://{shown}:{bound}/ (API schema at /openapi.json)", err=True)

        app = create_app(Service(config), on_ready=ready, on_stop=lock.release)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=10))
        server.run(sockets=[listening])


def bind(host: str, port: int) -> socket.socket:
    """Bind and listen before the models load: the port is known (also for --port 0) and taken at once, and
    clients that connect while the server starts wait in the backlog."""
    from forensic_core.errors import ConfigError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host.strip("[]"), port))
    except OSError as exc:
        listening.close()
        raise ConfigError(f"--host {host} --port {port}: cannot bind: {exc.strerror or exc}") from None
    listening.listen(128)
    return listening
