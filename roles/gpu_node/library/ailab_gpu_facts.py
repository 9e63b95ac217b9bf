#!/usr/bin/python
"""Ansible module: the host's NVIDIA GPUs as facts, read through NVML by ailab's own inventory code."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ailab_gpu_facts
short_description: NVIDIA GPU inventory of the host, from NVML
description:
  - Reads every NVIDIA GPU of the host through NVML with ailab's inventory code
    (C(src/ailab/gpu/inventory.py), shipped as the role's module_utils), and returns it as the
    C(ailab_gpu) fact with the Kubernetes node labels it implies.
  - A host without the NVML Python binding, without the driver, with the driver not loaded or with
    no GPU is not an error; the fact then says so in C(reason).
  - Reads only; never changes the host.
options: {}
requirements:
  - the NVML Python binding (C(python3-pynvml) or C(nvidia-ml-py)) and the NVIDIA driver, for a non-empty inventory
author:
  - AI Lab unit
"""

EXAMPLES = r"""
- name: Read the GPUs through NVML
  ailab_gpu_facts:

- name: Show the GPU models
  ansible.builtin.debug:
    msg: "{{ ansible_facts['ailab_gpu']['inventory']['gpus'] | map(attribute='name') }}"
  when: ansible_facts['ailab_gpu']['available']
"""

RETURN = r"""
ansible_facts:
  description: The C(ailab_gpu) fact.
  returned: always
  type: dict
  contains:
    ailab_gpu:
      description: The GPUs of the host, or why there are none.
      type: dict
      contains:
        available:
          description: Whether NVML answered and reported at least one GPU.
          type: bool
          sample: false
        reason:
          description: Why NVML is unusable, as one line; null when available.
          type: str
          sample: "no NVIDIA driver: libnvidia-ml.so.1 (NVML) was not found; install the NVIDIA driver"
        gpu_count:
          description: How many GPUs NVML reports.
          type: int
          sample: 4
        inventory:
          description: ailab's GPU inventory (schema 1; see C(ailab gpu inventory --json)); null when not available.
          type: dict
        labels:
          description: Kubernetes node labels with GPU feature discovery's keys (empty when not available).
          type: dict
          sample: {"nvidia.com/gpu.count": "4", "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
        mig_pending:
          description: Whether a GPU has a MIG mode change that waits for a GPU reset or a reboot.
          type: bool
          sample: false
"""

from typing import Any

from ansible.module_utils.ailab_gpu_inventory import NvmlUnavailableError, collect_inventory, node_labels
from ansible.module_utils.basic import AnsibleModule


def gpu_fact() -> dict[str, Any]:
    """The ``ailab_gpu`` fact: the inventory and its labels, or the one-line reason there is none."""
    try:
        inventory = collect_inventory()
    except NvmlUnavailableError as error:
        return {"available": False, "reason": str(error), "gpu_count": 0, "inventory": None, "labels": {}, "mig_pending": False}
    modes = [gpu["mig_mode"] for gpu in inventory["gpus"] if gpu["mig_mode"] is not None]
    return {
        "available": True,
        "reason": None,
        "gpu_count": len(inventory["gpus"]),
        "inventory": inventory,
        "labels": node_labels(inventory),
        "mig_pending": any(mode["current"] != mode["pending"] for mode in modes),
    }


def main() -> None:
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    module.exit_json(changed=False, ansible_facts={"ailab_gpu": gpu_fact()})


if __name__ == "__main__":
    main()
