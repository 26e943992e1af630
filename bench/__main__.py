"""Run every benchmark in bench/ in turn: ``.venv/bin/python -m bench``; or only some,
by module name: ``.venv/bin/python -m bench kiosk``."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from pathlib import Path


def main() -> int:
    """Call each bench module's main() in name order; non-zero if any failed or missed its goal."""
    failed: list[str] = []
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])
                   if not m.name.startswith("_"))
    wanted = sys.argv[1:]
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        print(f"no such benchmark: {', '.join(unknown)} (there are: {', '.join(names)})",
              file=sys.stderr)
        return 2
    names = [name for name in names if not wanted or name in wanted]
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        run = getattr(module, "main", None)
        if run is None:
            print(f"bench.{name}: no main(), skipped")
            continue
        print(f"\n=== bench.{name} ===", flush=True)
        try:
            outcome = run()
        except Exception:  # one broken benchmark should not hide the figures of the others
            traceback.print_exc()
            outcome = 1
        if outcome:
            failed.append(name)
    if failed:
        print(f"\nnot met or failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
