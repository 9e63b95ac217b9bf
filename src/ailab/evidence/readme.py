"""The README inside each bundle: how to check it by hand with sha256sum, openssl and a POSIX shell."""

from __future__ import annotations

TEMPLATE = """\
Evidence bundle of audit {audit_id}
{underline}

A BagIt bag (RFC 8493). It holds this audit's records of the lab's audit trail and nothing else,
each with an RFC 9162 inclusion proof against one signed checkpoint of the trail (tree size {size}),
and what the audit produced. The last record, action "evidence.bundle", holds the SHA-256 of every
payload file outside data/trail/, so the payload is bound to the signed trail.

  data/trail/records.jsonl       the audit's records, one RFC 8785 JSON line each (the Merkle leaves)
  data/trail/proofs.json         per record: seq, leaf hash, audit path (hex, bottom up)
  data/trail/checkpoint.note     the signed checkpoint (C2SP signed note: origin, size, root, time)
  data/trail/checkpoint.tsr      its RFC 3161 timestamp, when the lab has a time-stamping authority
  data/trail/public-key.pem      the key that signed it: compare with the key the lab published
  data/sandbox/requests.json     the sandbox requests and their policy verdicts, as recorded
  data/oscal/assessment-results.json   OSCAL 1.1 assessment results

With ailab:  ailab evidence verify THIS.zip --log-key PINNED.pem [--tsa-roots TSA-ROOTS.pem]

By hand (sha256sum, openssl 3, bash); PINNED.pem is the public key you trust, not the copy inside:

1. Integrity of every file:
     unzip -q THIS.zip && cd {name}
     sha256sum -c tagmanifest-sha256.txt && sha256sum -c manifest-sha256.txt

2. The checkpoint's Ed25519 signature (over the first four lines of the note):
     head -n 4 data/trail/checkpoint.note > body.txt
     sed -n 6p data/trail/checkpoint.note | cut -d' ' -f3 | base64 -d | tail -c 64 > signature.bin
     openssl pkeyutl -verify -pubin -inkey PINNED.pem -rawin -in body.txt -sigfile signature.bin

3. The timestamp (when checkpoint.tsr is present):
     openssl ts -verify -data data/trail/checkpoint.note -in data/trail/checkpoint.tsr -CAfile TSA-ROOTS.pem
     openssl ts -reply -in data/trail/checkpoint.tsr -text | grep 'Time stamp'

4. Each record is in the signed tree. The leaf hash of line N of records.jsonl:
     sed -n Np data/trail/records.jsonl | tr -d '\\n' | (printf '\\000'; cat) | sha256sum
   must equal that record's leaf_hash in proofs.json. Then fold its path (RFC 9162 section 2.1.3.2):
   with index i = seq - 1 and last = tree size - 1, for each hash p of the path, in order:
     if i is odd or i == last:  r = SHA-256(0x01 || p || r), then, if i was even, halve i and
                                last until i is odd or 0
     else:                      r = SHA-256(0x01 || r || p)
     then halve i and last (integer division).
   One step in the shell (hex in, hex out):
     node() {{ printf "$(printf '01%s%s' "$1" "$2" | sed 's/../\\\\x&/g')" | sha256sum | cut -c1-64; }}
   The result must be the root in line 3 of checkpoint.note:
     sed -n 3p data/trail/checkpoint.note | base64 -d | od -An -tx1 | tr -d ' \\n'

5. The payload is the one signed: the last line of records.jsonl ("evidence.bundle") lists
   "sha256:<hex>" for each file outside data/trail/; compare with sha256sum data/sandbox/* data/oscal/*.
"""


def readme(name: str, audit_id: str, size: int) -> str:
    title = f"Evidence bundle of audit {audit_id}"
    return TEMPLATE.format(name=name, audit_id=audit_id, size=size, underline="=" * len(title))
