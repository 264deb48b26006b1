package csi

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/version"
)

// highestVersion picks the CSI version to speak with a plugin from the
// versions it lists: the highest 1.x. CSI 1.x releases stay backwards
// compatible, so any of them works; 0.x is no longer spoken and 2.x need
// not be compatible, so neither is accepted. Entries that do not parse
// are ignored.
func highestVersion(versions []string) (*version.Version, error) {
	if len(versions) == 0 {
		return nil, fmt.Errorf("%w: the plugin lists no supported versions", ErrRejected)
	}
	var best *version.Version
	for _, s := range versions {
		v, err := version.ParseGeneric(s)
		if err != nil || v.Major() != 1 {
			continue
		}
		if best == nil || best.LessThan(v) {
			best = v
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%w: none of the versions %s is a supported CSI version (1.x)", ErrRejected, strings.Join(versions, ", "))
	}
	return best, nil
}
