from enum import StrEnum


class InitSource(StrEnum):
    NONE = "none"
    QUERY = "query"
    REFERENCE = "reference"

    def __str__(self) -> str:
        return str(self.value)
