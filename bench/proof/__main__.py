"""``python -m bench.proof``: the proof of bench/proof/__init__.py."""

from bench.proof.run import main

raise SystemExit(main())
