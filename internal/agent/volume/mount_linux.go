package volume

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// mountInfoPath is the kernel's mount table for this process.
const mountInfoPath = "/proc/self/mountinfo"

type mountEntry struct {
	point  string
	fsType string
}

// readMounts parses the mount table (see proc(5), /proc/pid/mountinfo).
func readMounts() ([]mountEntry, error) {
	f, err := os.Open(mountInfoPath)
	if err != nil {
		return nil, fmt.Errorf("reading mount table: %w", err)
	}
	defer f.Close()
	var out []mountEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 {
			continue
		}
		sep := -1
		for i := 6; i < len(fields); i++ {
			if fields[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(fields) {
			continue
		}
		out = append(out, mountEntry{point: unescapeMount(fields[4]), fsType: fields[sep+1]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading mount table: %w", err)
	}
	return out, nil
}

// unescapeMount decodes the octal escapes (\040 for a space, ...) the
// kernel uses in mount table paths.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountPointType reports whether path is a mount point and, if so, the file
// system type of the mount on top. The mount table is read once per op.
func (o *op) mountPointType(path string) (bool, string, error) {
	if o.mounts == nil {
		mounts, err := readMounts()
		if err != nil {
			return false, "", err
		}
		o.mounts = mounts
	}
	for i := len(o.mounts) - 1; i >= 0; i-- {
		if o.mounts[i].point == path {
			return true, o.mounts[i].fsType, nil
		}
	}
	return false, "", nil
}

// mountsUnder returns the mount points at or below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	mounts, err := readMounts()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range mounts {
		if m.point == dir || strings.HasPrefix(m.point, dir+"/") {
			out = append(out, m.point)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out, nil
}

func mountTmpfs(dir string, size int64) error {
	opts := ""
	if size > 0 {
		opts = "size=" + strconv.FormatInt(size, 10)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, opts); err != nil {
		return fmt.Errorf("mounting tmpfs on %s: %w", dir, err)
	}
	return nil
}

// unmountAll unmounts everything at or below dir (stacked mounts too) and
// fails if anything is still mounted there afterwards.
func unmountAll(dir string) error {
	for range 8 {
		points, err := mountsUnder(dir)
		if err != nil {
			return err
		}
		if len(points) == 0 {
			return nil
		}
		for _, p := range points {
			err := syscall.Unmount(p, 0)
			if err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
				return fmt.Errorf("unmounting %s: %w", p, err)
			}
		}
	}
	points, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	if len(points) > 0 {
		return fmt.Errorf("still mounted: %s", strings.Join(points, ", "))
	}
	return nil
}

// bindMount bind-mounts src at target, then makes the bind read-only if
// asked (a second, remounting call: the kernel ignores MS_RDONLY on the
// first). The flags the source is mounted with (nosuid, nodev, noexec)
// are kept, as the kernel requires where they are locked.
func bindMount(src, target string, readOnly bool) error {
	if err := syscall.Mount(src, target, "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mounting %s on %s: %w", src, target, err)
	}
	if !readOnly {
		return nil
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(target, &st); err != nil {
		_ = syscall.Unmount(target, 0)
		return fmt.Errorf("read-only bind of %s: %w", src, err)
	}
	keep := uintptr(st.Flags) & (syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC)
	flags := syscall.MS_BIND | syscall.MS_REMOUNT | syscall.MS_RDONLY | keep
	if err := syscall.Mount("", target, "", flags, ""); err != nil {
		_ = syscall.Unmount(target, 0)
		return fmt.Errorf("read-only bind of %s: %w", src, err)
	}
	return nil
}
