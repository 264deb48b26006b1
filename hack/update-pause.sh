#!/bin/sh
# Rebuilds internal/runtime/pause/pause.bin, the static cmd/pause binary
# embedded in skiff's pause image (see the go:generate line in pause.go).
set -eu
cd "$(dirname "$0")/.."
go generate ./internal/runtime/pause
