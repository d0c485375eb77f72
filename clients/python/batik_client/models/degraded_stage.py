from enum import StrEnum


class DegradedStage(StrEnum):
    CAPTIONING = "captioning"
    FUSION = "fusion"
    GENERATION = "generation"
    LIBRARY = "library"
    RETRIEVAL = "retrieval"

    def __str__(self) -> str:
        return str(self.value)
