"""Pulumi components of the lab (``aws/``, ``k8s/``) and the program that assembles them from a spec."""
