"""`batik settings`: every environment variable of every service, from the settings classes.

The settings tables in README.md and docs/*.md and the service sections of .env.example are this
module's output between markers; `batik settings --write` regenerates them and tests/unit/test_docs.py
fails while any is stale. A block names the service and, optionally, the fields it shows:

    <!-- settings: generation sdpa channels_last -->     Markdown (all: the README's full table)
    ...generated...
    <!-- /settings -->

    # settings: retrieval                                .env.example (secrets: every secret field)
    ...generated...
    # /settings
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from pydantic_settings import BaseSettings

from services.common.settings import BaseServiceSettings

REPO = Path(__file__).resolve().parents[1]
# Names whose values are secrets: .env.example lists them, empty, in their own section. A count
# "per key" (GATEWAY_MAX_GENERATIONS_PER_KEY) is no secret.
SECRET_NAME = re.compile(r"(?<!PER_)(KEY|TOKEN|SECRET|PASSWORD)S?$")
# Not in .env.example: fixed by docker-compose.yml (the listen address on uvicorn's command line,
# the addresses of the other services, the mounts), or meaningless for that service.
TORCH_SETTINGS = ("DEVICE", "DTYPE", "TORCH_THREADS")
COMPOSE_FIXED = {
    "host",
    "port",
    "RETRIEVAL_INDEX_DIR",
    "RETRIEVAL_INDEX_ROOT",
    "GATEWAY_RETRIEVAL_URL",
    "GATEWAY_CAPTIONING_URL",
    "GATEWAY_GENERATION_URL",
    "GATEWAY_REDIS_URL",
    "GATEWAY_JOB_REDIS_URL",
    "GATEWAY_LIBRARY_URL",
    "DASHBOARD_GATEWAY_URL",
    "GENERATION_REDIS_URL",
    "CAPTIONING_ADAPTERS_DIR",
    "GENERATION_STYLES_DIR",
    "LIBRARY_DB_URL",
    "LIBRARY_DIR",
    # The gateway and the library hold no model: compose passes them no torch settings.
    *(f"{service}_{name}" for service in ("GATEWAY", "LIBRARY") for name in TORCH_SETTINGS),
}
MARKDOWN_BLOCK = re.compile(
    r"^(<!-- settings: (?P<args>[^>\n]*?) -->\n)(?P<body>.*?)^(<!-- /settings -->)$", re.S | re.M
)
ENV_BLOCK = re.compile(
    r"^(# settings: (?P<args>[^\n]+)\n)(?P<body>.*?)^(# /settings)$", re.S | re.M
)


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


def env_names() -> dict[str, tuple[str, str]]:
    """Every setting's environment variable -> (service, field name)."""
    return {
        f"{cls.model_config['env_prefix']}{name.upper()}": (service, name)
        for service, cls in _settings_classes()
        for name in cls.model_fields
    }


def _default(field) -> str:
    return "unset" if field.default is None else f"`{field.default}`"


def _row(prefix: str, name: str, field) -> str:
    return f"| `{prefix}{name.upper()}` | {_default(field)} | {field.description or ''} |"


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
            lines.append(_row(prefix, name, field))
    return "\n".join(lines) + "\n"


def service_table(service: str, names: list[str] | None = None) -> str:
    """One service's settings (all of them, or `names` in that order) as a Markdown table."""
    cls = dict(_settings_classes())[service]
    prefix = cls.model_config["env_prefix"]
    fields = cls.model_fields
    unknown = [n for n in names or () if n not in fields]
    if unknown:
        raise ValueError(f"{service} has no setting {', '.join(unknown)}")
    rows = [_row(prefix, n, fields[n]) for n in names or _own_first(cls)]
    return "\n".join(["| variable | default | meaning |", "|---|---|---|", *rows]) + "\n"


def _own_first(cls: type[BaseSettings]) -> list[str]:
    """The service's own fields, then those every service shares."""
    common = BaseServiceSettings.model_fields
    return sorted(cls.model_fields, key=lambda name: name in common)


def _env_entry(prefix: str, name: str, field) -> list[str]:
    default = "unset" if field.default is None else str(field.default)
    comment = textwrap.wrap(
        f"{field.description or name}. Default: {default}", width=98, break_on_hyphens=False
    )
    return [*(f"# {line}" for line in comment), f"{prefix}{name.upper()}="]


def env_section(service: str) -> str:
    """.env.example's lines for one service (`secrets`: every secret field of every service)."""
    lines: list[str] = []
    for owner, cls in _settings_classes():
        if service not in (owner, "secrets"):
            continue
        prefix = cls.model_config["env_prefix"]
        for name in _own_first(cls):
            field, env = cls.model_fields[name], f"{prefix}{name.upper()}"
            if name in COMPOSE_FIXED or env in COMPOSE_FIXED:
                continue
            if bool(SECRET_NAME.search(env)) == (service == "secrets"):
                lines += _env_entry(prefix, name, field)
    return "\n".join(lines) + "\n"


def render(text: str) -> str:
    """`text` with every settings block regenerated."""

    def markdown(m: re.Match) -> str:
        service, *names = m["args"].split()
        body = markdown_table() if service == "all" else service_table(service, names or None)
        return m[1] + body + m[4]

    def env(m: re.Match) -> str:
        return m[1] + env_section(m["args"].strip()) + m[4]

    return ENV_BLOCK.sub(env, MARKDOWN_BLOCK.sub(markdown, text))


def generated_files(root: Path = REPO) -> list[Path]:
    """Every file holding a settings block."""
    candidates = [root / "README.md", root / ".env.example", *sorted((root / "docs").glob("*.md"))]
    return [
        p
        for p in candidates
        if p.is_file() and ("<!-- settings: " in p.read_text() or "# settings: " in p.read_text())
    ]


def stale_files(root: Path = REPO) -> list[Path]:
    return [p for p in generated_files(root) if render(p.read_text()) != p.read_text()]


def write(root: Path = REPO) -> list[Path]:
    """Regenerates every settings block; returns the files that changed."""
    changed = stale_files(root)
    for path in changed:
        path.write_text(render(path.read_text()))
    return changed
