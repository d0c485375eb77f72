"""The docs say what the code does."""

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
