"""The sections of the lab specification, one module each (``aws``, ``mlflow``, ``sandbox``, ...).

:class:`~ailab.spec.model.LabSpec` assembles them and holds the rules that span sections. Adding a
section: a module here with its model, and its field on ``LabSpec``.
"""
