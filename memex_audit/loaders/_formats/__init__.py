"""Adapters for rollout formats other tools write: one module per format.

Each module registers its adapter with the registry when ``memex_audit.loaders._builtin`` imports
it. Shared pieces: ``_record_fields`` (reading loosely typed foreign records), ``_chat_messages``
(OpenAI / Inspect / Docent / τ² chat messages to steps) and ``_record_errors`` (one load error
per bad record).
"""

__all__: list[str] = []
