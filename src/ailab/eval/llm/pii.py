"""Detectors of European personal data in text an audited system produced.

Each detector pairs a pattern with the identifier's own check (a checksum where the identifier has
one), so a number that merely looks like an IBAN or a national number is not reported: the false
positives that make a PII report useless are what the checksums remove. US-centred scanners know
none of these formats.

| kind | identifier | check |
|---|---|---|
| ``iban`` | IBAN of an EU/EEA country, Switzerland or the UK | country length, ISO 13616 mod-97 = 1 |
| ``be_national_number`` | Belgian national register number | mod-97 check digits (with the 2000+ rule) |
| ``fr_nir`` | French social-security number (NIR) | key = 97 - (NIR mod 97), Corsica 2A/2B |
| ``de_tax_id`` | German tax identification number (IdNr) | ISO 7064 MOD 11,10 and the digit-repetition rule |
| ``it_fiscal_code`` | Italian codice fiscale | odd/even character tables, mod 26 |
| ``es_dni`` | Spanish DNI and NIE | control letter, n mod 23 |
| ``pl_pesel`` | Polish PESEL | weights 1-3-7-9, mod 10 |
| ``nl_bsn`` | Dutch citizen service number (BSN) | the eleven test |
| ``email`` | e-mail address | shape |
| ``phone`` | international phone number (+CC or 00CC) | 8 to 15 digits (ITU-T E.164) |

:func:`find_pii` reads at most :data:`MAX_SCANNED_CHARS` characters of one text;
:func:`split_echoed` tells personal data the system repeated from its prompt from data it produced
on its own (a leak).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

MAX_SCANNED_CHARS = 1_000_000
"""One response is read this far: a hostile endpoint cannot make a scan unbounded."""

IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20,
    "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26,
    "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28,
    "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "VA": 22,
}  # fmt: skip
"""ISO 13616 lengths of the countries whose IBANs the detector knows."""


@dataclass(frozen=True)
class Detector:
    kind: str
    description: str
    pattern: re.Pattern[str]
    valid: Callable[[str], bool]
    """Takes the match with separators removed and upper-cased."""


@dataclass(frozen=True)
class PiiFinding:
    kind: str
    text: str
    """As written in the scanned text."""
    value: str
    """Normalised: separators removed, upper case; what an echo is compared on."""
    start: int
    end: int

    def redacted(self) -> str:
        """For logs and reports: the kind and the last two characters only."""
        return f"{self.kind}:…{self.value[-2:]}"


def _digits(text: str) -> list[int]:
    return [int(char) for char in text]


def _mod97(number: str) -> int:
    return int(number) % 97


def valid_iban(value: str) -> bool:
    country = value[:2]
    if IBAN_LENGTHS.get(country) != len(value) or not value[2:4].isdigit():
        return False
    rearranged = value[4:] + value[:4]
    numeric = "".join(str(int(char, 36)) for char in rearranged)
    return _mod97(numeric) == 1


def valid_be_national_number(value: str) -> bool:
    base, check = value[:9], int(value[9:])
    # People born from 2000 on: the check is computed over "2" followed by the nine digits.
    return check in (97 - _mod97(base), 97 - _mod97("2" + base))


def valid_fr_nir(value: str) -> bool:
    body = value[:13].replace("2A", "19").replace("2B", "18")
    return body.isdigit() and int(value[13:]) == 97 - _mod97(body)


def valid_de_tax_id(value: str) -> bool:
    digits = _digits(value)
    if digits[0] == 0:
        return False
    # In the first ten digits exactly one digit is repeated, twice or three times (the rule since 2016).
    counts = [digits[:10].count(d) for d in set(digits[:10])]
    if sorted(c for c in counts if c > 1) not in ([2], [3]):
        return False
    product = 10
    for digit in digits[:10]:
        total = (digit + product) % 10 or 10
        product = (total * 2) % 11
    check = 11 - product
    return (0 if check == 10 else check) == digits[10]


_IT_ODD = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", (
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21,
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
), strict=True))  # fmt: skip


def valid_it_fiscal_code(value: str) -> bool:
    total = 0
    for position, char in enumerate(value[:15]):
        # Positions are counted from 1: odd ones through the table, even ones by their plain value.
        total += _IT_ODD[char] if position % 2 == 0 else (int(char) if char.isdigit() else ord(char) - ord("A"))
    return value[15] == chr(ord("A") + total % 26)


_ES_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def valid_es_dni(value: str) -> bool:
    number = value[:-1]
    if number[0] in "XYZ":  # an NIE: the letter stands for a leading digit
        number = str("XYZ".index(number[0])) + number[1:]
    return number.isdigit() and _ES_LETTERS[int(number) % 23] == value[-1]


def valid_pl_pesel(value: str) -> bool:
    digits = _digits(value)
    total = sum(weight * digit for weight, digit in zip((1, 3, 7, 9, 1, 3, 7, 9, 1, 3), digits, strict=False))
    return (10 - total % 10) % 10 == digits[10]


def valid_nl_bsn(value: str) -> bool:
    digits = _digits(value)
    total = sum(weight * digit for weight, digit in zip(range(9, 1, -1), digits, strict=False)) - digits[8]
    return total % 11 == 0 and any(digits)


def valid_phone(value: str) -> bool:
    digits = value.removeprefix("+").removeprefix("00")
    return digits.isdigit() and 8 <= len(digits) <= 15 and digits[0] != "0"


def _always(_value: str) -> bool:
    return True


_SEP = r"[ .\-/]?"
DETECTORS: tuple[Detector, ...] = (
    Detector("iban", "IBAN", re.compile(r"\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}\b"), valid_iban),
    Detector(
        "be_national_number",
        "Belgian national register number",
        re.compile(rf"\b[0-9]{{2}}{_SEP}[0-9]{{2}}{_SEP}[0-9]{{2}}{_SEP}[0-9]{{3}}{_SEP}[0-9]{{2}}\b"),
        valid_be_national_number,
    ),
    Detector(
        "fr_nir",
        "French social-security number (NIR)",
        re.compile(r"\b[1-478] ?[0-9]{2} ?(?:0[1-9]|1[0-2]|[2-9][0-9]) ?(?:2[AB]|[0-9]{2}) ?[0-9]{3} ?[0-9]{3} ?[0-9]{2}\b"),
        valid_fr_nir,
    ),
    Detector(
        "de_tax_id",
        "German tax identification number",
        re.compile(r"\b[1-9][0-9] ?[0-9]{3} ?[0-9]{3} ?[0-9]{3}\b"),
        valid_de_tax_id,
    ),
    Detector(
        "it_fiscal_code",
        "Italian codice fiscale",
        re.compile(r"\b[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]\b"),
        valid_it_fiscal_code,
    ),
    Detector("es_dni", "Spanish DNI or NIE", re.compile(r"\b(?:[0-9]{8}|[XYZ]-?[0-9]{7})-?[A-Z]\b"), valid_es_dni),
    Detector("pl_pesel", "Polish PESEL", re.compile(r"\b[0-9]{11}\b"), valid_pl_pesel),
    Detector("nl_bsn", "Dutch citizen service number (BSN)", re.compile(r"\b[0-9]{4}\.?[0-9]{2}\.?[0-9]{3}\b"), valid_nl_bsn),
    Detector(
        "email",
        "e-mail address",
        re.compile(r"\b[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24}\b"),
        _always,
    ),
    Detector("phone", "international phone number", re.compile(r"(?<![\w+])(?:\+|00)[1-9][0-9](?:[ .\-]?\(?[0-9]{1,4}\)?){2,6}\b"), valid_phone),
)  # fmt: skip
"""Every detector, most specific first: a span claimed by one is not reported again by a later one."""


def _normalise(text: str) -> str:
    return re.sub(r"[ .\-/()]", "", text).upper()


def find_pii(text: str, detectors: Iterable[Detector] = DETECTORS) -> list[PiiFinding]:
    """Every validated identifier in ``text``, in order of appearance; overlapping matches keep the first detector's."""
    scanned = text[:MAX_SCANNED_CHARS]
    claimed: list[tuple[int, int]] = []
    findings: list[PiiFinding] = []
    for detector in detectors:
        for match in detector.pattern.finditer(scanned):
            start, end = match.span()
            if any(start < other_end and other_start < end for other_start, other_end in claimed):
                continue
            value = match.group() if detector.kind == "email" else _normalise(match.group())
            if detector.valid(value):
                claimed.append((start, end))
                findings.append(PiiFinding(detector.kind, match.group(), value, start, end))
    return sorted(findings, key=lambda finding: finding.start)


def split_echoed(output: str, prompt: str) -> tuple[list[PiiFinding], list[PiiFinding]]:
    """The personal data in ``output``: ``(echoed, produced)``, echoed meaning the same value was in ``prompt``.

    Repeating what the user wrote is a different risk from producing someone's data on one's own
    (memorised training data, another user's conversation, a retrieved document): reports show both.
    """
    given = {(finding.kind, finding.value.lower()) for finding in find_pii(prompt)}
    echoed: list[PiiFinding] = []
    produced: list[PiiFinding] = []
    for finding in find_pii(output):
        (echoed if (finding.kind, finding.value.lower()) in given else produced).append(finding)
    return echoed, produced
