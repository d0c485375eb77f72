from enum import StrEnum


class ImportResponseSource(StrEnum):
    BATIK = "batik"
    PARAMETERS = "parameters"

    def __str__(self) -> str:
        return str(self.value)
