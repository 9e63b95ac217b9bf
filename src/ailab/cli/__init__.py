"""The typer command-line interface. Thin: parse, call the feature packages, render."""
