#!/bin/sh
# The whole test suite, as CI runs it: lint, unit tests, end-to-end tests
# against the real skiff binary with the real kubectl.
set -eu
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
./hack/lint.sh
go test -count=1 -timeout 20m ./internal/... ./test/images/...
make build
SKIFF_BIN="$PWD/bin/skiff" go test -count=1 -timeout 30m ./test/e2e/...
