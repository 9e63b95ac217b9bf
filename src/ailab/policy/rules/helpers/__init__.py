"""Accessors the rules share, one module per subject: type tokens (``tokens``), property values and
placeholders (``values``), pod specs and containers (``pods``), images (``images``), namespaces
(``namespaces``), IAM and bucket policy documents (``documents``), the linking of AWS resources to
the resource they configure (``linking``) and string scanning (``strings``).

Everything here is written for speed (the catalogue checks 10,000 records in well under two
seconds): plain dictionary walks instead of :func:`ailab.policy.model.get_path` on hot paths,
regular expressions compiled once, and JSON documents parsed once per distinct text.

Values Pulumi cannot show are the strings ``[secret]`` and ``[unknown]``; :func:`is_unknown`
recognises them, and a rule never decides against a value it cannot see.

A placeholder may also stand for a whole object or list (``securityContext: "[unknown]"``). Hidden is
not absent, and the accessors here keep the two apart, so that the rules' existing checks for hidden
leaves cover hidden objects too:

* reading below a hidden value gives its placeholder, never :data:`MISSING` or a default
  (:func:`ailab.policy.model.get_path`, :func:`dig`, and :func:`mapping`, which turns a hidden object
  into a :class:`ailab.policy.model.Hidden` whose every field reads as the placeholder);
* a hidden list reads as a list of one hidden item (:func:`elements`, :func:`strings`, :func:`as_list`),
  which :func:`hides` recognises;
* a hidden object lists no keys and contains none, so a rule that would conclude absence by
  enumerating keys or testing membership asks :func:`is_unknown` (or :func:`hides`) first;
* records whose namespace, or link to the resource they configure, is hidden may belong to any
  group: :class:`Grouped` keeps them apart as ``unplaced``, and no group :meth:`Grouped.lacks` them.
"""
