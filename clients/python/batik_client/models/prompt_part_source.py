from enum import StrEnum


class PromptPartSource(StrEnum):
    CAPTION = "caption"
    FACT = "fact"
    MOTIF = "motif"
    QUERY = "query"

    def __str__(self) -> str:
        return str(self.value)
