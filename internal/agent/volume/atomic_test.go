package volume

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckPayloadPath(t *testing.T) {
	tests := []struct {
		path    string
		wantErr string
	}{
		{path: "a"},
		{path: "a/b/c"},
		{path: "a..b"},
		{path: ".hidden"},
		{path: "..", wantErr: "must not contain '..'"},
		{path: "a/../b", wantErr: "must not contain '..'"},
		{path: "..data", wantErr: "must not start with '..'"},
		{path: "..x/y", wantErr: "must not start with '..'"},
		{path: "/abs", wantErr: "must be relative"},
		{path: "", wantErr: "must not be empty"},
		{path: ".", wantErr: "must name a file"},
		{path: strings.Repeat("x", 256), wantErr: "255"},
		{path: strings.Repeat("x/", 2049), wantErr: "4096"},
	}
	for _, tc := range tests {
		err := checkPayloadPath(tc.path)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("checkPayloadPath(%.20q) = %v, want %q", tc.path, err, tc.wantErr)
		}
	}
}

func TestWriteAtomicNestedAndShrink(t *testing.T) {
	dir := t.TempDir()
	p1 := map[string]file{
		"a/b/c.txt": {data: []byte("c"), mode: 0o644},
		"a/d.txt":   {data: []byte("d"), mode: 0o600},
		"top":       {data: []byte("t"), mode: 0o444},
	}
	changed, err := writeAtomic(dir, p1, -1)
	if err != nil || !changed {
		t.Fatalf("first write = %v, %v", changed, err)
	}
	if got := readFile(t, filepath.Join(dir, "a/b/c.txt")); got != "c" {
		t.Errorf("a/b/c.txt = %q", got)
	}
	if target, _ := os.Readlink(filepath.Join(dir, "a")); target != "..data/a" {
		t.Errorf("a -> %q", target)
	}
	ts := dataTarget(t, dir)
	if mode := modeOf(t, filepath.Join(dir, ts)); mode != 0o755 {
		t.Errorf("timestamped dir mode %v, want 0755", mode)
	}
	if mode := modeOf(t, filepath.Join(dir, ts, "a", "b")); mode != 0o755 {
		t.Errorf("sub dir mode %v, want 0755", mode)
	}

	// Same payload: no write.
	if changed, err := writeAtomic(dir, p1, -1); err != nil || changed {
		t.Fatalf("same write = %v, %v", changed, err)
	}
	// Dropping a nested file is a change even though the rest is equal.
	delete(p1, "a/b/c.txt")
	if changed, err := writeAtomic(dir, p1, -1); err != nil || !changed {
		t.Fatalf("shrink = %v, %v", changed, err)
	}
	assertNotExist(t, filepath.Join(dir, "a/b"))
	// Dropping a whole top-level name removes its link; other links stay.
	delete(p1, "a/d.txt")
	if changed, err := writeAtomic(dir, p1, -1); err != nil || !changed {
		t.Fatalf("drop = %v, %v", changed, err)
	}
	assertNotExist(t, filepath.Join(dir, "a"))
	if got := readFile(t, filepath.Join(dir, "top")); got != "t" {
		t.Errorf("top = %q", got)
	}
}

func TestWriteAtomicLeavesForeignEntries(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "subpath-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(dir, "foreign-link")); err != nil {
		t.Fatal(err)
	}
	if _, err := writeAtomic(dir, map[string]file{"k": {data: []byte("v"), mode: 0o644}}, -1); err != nil {
		t.Fatal(err)
	}
	if _, err := writeAtomic(dir, map[string]file{"k2": {data: []byte("v"), mode: 0o644}}, -1); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"subpath-dir", "foreign-link"} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s was removed: %v", name, err)
		}
	}
	// A payload name colliding with something the writer did not create fails.
	if _, err := writeAtomic(dir, map[string]file{"subpath-dir": {data: []byte("v"), mode: 0o644}}, -1); err == nil {
		t.Error("want an error for a name taken by a foreign entry")
	}
}
