#!/bin/sh
# gofmt, go vet and staticcheck (installed from the module proxy).
set -eu
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$(go env GOPATH)/bin:$PATH"
bad=$(gofmt -l cmd internal test bench 2>/dev/null || true)
if [ -n "$bad" ]; then
  echo "gofmt needed:"; echo "$bad"; exit 1
fi
go vet ./...
if ! command -v staticcheck >/dev/null 2>&1; then
  go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
staticcheck ./...
