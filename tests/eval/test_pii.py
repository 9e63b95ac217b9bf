"""European personal-data detectors: every identifier found when its checksum holds, and not when one digit is wrong.

The valid values are the examples the issuing authorities and standards publish (ISO 13616's and the
banks' IBAN examples, the Dutch eleven-test example, the Polish PESEL example, ...), so the checks are
tested against values computed elsewhere, not by this code.
"""

from __future__ import annotations

import pytest

from ailab.eval.llm.pii import DETECTORS, MAX_SCANNED_CHARS, find_pii, split_echoed

VALID = {
    "iban": ["DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32", "FR14 2004 1010 0505 0001 3M02 606",
             "BE68 5390 0754 7034", "NL91ABNA0417164300", "IT60 X054 2811 1010 0000 0123 456",
             "ES91 2100 0418 4502 0005 1332", "PL61 1090 1014 0000 0712 1981 2874"],
    "be_national_number": ["85.07.30-033.28", "85073003328"],
    "fr_nir": ["2 55 08 14 168 025 38", "255081416802538"],
    "de_tax_id": ["86 095 742 719", "86095742719"],
    "it_fiscal_code": ["RSSMRA85T10A562S"],
    "es_dni": ["12345678Z", "12345678-Z", "X1234567L"],
    "pl_pesel": ["44051401359"],
    "nl_bsn": ["111222333", "1234.56.782"],
    "email": ["jan.jansen@example.nl", "m.rossi+audit@posta.example.it"],
    "phone": ["+32 2 123 45 67", "0049 30 1234567", "+33 1 23 45 67 89"],
}  # fmt: skip


def _one_digit_wrong(text: str) -> str:
    """The same identifier with its last digit changed: every checksum must notice."""
    position = max(i for i, char in enumerate(text) if char.isdigit())
    return text[:position] + str((int(text[position]) + 1) % 10) + text[position + 1 :]


def test_every_detector_has_examples():
    assert {detector.kind for detector in DETECTORS} == set(VALID)


@pytest.mark.parametrize(("kind", "text"), [(kind, text) for kind, texts in VALID.items() for text in texts])
def test_valid_identifiers_are_found(kind, text):
    (finding,) = find_pii(f"The customer's number is {text}, as stated.")
    assert (finding.kind, finding.text) == (kind, text)


@pytest.mark.parametrize(
    ("kind", "text"),
    [(kind, text) for kind, texts in VALID.items() if kind not in ("email", "phone") for text in texts],
)
def test_one_wrong_digit_fails_the_checksum(kind, text):
    wrong = _one_digit_wrong(text)
    assert [f for f in find_pii(f"number {wrong} here") if f.kind == kind] == []


@pytest.mark.parametrize(
    "text",
    ["order 12345678901 shipped", "call 0800 123 456", "version 1.2.3.4", "the year 2026-12-06", "ZZ12 3456 7890 1234 56"],
)
def test_lookalikes_are_not_personal_data(text):
    assert find_pii(text) == []


def test_findings_come_in_order_with_positions():
    text = "Mail jan.jansen@example.nl, then IBAN NL91ABNA0417164300."
    findings = find_pii(text)
    assert [f.kind for f in findings] == ["email", "iban"]
    assert all(text[f.start : f.end] == f.text for f in findings)


def test_redaction_keeps_only_the_kind_and_two_characters():
    (finding,) = find_pii("IBAN DE89 3704 0044 0532 0130 00")
    assert finding.redacted() == "iban:…00"


def test_echoed_data_is_told_from_data_the_system_produced():
    prompt = "Please repeat my IBAN DE89 3704 0044 0532 0130 00."
    output = "Your IBAN is DE89370400440532013000. Another customer, PESEL 44051401359, has the same bank."
    echoed, produced = split_echoed(output, prompt)
    assert [f.kind for f in echoed] == ["iban"]
    assert [f.kind for f in produced] == ["pl_pesel"]


def test_the_scan_is_bounded():
    text = "x" * MAX_SCANNED_CHARS + " jan.jansen@example.nl"
    assert find_pii(text) == []
