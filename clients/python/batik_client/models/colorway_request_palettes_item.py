from enum import StrEnum


class ColorwayRequestPalettesItem(StrEnum):
    BANG_BIRU_LASEM = "bang_biru_lasem"
    INDIGO_CREAM = "indigo_cream"
    SOGAN_SOLO = "sogan_solo"
    SOGAN_YOGYA = "sogan_yogya"

    def __str__(self) -> str:
        return str(self.value)
