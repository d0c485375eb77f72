"""Write (or check) the checked-in OpenAPI documents: openapi/<service>.json, one per service.

    python scripts/openapi.py          # rewrite openapi/*.json from the apps (`make openapi`)
    python scripts/openapi.py --check  # exit 1 naming each file that differs from its app

Each document is what the service serves at /openapi.json, with keys sorted and two-space indents, so
a change to a route or a contract shows as a small diff in review. tests/unit/test_openapi_files.py
fails while a file is stale.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "openapi"
APPS = {
    "gateway": "gateway.app",
    "retrieval": "services.retrieval.app",
    "captioning": "services.captioning.app",
    "generation": "services.generation.app",
    "library": "services.library.app",
}


def render(service: str) -> str:
    """The service's served document as the checked-in text."""
    app = importlib.import_module(APPS[service]).app
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def stale() -> list[str]:
    """The files that differ from what their app serves (or are missing)."""
    return [
        service
        for service in APPS
        if not (OUT / f"{service}.json").is_file()
        or (OUT / f"{service}.json").read_text() != render(service)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    if args.check:
        names = stale()
        for name in names:
            print(f"openapi/{name}.json is stale: run `make openapi`", file=sys.stderr)
        return 1 if names else 0
    OUT.mkdir(exist_ok=True)
    for service in APPS:
        (OUT / f"{service}.json").write_text(render(service))
        print(f"wrote openapi/{service}.json")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
