"""Why a bundle was refused: one error type per reason, each naming the bundle it is about."""

from __future__ import annotations

from governance.errors import BundleError


class BundleRejected(BundleError):
    """A bundle that must not be activated; `bundle` names it (file name or URL)."""

    reason = "rejected"

    def __init__(self, bundle: str, detail: str) -> None:
        self.bundle = bundle
        self.detail = detail
        super().__init__(f"bundle `{bundle}`: {self.reason}: {detail}")


class MalformedBundle(BundleRejected):
    reason = "malformed bundle"


class ArchiveTooLarge(BundleRejected):
    reason = "archive larger than the limit"


class DecompressionBomb(BundleRejected):
    reason = "decompressed size over the limit"


class UnsafeEntry(BundleRejected):
    """An archive entry that could escape the extraction folder or is not a plain file."""

    reason = "unsafe archive entry"


class MissingSignature(BundleRejected):
    reason = "missing signature"


class BadSignature(BundleRejected):
    reason = "bad signature"


class UntrustedKey(BundleRejected):
    """Signed by a key the trust file does not know, or does not trust for this layer."""

    reason = "key not trusted for this layer"


class TamperedFile(BundleRejected):
    """A file whose digest differs from the signed one, or an extra or missing file."""

    reason = "files do not match the signature"


class DigestMismatch(BundleRejected):
    """The manifest disagrees with the signed digests or with its own revision."""

    reason = "digest mismatch"


class DuplicateLayer(BundleRejected):
    reason = "two bundles for one layer"


class SchemaMismatch(BundleRejected):
    reason = "built against another schema"


class Rollback(BundleRejected):
    reason = "sequence not newer than the active bundle"


class IncompleteSet(BundleRejected):
    reason = "incomplete bundle set"


class SourceUnavailable(BundleError):
    """The bundle source could not be read (server down, folder missing); nothing was changed."""


class TrustFileError(BundleError):
    """The trust file or a key file cannot be read or is malformed."""


class OutOfLayer(BundleRejected):
    """A bundle carrying files of another layer: a key may only speak for its own layer."""

    reason = "file outside its layer"


class TreeRejected(BundleRejected):
    """The verified bundles, put together, do not load as a valid policy tree."""

    reason = "policy set does not load"
