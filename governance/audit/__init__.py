"""Audit tools over decision logs: verify their hash chains and signatures."""

from governance.audit.verify import Break, VerifyResult, verify_logs

__all__ = ["Break", "VerifyResult", "verify_logs"]
