from enum import IntEnum


class GetReferenceImageSize(IntEnum):
    VALUE_224 = 224
    VALUE_512 = 512

    def __str__(self) -> str:
        return str(self.value)
