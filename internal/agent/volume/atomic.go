package volume

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Names the atomic writer reserves in a volume directory. Payload paths may
// not start with "..".
const (
	dataDirName    = "..data"
	newDataDirName = "..data_tmp"
	maxNameLength  = 255
	maxPathLength  = 4096
)

// writeAtomic projects payload (relative path -> file) into dir so that a
// reader sees either the old or the new content, never a mix:
//
//  1. if the directory ..data points to already holds exactly payload
//     (names, bytes, modes, group), nothing is written;
//  2. otherwise the files are written to a new timestamped directory,
//  3. a symlink for each new top-level name is created (name -> ..data/name),
//  4. ..data is swapped to the new directory with a rename (atomic),
//  5. top-level links no longer in payload and old timestamped directories
//     are removed.
//
// gid >= 0 gives files and directories that group (fsGroup). It reports
// whether it wrote.
func writeAtomic(dir string, payload map[string]file, gid int) (bool, error) {
	clean, err := cleanPayload(payload)
	if err != nil {
		return false, err
	}
	oldTs, err := os.Readlink(filepath.Join(dir, dataDirName))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("reading %s: %w", dataDirName, err)
	}
	if oldTs != "" {
		same, err := sameContent(filepath.Join(dir, oldTs), clean, gid)
		if err != nil {
			return false, err
		}
		if same {
			if err := ensureVisible(dir, clean, gid); err != nil {
				return false, err
			}
			return false, pruneStale(dir, oldTs, clean)
		}
	}
	tsDir, err := newTimestampDir(dir, gid)
	if err != nil {
		return false, err
	}
	tsName := filepath.Base(tsDir)
	if err := writeFiles(tsDir, clean, gid); err != nil {
		os.RemoveAll(tsDir)
		return false, err
	}
	if err := ensureVisible(dir, clean, gid); err != nil {
		os.RemoveAll(tsDir)
		return false, err
	}
	if err := swapData(dir, tsName, gid); err != nil {
		os.RemoveAll(tsDir)
		return false, err
	}
	return true, pruneStale(dir, tsName, clean)
}

// cleanPayload validates payload paths (relative, no "..", not starting
// with "..", length limits) and returns the payload keyed by clean path.
func cleanPayload(payload map[string]file) (map[string]file, error) {
	out := make(map[string]file, len(payload))
	for p, f := range payload {
		if err := checkPayloadPath(p); err != nil {
			return nil, err
		}
		out[filepath.Clean(p)] = f
	}
	return out, nil
}

func checkPayloadPath(p string) error {
	switch {
	case p == "":
		return errors.New("invalid path: must not be empty")
	case filepath.IsAbs(p):
		return fmt.Errorf("invalid path: must be relative path: %s", p)
	case len(p) > maxPathLength:
		return fmt.Errorf("invalid path: must be less than or equal to %d characters", maxPathLength)
	case filepath.Clean(p) == ".":
		return fmt.Errorf("invalid path: must name a file: %s", p)
	}
	elems := strings.Split(p, "/")
	for _, e := range elems {
		if e == ".." {
			return fmt.Errorf("invalid path: must not contain '..': %s", p)
		}
		if len(e) > maxNameLength {
			return fmt.Errorf("invalid path: filenames must be less than or equal to %d characters", maxNameLength)
		}
	}
	if strings.HasPrefix(elems[0], "..") {
		return fmt.Errorf("invalid path: must not start with '..': %s", p)
	}
	return nil
}

// topLevel returns the first element of a clean relative path.
func topLevel(p string) string {
	first, _, _ := strings.Cut(p, "/")
	return first
}

