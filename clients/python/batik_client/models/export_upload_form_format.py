from enum import StrEnum


class ExportUploadFormFormat(StrEnum):
    PDF = "pdf"
    PNG = "png"
    SVG = "svg"
    TIFF = "tiff"

    def __str__(self) -> str:
        return str(self.value)
