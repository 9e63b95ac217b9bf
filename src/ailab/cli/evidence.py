"""`ailab evidence`: one audit's evidence bundle, and its offline check."""

from __future__ import annotations

from pathlib import Path

import typer

from ailab.cli.base import new_group

app = new_group("Evidence bundles a reviewer verifies offline (docs/evidence.md).")

CHECK_FORMAT = "ailab.evidence-verify/1"


@app.command()
def bundle(
    audit: str = typer.Option(..., "--audit", help="The audit id whose records and results go in the bundle."),
    output: Path = typer.Option(..., "--output", help="Where to write the bundle (a .zip)."),
    tracking_uri: str | None = typer.Option(
        None,
        "--tracking-uri",
        help="MLflow server whose audit/<id> experiment's runs are exported "
        "(credentials: MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD).",
    ),
) -> None:
    """Write a BagIt bag of one audit: signed records with inclusion proofs, sandbox verdicts, OSCAL results."""
    from ailab.cli.console import out
    from ailab.errors import BadInputError
    from ailab.evidence.bundle import build

    if output.suffix != ".zip" or output.is_dir():
        raise BadInputError(f"--output {output}: name a .zip file to write")
    if not output.parent.is_dir():
        raise BadInputError(f"--output {output}: the directory {output.parent} does not exist")
    runs = None
    if tracking_uri is not None:
        import os

        from ailab.evidence.mlflow_export import export_runs
        from ailab.spec.naming import mlflow_experiment

        user, password = os.environ.get("MLFLOW_TRACKING_USERNAME", ""), os.environ.get("MLFLOW_TRACKING_PASSWORD", "")
        runs = export_runs(tracking_uri, mlflow_experiment(audit), user, password)
    built = build(audit, output, mlflow_runs=runs)
    stamped = "timestamped" if built.timestamped else "not timestamped (no TSA configured)"
    out().print(
        f"{built.path}: {built.records} records of {audit}, proofs against checkpoint {built.checkpoint_size} ({stamped})",
        markup=False,
        soft_wrap=True,
    )


@app.command()
def verify(
    bundle_file: Path = typer.Argument(..., metavar="BUNDLE", help="The bundle to check (the .zip of ailab evidence bundle)."),
    log_key: Path = typer.Option(..., "--log-key", help="The trail's public key you trust (PEM, `ailab audit key`)."),
    tsa_roots: Path | None = typer.Option(None, "--tsa-roots", help="PEM roots of the time-stamping authority."),
    as_json: bool = typer.Option(False, "--json", help=f"Print the result as JSON ({CHECK_FORMAT})."),
) -> None:
    """Check a bundle offline: exit 0 intact, 1 tampered (naming the first bad item), 2 unreadable."""
    from ailab.cli.console import emit_json, out, print_error
    from ailab.evidence.bundle import TamperedError, check
    from ailab.trail.signer import load_public_key

    key = load_public_key(log_key)
    checker = None
    if tsa_roots is not None:
        from ailab.trail.tsa import OpensslTimestampChecker

        checker = OpensslTimestampChecker(tsa_roots)
    try:
        checked = check(bundle_file, key, checker)
    except TamperedError as error:
        if as_json:
            emit_json({"format": CHECK_FORMAT, "intact": False, "item": error.item, "reason": error.reason})
        else:
            print_error(f"{bundle_file}: tampered: {error}")
        raise typer.Exit(1) from None
    if as_json:
        emit_json(
            {
                "format": CHECK_FORMAT, "intact": True, "audit_id": checked.audit_id, "records": checked.records,
                "tree_size": checked.tree_size, "timestamp": checked.timestamp,
            }
        )  # fmt: skip
        return
    stamped = f", timestamped {checked.timestamp}" if checked.timestamp else ""
    out().print(
        f"{bundle_file}: intact: {checked.records} records of {checked.audit_id} in the signed tree of {checked.tree_size}{stamped}",
        markup=False,
        soft_wrap=True,
    )