// sameContent reports whether tsDir holds exactly the files of payload.
func sameContent(tsDir string, payload map[string]file, gid int) (bool, error) {
	count := 0
	other := false
	err := filepath.WalkDir(tsDir, func(_ string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.Type().IsRegular():
			count++
		case !d.IsDir():
			other = true
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading current volume content: %w", err)
	}
	if other || count != len(payload) {
		return false, nil
	}
	for p, f := range payload {
		same, err := sameFile(filepath.Join(tsDir, p), f, gid)
		if err != nil || !same {
			return false, err
		}
	}
	return true, nil
}

func sameFile(path string, f file, gid int) (bool, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading current volume content: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Mode()&(os.ModePerm|os.ModeSetuid|os.ModeSetgid|os.ModeSticky) != f.mode {
		return false, nil
	}
	if gid >= 0 && int(fi.Sys().(*syscall.Stat_t).Gid) != gid {
		return false, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("reading current volume content: %w", err)
	}
	return bytes.Equal(data, f.data), nil
}

// dirMode is the mode of directories the writer creates.
func dirMode(gid int) os.FileMode {
	if gid >= 0 {
		return 0o755 | os.ModeSetgid
	}
	return 0o755
}

func newTimestampDir(dir string, gid int) (string, error) {
	ts, err := os.MkdirTemp(dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return "", fmt.Errorf("creating data dir: %w", err)
	}
	if err := setOwnerMode(ts, dirMode(gid), gid); err != nil {
		os.RemoveAll(ts)
		return "", err
	}
	return ts, nil
}

// setOwnerMode sets path's mode exactly (whatever the umask) and, when
// gid >= 0, its group.
func setOwnerMode(path string, mode os.FileMode, gid int) error {
	if gid >= 0 {
		if err := os.Lchown(path, -1, gid); err != nil {
			return fmt.Errorf("setting group of %s: %w", path, err)
		}
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("setting mode of %s: %w", path, err)
	}
	return nil
}

func writeFiles(tsDir string, payload map[string]file, gid int) error {
	paths := make([]string, 0, len(payload))
	for p := range payload {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if err := mkdirs(tsDir, filepath.Dir(p), gid); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(tsDir, p), payload[p], gid); err != nil {
			return err
		}
	}
	return nil
}

// mkdirs creates the relative directory rel (and its parents) under base.
func mkdirs(base, rel string, gid int) error {
	if rel == "." {
		return nil
	}
	cur := base
	for _, e := range strings.Split(rel, "/") {
		cur = filepath.Join(cur, e)
		err := os.Mkdir(cur, 0o700)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("creating %s: %w", rel, err)
		}
		if err := setOwnerMode(cur, dirMode(gid), gid); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path string, f file, gid int) error {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("writing volume file: %w", err)
	}
	_, err = fh.Write(f.data)
	if err == nil && gid >= 0 {
		err = fh.Chown(-1, gid)
	}
	if err == nil {
		err = fh.Chmod(f.mode)
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing volume file: %w", err)
	}
	return nil
}

// ensureVisible creates the link name -> ..data/name for each top-level
// name of payload.
func ensureVisible(dir string, payload map[string]file, gid int) error {
	done := map[string]bool{}
	for p := range payload {
		name := topLevel(p)
		if done[name] {
			continue
		}
		done[name] = true
		link := filepath.Join(dir, name)
		target := dataDirName + "/" + name
		cur, err := os.Readlink(link)
		switch {
		case err == nil && cur == target:
			continue
		case err == nil:
			if err := os.Remove(link); err != nil {
				return fmt.Errorf("replacing link %s: %w", name, err)
			}
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("volume path %s exists and is not a link into %s", name, dataDirName)
		}
		if err := os.Symlink(target, link); err != nil {
			return fmt.Errorf("creating link %s: %w", name, err)
		}
		if gid >= 0 {
			if err := os.Lchown(link, -1, gid); err != nil {
				return fmt.Errorf("setting group of link %s: %w", name, err)
			}
		}
	}
	return nil
}

// swapData points ..data at tsName with an atomic rename.
func swapData(dir, tsName string, gid int) error {
	tmp := filepath.Join(dir, newDataDirName)
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing stale %s: %w", newDataDirName, err)
	}
	if err := os.Symlink(tsName, tmp); err != nil {
		return fmt.Errorf("creating %s: %w", newDataDirName, err)
	}
	if gid >= 0 {
		if err := os.Lchown(tmp, -1, gid); err != nil {
			return fmt.Errorf("setting group of %s: %w", newDataDirName, err)
		}
	}
	if err := os.Rename(tmp, filepath.Join(dir, dataDirName)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("swapping %s: %w", dataDirName, err)
	}
	return nil
}

// pruneStale removes top-level links into ..data that payload no longer
// has, timestamped directories other than current, and a leftover
// ..data_tmp. Entries the writer did not create are left alone.
func pruneStale(dir, current string, payload map[string]file) error {
	keep := map[string]bool{}
	for p := range payload {
		keep[topLevel(p)] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("pruning volume: %w", err)
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(dir, name)
		switch {
		case name == dataDirName || name == current:
		case name == newDataDirName:
			errs = append(errs, os.Remove(path))
		case strings.HasPrefix(name, "..") && e.IsDir():
			errs = append(errs, os.RemoveAll(path))
		case !keep[name] && e.Type()&fs.ModeSymlink != 0:
			if target, err := os.Readlink(path); err == nil && strings.HasPrefix(target, dataDirName+"/") {
				errs = append(errs, os.Remove(path))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pruning volume: %w", err)
	}
	return nil
}
