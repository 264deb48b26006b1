// Package benchutil holds what the benchmark commands under bench/ share:
// a private copy of the binary, the section runner and its markdown
// table, percentiles, and figures read from /proc.
package benchutil

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Snapshot copies the binary to a temporary directory and returns the
// copy, the first 12 hex digits of its sha256 and a clean-up func. It
// copies as cp does (io.Copy, copy_file_range): one big write(2) would
// leave the file in large page-cache folios, and the server's RssFile
// (the mapped binary) would then read about 25 MiB higher than for the
// binary go build wrote.
func Snapshot(bin string) (string, string, func(), error) {
	src, err := os.Open(bin)
	if err != nil {
		return "", "", nil, err
	}
	defer src.Close()
	dir, err := os.MkdirTemp("", "skiff-bench-bin-")
	if err != nil {
		return "", "", nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	cp := filepath.Join(dir, "skiff")
	dst, err := os.OpenFile(cp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err == nil {
		_, err = io.Copy(dst, src)
		if cerr := dst.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		cleanup()
		return "", "", nil, err
	}
	f, err := os.Open(cp)
	if err != nil {
		cleanup()
		return "", "", nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		cleanup()
		return "", "", nil, err
	}
	return cp, hex.EncodeToString(h.Sum(nil))[:12], cleanup, nil
}

// Setup resolves the sections named in only and copies the skiff binary
// (see Snapshot); it returns the copy, its short sha256 and a clean-up
// func.
func Setup[B any](sections []Section[B], only, skiff string) ([]Section[B], string, string, func(), error) {
	chosen, err := Choose(sections, only)
	if err != nil {
		return nil, "", "", nil, err
	}
	bin, err := filepath.Abs(skiff)
	if err != nil {
		return nil, "", "", nil, err
	}
	cp, sum, rm, err := Snapshot(bin)
	if err != nil {
		return nil, "", "", nil, fmt.Errorf("copy skiff binary: %w", err)
	}
	return chosen, cp, sum, rm, nil
}
