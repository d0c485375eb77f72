from enum import StrEnum


class Repeat(StrEnum):
    FULL = "full"
    HALF_BRICK = "half_brick"
    HALF_DROP = "half_drop"
    MIRROR = "mirror"
    NONE = "none"

    def __str__(self) -> str:
        return str(self.value)
