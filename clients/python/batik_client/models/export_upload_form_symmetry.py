from enum import StrEnum


class ExportUploadFormSymmetry(StrEnum):
    C2 = "c2"
    C4 = "c4"
    D4 = "d4"
    NONE = "none"

    def __str__(self) -> str:
        return str(self.value)
