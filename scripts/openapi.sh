#!/usr/bin/env bash
# The OpenAPI document, checked and used as a customer would use it:
#   1. `latchkey openapi` writes it to target/openapi.json;
#   2. Redocly CLI (a maintained validator) lints it as OpenAPI 3.1 with its
#      recommended-strict rules (redocly.yaml): any error or warning fails;
#   3. @hey-api/openapi-ts generates a TypeScript client from it into
#      end2end/generated/latchkey-api, which end2end/tests/openapi-client.spec.ts
#      runs a whole flow through against a real Latchkey;
#   4. the drop-in npm packages' wire types (sdk/*/src/wire.ts) are compiled
#      against the generated ones (end2end/wire/check.ts): one wire format from
#      app/src/wire to the browser and Node packages. Needs `make sdk` first
#      (its TypeScript).
# Usage: scripts/openapi.sh path/to/latchkey
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:?usage: scripts/openapi.sh path/to/latchkey}
# No telemetry, no update notices from Redocly.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true

mkdir -p target
"$bin" openapi >target/openapi.json
echo "==> Redocly lint of target/openapi.json"
# (Less its banner about Node 20's end of life.)
redocly lint --config redocly.yaml target/openapi.json 2>&1 | grep -v -e '[║╔╚]' -e '^$'
echo "==> TypeScript client from target/openapi.json (@hey-api/openapi-ts)"
rm -rf end2end/generated/latchkey-api
if ! log=$(openapi-ts --input ./target/openapi.json --output end2end/generated/latchkey-api 2>&1); then
  echo "$log" >&2
  exit 1
fi
echo "    $(find end2end/generated/latchkey-api -name '*.ts' | wc -l) files in end2end/generated/latchkey-api"
echo "==> The npm packages' wire types against the document's (end2end/wire/check.ts)"
sdk/flex-js/node_modules/.bin/tsc -p end2end/wire/tsconfig.json
