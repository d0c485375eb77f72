"""`batik settings`: every environment variable of every service, as the Markdown table in README.

The README's table is this command's output; a test keeps the two the same.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings

from services.common.settings import BaseServiceSettings


def _settings_classes() -> list[tuple[str, type[BaseSettings]]]:
    from dashboard.config import DashboardSettings
    from gateway.config import GatewaySettings
    from services.captioning.config import CaptioningSettings
    from services.generation.config import GenerationSettings
    from services.library.config import LibrarySettings
    from services.retrieval.config import RetrievalSettings

    return [
        ("gateway", GatewaySettings),
        ("retrieval", RetrievalSettings),
        ("captioning", CaptioningSettings),
        ("generation", GenerationSettings),
        ("library", LibrarySettings),
        ("dashboard", DashboardSettings),
    ]


def _default(field) -> str:
    return "unset" if field.default is None else f"`{field.default}`"


def markdown_table() -> str:
    common = BaseServiceSettings.model_fields
    lines = [
        "Common to every service, with the service's prefix (`GATEWAY_`, `RETRIEVAL_`, "
        "`CAPTIONING_`, `GENERATION_`, `LIBRARY_`):",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    lines += [
        f"| `*_{name.upper()}` | {_default(f)} | {f.description or ''} |"
        for name, f in common.items()
    ]
    for service, cls in _settings_classes():
        prefix = cls.model_config["env_prefix"]
        lines += ["", f"{service}:", "", "| variable | default | meaning |", "|---|---|---|"]
        for name, field in cls.model_fields.items():
            if name in common and field.default == common[name].default:
                continue
            lines.append(
                f"| `{prefix}{name.upper()}` | {_default(field)} | {field.description or ''} |"
            )
    return "\n".join(lines) + "\n"
