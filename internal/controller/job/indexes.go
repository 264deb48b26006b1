package job

import (
	"slices"
	"strconv"
	"strings"
)

// formatIndexes writes a set of indexes as status.completedIndexes does:
// ascending, runs of consecutive indexes as "first-last", joined by
// commas ("0-2,4").
func formatIndexes(set map[int]bool) string {
	idx := make([]int, 0, len(set))
	for i, ok := range set {
		if ok {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	var b strings.Builder
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(idx[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(idx[j]))
		}
		i = j + 1
	}
	return b.String()
}

// parseIndexes reads a completedIndexes string, keeping the indexes below
// completions and skipping malformed parts.
func parseIndexes(s string, completions int) map[int]bool {
	set := map[int]bool{}
	if s == "" {
		return set
	}
	for _, part := range strings.Split(s, ",") {
		first, last, isRange := strings.Cut(part, "-")
		lo, err := strconv.Atoi(first)
		if err != nil {
			continue
		}
		hi := lo
		if isRange {
			if hi, err = strconv.Atoi(last); err != nil {
				continue
			}
		}
		for i := max(lo, 0); i <= hi && i < completions; i++ {
			set[i] = true
		}
	}
	return set
}
