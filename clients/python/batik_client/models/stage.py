from enum import StrEnum


class Stage(StrEnum):
    CAPTIONING = "captioning"
    FUSION = "fusion"
    GENERATION = "generation"
    RETRIEVAL = "retrieval"

    def __str__(self) -> str:
        return str(self.value)
