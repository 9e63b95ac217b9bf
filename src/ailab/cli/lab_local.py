"""``ailab lab local``: ailab's own MLflow server on this machine (what ``ailab eval run --local`` logs to)."""

from __future__ import annotations

import typer

from ailab.cli.base import new_group

app = new_group("ailab's own MLflow server on 127.0.0.1 (basic auth, no default access, data under ailab's data directory).")


@app.command()
def up() -> None:
    """Start the local MLflow server, or reuse the running one."""
    from ailab.services.mlflow import local_server

    state = local_server.up()
    typer.echo(f"MLflow is up at {state.url} (pid {state.pid}); data in {local_server.root()}")


@app.command()
def status() -> None:
    """Say whether the local MLflow server runs. Exit 0 up, 1 down."""
    from ailab.services.mlflow import local_server

    state = local_server.status()
    if state is None or not state.healthy:
        typer.echo("MLflow is down" if state is None else f"MLflow (pid {state.pid}) does not answer on {state.url}")
        raise typer.Exit(1)
    typer.echo(f"MLflow is up at {state.url} (pid {state.pid})")


@app.command()
def down() -> None:
    """Stop the local MLflow server (its data stays)."""
    from ailab.services.mlflow import local_server

    typer.echo("MLflow stopped" if local_server.down() else "MLflow was not running")
