"""The docs say what the code does."""

import re

from services import settings_table
from services.settings_table import markdown_table
from tests.helpers import REPO_ROOT


def test_readme_lists_every_setting_as_the_code_defines_it():
    readme = (REPO_ROOT / "README.md").read_text()
    assert markdown_table() in readme, "README's settings table is stale: paste `batik settings`"


def test_readme_gives_the_two_commands():
    readme = (REPO_ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "\ndemo:" in makefile and "\ntest:" in makefile and "\nrun:" in makefile


# ---- settings tables: generated from the settings classes (services/settings_table.py) ----------

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
PROSE_DEFAULT = re.compile(
    r"`(?P<name>[A-Z]+_[A-Z0-9_]+)`(?P<between>[\w\s(]{0,30}?)\bdefaults?(?: to| is)?\s+"
    r"(?:`(?P<literal>[^`]+)`|(?P<number>-?\d+(?:\.\d+)?)\b)"
)


def test_every_settings_block_is_current():
    stale = [str(p.relative_to(REPO_ROOT)) for p in settings_table.stale_files()]
    assert not stale, f"{stale}: settings tables differ from the code; run `batik settings --write`"


def test_the_docs_that_list_settings_generate_them():
    generated = {p.relative_to(REPO_ROOT).as_posix() for p in settings_table.generated_files()}
    for name in (
        "README.md",
        ".env.example",
        "docs/RETRIEVAL.md",
        "docs/GATEWAY.md",
        "docs/GENERATION.md",
        "docs/DASHBOARD.md",
    ):
        assert name in generated, f"{name} has no settings block"


def _outside_blocks(text: str) -> str:
    text = settings_table.MARKDOWN_BLOCK.sub("", text)
    return settings_table.ENV_BLOCK.sub("", text)


def test_no_settings_table_row_or_env_line_is_written_by_hand():
    names = settings_table.env_names()
    for path in [*DOCS, REPO_ROOT / ".env.example"]:
        for line in _outside_blocks(path.read_text()).splitlines():
            # a table row whose first cell is the variable; in .env.example, an assignment
            row = re.match(r"\|\s*`([A-Z]+_[A-Z0-9_]+)`\s*\|", line)
            env = path.suffix != ".md" and re.match(r"([A-Z]+_[A-Z0-9_]+)=", line)
            name = (row or env) and (row or env)[1]
            assert name not in names, (
                f"{path.name}: {name} is listed by hand; put it in a settings block "
                "(services/settings_table.py) so its default stays the code's"
            )


def _default_matches(field, literal: str | None, number: str | None) -> bool:
    default = field.default
    if number is not None:
        return isinstance(default, int | float) and float(default) == float(number)
    return str(default).lower() == literal.lower() or (default is None and literal == "unset")


def test_defaults_named_in_prose_are_the_codes():
    names = settings_table.env_names()
    classes = dict(settings_table._settings_classes())
    checked = 0
    for path in DOCS:
        for m in PROSE_DEFAULT.finditer(_outside_blocks(path.read_text())):
            if m["name"] not in names or re.search(r"`[A-Z]+_", m["between"]):
                continue
            service, field_name = names[m["name"]]
            field = classes[service].model_fields[field_name]
            assert _default_matches(field, m["literal"], m["number"]), (
                f"{path.name}: {m[0]!r}, but the code's default is {field.default!r}"
            )
            checked += 1
    assert checked >= 5  # the pattern still finds the docs' "(default N)" phrases


def test_a_wrong_default_in_a_block_is_stale_and_rewritten():
    text = (REPO_ROOT / "docs/RETRIEVAL.md").read_text()
    wrong = text.replace(
        "| `RETRIEVAL_MAX_INFLIGHT` | `64` |", "| `RETRIEVAL_MAX_INFLIGHT` | `8` |"
    )
    assert wrong != text
    assert settings_table.render(wrong) == text
    env = (REPO_ROOT / ".env.example").read_text()
    assert "Default: 64\nRETRIEVAL_MAX_INFLIGHT=" in env
    assert (
        settings_table.render(
            env.replace("Default: 64\nRETRIEVAL_MAX", "Default: 8\nRETRIEVAL_MAX")
        )
        == env
    )
    assert not PROSE_DEFAULT.search("`RETRIEVAL_MAX_INFLIGHT` is 8") and PROSE_DEFAULT.search(
        "`RETRIEVAL_MAX_INFLIGHT` (default 8)"
    )


def test_batik_settings_check_passes_here_and_fails_on_a_stale_copy(tmp_path):
    from services.cli import main

    assert main(["settings", "--check"]) == 0
    (tmp_path / "docs").mkdir()
    text = (REPO_ROOT / "docs/RETRIEVAL.md").read_text()
    (tmp_path / "docs/RETRIEVAL.md").write_text(text.replace("| `64` |", "| `8` |"))
    assert [p.name for p in settings_table.stale_files(tmp_path)] == ["RETRIEVAL.md"]
    assert [p.name for p in settings_table.write(tmp_path)] == ["RETRIEVAL.md"]
    assert (tmp_path / "docs/RETRIEVAL.md").read_text() == text
