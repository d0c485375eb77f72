from enum import StrEnum


class SeamlessRepeat(StrEnum):
    FULL = "full"
    HALF_BRICK = "half_brick"
    HALF_DROP = "half_drop"

    def __str__(self) -> str:
        return str(self.value)
