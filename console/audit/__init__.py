"""Tamper-evident audit log: append, verify, export (no Qt)."""

from console.audit.export import FORMATS, iter_entries, write_export
from console.audit.log import append, append_many, default_actor
from console.audit.verify import VerifyResult, verify

__all__ = ["FORMATS", "VerifyResult", "append", "append_many", "default_actor", "iter_entries", "verify",
           "write_export"]
