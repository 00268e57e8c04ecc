"""Parses every .tf file under the given directories with python-hcl2; exits 1 naming each file
that does not parse."""
import pathlib
import sys

import hcl2

failed = 0
count = 0
for root in sys.argv[1:]:
    for path in sorted(pathlib.Path(root).rglob("*.tf")):
        count += 1
        try:
            with open(path) as f:
                hcl2.load(f)
        except Exception as e:  # noqa: BLE001 - every parse error is reported
            failed += 1
            print(f"{path}: {e}", file=sys.stderr)
print(f"hcl2: {count - failed}/{count} files parse")
sys.exit(1 if failed else 0)
