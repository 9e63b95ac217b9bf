"""Preparing the on-premises hosts: ailab's driver of ansible-runner over ``roles/`` and ``playbooks/``.

* :mod:`~ailab.hosts.layout`: where the Ansible content lives;
* :mod:`~ailab.hosts.inputs`: the user's inventory and ``-e`` values, checked;
* :mod:`~ailab.hosts.listing`: what a playbook will run, per host (``--list-tasks``), and its tags;
* :mod:`~ailab.hosts.progress`: ansible-runner events turned into per-host progress;
* :mod:`~ailab.hosts.summary`: the per-host result, the failures, the exit code;
* :mod:`~ailab.hosts.runner`: the runs themselves (``prepare``, GPU facts).
"""
