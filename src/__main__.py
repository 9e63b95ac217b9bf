"""Entry point the Pulumi CLI runs (``main: src/`` in Pulumi.yaml): build the lab from the stack's spec."""

from ailab.infra.program import run_lab_program

run_lab_program()
