"""The hash chain that makes a log file tamper-evident, and its optional Ed25519 seal.

A file is a header line, record lines, and a trailer line. Every line after the header carries
`prev_hash`, the SHA-256 of the previous line's exact bytes; the header's `prev_hash` is the hash
of the previous file's trailer (null for the first file), so rotation keeps one chain across
files. The trailer names the record count and the last line's hash and may carry an Ed25519
signature over them: without the private key nobody can rewrite the chain and reseal it.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FORMAT = "govern-decision-log/1"
HEADER_KEY = "govern_log"
TRAILER_KEY = "govern_log_end"


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


@dataclass(frozen=True, slots=True)
class FileHeader:
    file: str
    created: str
    prev_file: str | None
    prev_hash: str | None

    def to_record(self) -> dict[str, Any]:
        return {
            HEADER_KEY: {
                "format": FORMAT,
                "file": self.file,
                "created": self.created,
                "prev_file": self.prev_file,
            },
            "prev_hash": self.prev_hash,
        }

    @classmethod
    def from_record(cls, record: Any) -> FileHeader | None:
        body = record.get(HEADER_KEY) if isinstance(record, dict) else None
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            return None
        return cls(
            str(body.get("file")), str(body.get("created")), body.get("prev_file"),
            record.get("prev_hash"),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class FileTrailer:
    file: str
    records: int
    last_hash: str
    next_file: str | None
    signature: str | None = None

    def payload(self) -> bytes:
        return signing_payload(self.file, self.records, self.last_hash, self.next_file)

    def signed(self, key: Ed25519PrivateKey) -> FileTrailer:
        signature = base64.b64encode(key.sign(self.payload())).decode()
        return FileTrailer(self.file, self.records, self.last_hash, self.next_file, signature)

    def signature_valid(self, key: Ed25519PublicKey) -> bool:
        if self.signature is None:
            return False
        try:
            key.verify(base64.b64decode(self.signature, validate=True), self.payload())
        except (InvalidSignature, ValueError):
            return False
        return True

    def to_record(self) -> dict[str, Any]:
        return {
            TRAILER_KEY: {
                "file": self.file,
                "records": self.records,
                "next_file": self.next_file,
                "signature": self.signature,
            },
            "prev_hash": self.last_hash,
        }

    @classmethod
    def from_record(cls, record: Any) -> FileTrailer | None:
        body = record.get(TRAILER_KEY) if isinstance(record, dict) else None
        if not isinstance(body, dict) or not isinstance(body.get("records"), int):
            return None
        return cls(
            str(body.get("file")), body["records"], str(record.get("prev_hash")),
            body.get("next_file"), body.get("signature"),
        )  # fmt: skip


def signing_payload(file: str, records: int, last_hash: str, next_file: str | None) -> bytes:
    return f"{FORMAT}\n{file}\n{records}\n{last_hash}\n{next_file or ''}".encode()


def is_marker(record: dict[str, Any]) -> bool:
    """Header and trailer lines hold the chain, not decisions."""
    return HEADER_KEY in record or TRAILER_KEY in record
