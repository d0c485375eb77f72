from enum import StrEnum


class ExportRequestSymmetry(StrEnum):
    C2 = "c2"
    C4 = "c4"
    D4 = "d4"
    DESIGN = "design"
    NONE = "none"

    def __str__(self) -> str:
        return str(self.value)
