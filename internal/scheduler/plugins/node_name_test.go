package plugins

import (
	"testing"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

func TestNodeNameFilter(t *testing.T) {
	mismatch := fail(framework.UnschedulableAndUnresolvable, "node(s) didn't match the requested node name")
	cases := []struct {
		name     string
		nodeName string
		want     map[string]filterResult
	}{
		{"no node named", "", map[string]filterResult{"a": pass, "b": pass}},
		{"node a named", "a", map[string]filterResult{"a": pass, "b": mismatch}},
		{"unknown node named", "z", map[string]filterResult{"a": mismatch, "b": mismatch}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pod := makePod("p")
			pod.Spec.NodeName = c.nodeName
			got := runFilter(t, &nodeName{}, pod, cluster(nodes(makeNode("a"), makeNode("b"))))
			checkFilter(t, got, c.want)
		})
	}
}
