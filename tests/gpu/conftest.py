"""Fixtures of the GPU tests: a fake NVML installed at pynvml's boundary (see ``fake_nvml.py``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.gpu.fake_nvml import FakeGpu, FakeNvml


@pytest.fixture
def fake_nvml(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeNvml]:
    """``fake_nvml(gpu, ..., **host_answers)`` installs a fake NVML with those GPUs for this test."""

    def install(*gpus: FakeGpu, **host: object) -> FakeNvml:
        return FakeNvml(gpus=list(gpus), **host).install(monkeypatch.setattr)

    return install
