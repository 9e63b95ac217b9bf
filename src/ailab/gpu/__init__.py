"""NVIDIA GPUs of this host: NVML inventory (:mod:`ailab.gpu.inventory`), health verdicts (:mod:`ailab.gpu.health`)."""
