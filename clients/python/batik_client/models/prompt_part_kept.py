from enum import StrEnum


class PromptPartKept(StrEnum):
    DROPPED = "dropped"
    FULL = "full"
    PARTIAL = "partial"

    def __str__(self) -> str:
        return str(self.value)
