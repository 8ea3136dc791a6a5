"""The domain packs shipped with memex_audit; importing this package registers them.

Add a pack by writing a module with an object that provides ``DomainPack`` (see
``memex_audit.reading._packs``) and calling ``register_pack`` on it, here or in your own code.
"""

from memex_audit.reading.packs.tau_airline import PACK as TAU_AIRLINE

__all__ = ["TAU_AIRLINE"]
