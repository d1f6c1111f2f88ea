"""PhysInteract reimplemented at benchmark scale; see ``methods.physinteract.method``."""
from methods.physinteract.method import PhysInteract

__all__ = ["PhysInteract"]
