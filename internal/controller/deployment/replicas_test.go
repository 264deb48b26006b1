package deployment

import (
	"strconv"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestResolveFenceposts(t *testing.T) {
	pct := func(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
	num := func(n int32) *intstr.IntOrString { v := intstr.FromInt32(n); return &v }
	tests := []struct {
		name                   string
		surge, unavailable     *intstr.IntOrString
		desired                int32
		wantSurge, wantUnavail int32
		wantErr                bool
	}{
		{"defaults of 10: surge rounds up, unavailable down", pct("25%"), pct("25%"), 10, 3, 2, false},
		{"defaults of 4", pct("25%"), pct("25%"), 4, 1, 1, false},
		{"defaults of 1", pct("25%"), pct("25%"), 1, 1, 0, false},
		{"defaults of 0", pct("25%"), pct("25%"), 0, 0, 1, false},
		{"integers", num(2), num(3), 5, 2, 3, false},
		{"both zero resolves unavailable to 1", num(0), num(0), 5, 0, 1, false},
		{"unset means zero", nil, nil, 5, 0, 1, false},
		{"1% unavailable of 10 rounds to zero", pct("0%"), pct("1%"), 10, 0, 1, false},
		{"1% surge of 2 rounds up to one", pct("1%"), num(0), 2, 1, 0, false},
		{"100% surge", pct("100%"), pct("0%"), 3, 3, 0, false},
		{"bad surge", pct("x"), num(1), 3, 0, 0, true},
		{"bad unavailable", num(1), pct("1.5%"), 3, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, u, err := resolveFenceposts(tt.surge, tt.unavailable, tt.desired)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && (s != tt.wantSurge || u != tt.wantUnavail) {
				t.Errorf("got surge %d unavailable %d, want %d %d", s, u, tt.wantSurge, tt.wantUnavail)
			}
		})
	}
}

// rolling returns a RollingUpdate Deployment of n replicas.
func rolling(n int32, surge, unavailable intstr.IntOrString) *appsv1.Deployment {
	return &appsv1.Deployment{Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To(n),
		Strategy: appsv1.DeploymentStrategy{
			Type:          appsv1.RollingUpdateDeploymentStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable},
		},
	}}
}

func TestMaxUnavailableAndSurge(t *testing.T) {
	recreate := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](4),
		Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}}
	tests := []struct {
		name                   string
		d                      *appsv1.Deployment
		wantUnavail, wantSurge int32
	}{
		{"25% of 4", rolling(4, intstr.FromString("25%"), intstr.FromString("25%")), 1, 1},
		{"25% of 10", rolling(10, intstr.FromString("25%"), intstr.FromString("25%")), 2, 3},
		{"capped at replicas", rolling(3, intstr.FromInt32(0), intstr.FromInt32(10)), 3, 0},
		{"zero replicas", rolling(0, intstr.FromInt32(1), intstr.FromInt32(1)), 0, 1},
		{"both round to zero", rolling(2, intstr.FromString("0%"), intstr.FromString("10%")), 1, 0},
		{"recreate", recreate, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := maxUnavailable(tt.d); got != tt.wantUnavail {
				t.Errorf("maxUnavailable = %d, want %d", got, tt.wantUnavail)
			}
			if got := maxSurge(tt.d); got != tt.wantSurge {
				t.Errorf("maxSurge = %d, want %d", got, tt.wantSurge)
			}
		})
	}
}

// sized returns a ReplicaSet of n replicas, created at second age, with
// annotations k=v pairs.
func sized(name string, n int32, age int64, kv ...string) *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.Unix(age, 0),
		Annotations: map[string]string{}}, Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(n)}}
	for i := 0; i+1 < len(kv); i += 2 {
		rs.Annotations[kv[i]] = kv[i+1]
	}
	return rs
}

func TestNewRSNewReplicas(t *testing.T) {
	recreate := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3),
		Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}}
	tests := []struct {
		name     string
		d        *appsv1.Deployment
		old, new int32
		want     int32
	}{
		{"surge room", rolling(10, intstr.FromInt32(2), intstr.FromInt32(0)), 10, 0, 2},
		{"no surge room", rolling(10, intstr.FromInt32(2), intstr.FromInt32(0)), 10, 2, 2},
		{"over the limit", rolling(10, intstr.FromInt32(2), intstr.FromInt32(0)), 11, 2, 2},
		{"not past replicas", rolling(10, intstr.FromInt32(5), intstr.FromInt32(0)), 1, 9, 10},
		{"first rollout", rolling(4, intstr.FromString("25%"), intstr.FromString("25%")), 0, 0, 4},
		{"percent surge rounds up", rolling(10, intstr.FromString("25%"), intstr.FromInt32(0)), 10, 0, 3},
		{"recreate takes replicas", recreate, 3, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oldRS, newRS := sized("old", tt.old, 1), sized("new", tt.new, 2)
			got, err := newRSNewReplicas(tt.d, []*appsv1.ReplicaSet{oldRS, newRS}, newRS)
			if err != nil || got != tt.want {
				t.Errorf("got %d, %v; want %d", got, err, tt.want)
			}
		})
	}
	bad := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Strategy: appsv1.DeploymentStrategy{Type: "Blue"}}}
	if _, err := newRSNewReplicas(bad, nil, sized("new", 0, 1)); err == nil {
		t.Error("an unknown strategy must fail")
	}
}

func TestProportionalSizes(t *testing.T) {
	ann := func(desired, max int32) []string {
		return []string{DesiredReplicasAnnotation, strconv.Itoa(int(desired)), MaxReplicasAnnotation, strconv.Itoa(int(max))}
	}
	tests := []struct {
		name string
		d    *appsv1.Deployment
		rss  []*appsv1.ReplicaSet
		want map[string]int32
	}{
		{"double", rolling(20, intstr.FromInt32(0), intstr.FromInt32(1)),
			[]*appsv1.ReplicaSet{sized("old", 4, 1, ann(10, 10)...), sized("new", 6, 2, ann(10, 10)...)},
			map[string]int32{"old": 8, "new": 12}},
		{"halve", rolling(5, intstr.FromInt32(0), intstr.FromInt32(1)),
			[]*appsv1.ReplicaSet{sized("old", 4, 1, ann(10, 10)...), sized("new", 6, 2, ann(10, 10)...)},
			map[string]int32{"old": 2, "new": 3}},
		{"mid-rollout with surge: 4+1 to 8+1", rolling(8, intstr.FromInt32(1), intstr.FromInt32(1)),
			[]*appsv1.ReplicaSet{sized("old", 3, 1, ann(4, 5)...), sized("new", 2, 2, ann(4, 5)...)},
			map[string]int32{"old": 5, "new": 4}},
		{"rounding gives the first its share", rolling(4, intstr.FromInt32(0), intstr.FromInt32(1)),
			[]*appsv1.ReplicaSet{sized("old", 2, 1, ann(3, 3)...), sized("new", 1, 2, ann(3, 3)...)},
			map[string]int32{"old": 3, "new": 1}},
		{"leftover goes to the first", rolling(4, intstr.FromInt32(0), intstr.FromInt32(1)),
			[]*appsv1.ReplicaSet{sized("a", 1, 1, ann(3, 3)...), sized("b", 1, 2, ann(3, 3)...), sized("c", 1, 3, ann(3, 3)...)},
			map[string]int32{"a": 1, "b": 1, "c": 2}},
		{"equal sizes grow the newer first", rolling(5, intstr.FromInt32(0), intstr.FromInt32(1)),
			[]*appsv1.ReplicaSet{sized("old", 2, 1, ann(4, 4)...), sized("new", 2, 2, ann(4, 4)...)},
			map[string]int32{"old": 2, "new": 3}},
		{"equal sizes shrink the older first", rolling(3, intstr.FromInt32(0), intstr.FromInt32(1)),
			[]*appsv1.ReplicaSet{sized("old", 2, 1, ann(4, 4)...), sized("new", 2, 2, ann(4, 4)...)},
			map[string]int32{"old": 1, "new": 2}},
		{"to zero", rolling(0, intstr.FromInt32(1), intstr.FromInt32(1)),
			[]*appsv1.ReplicaSet{sized("old", 2, 1, ann(4, 5)...), sized("new", 3, 2, ann(4, 5)...)},
			map[string]int32{"old": 0, "new": 0}},
		{"no annotation falls back to status.replicas", func() *appsv1.Deployment {
			d := rolling(10, intstr.FromInt32(0), intstr.FromInt32(1))
			d.Status.Replicas = 5
			return d
		}(), []*appsv1.ReplicaSet{sized("old", 2, 1), sized("new", 3, 2)},
			map[string]int32{"old": 4, "new": 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := proportionalSizes(tt.d, tt.rss)
			for name, want := range tt.want {
				if got[name] != want {
					t.Errorf("%s: got %d, want %d (all %v)", name, got[name], want, got)
				}
			}
		})
	}
}

func TestIsSaturated(t *testing.T) {
	d := rolling(3, intstr.FromInt32(1), intstr.FromInt32(0))
	rs := sized("new", 3, 1, DesiredReplicasAnnotation, "3")
	rs.Status.AvailableReplicas = 3
	if !isSaturated(d, rs) {
		t.Error("3/3 available with desired 3 is saturated")
	}
	rs.Annotations[DesiredReplicasAnnotation] = "2"
	if isSaturated(d, rs) {
		t.Error("a stale desired-replicas annotation is not saturated")
	}
	rs.Annotations[DesiredReplicasAnnotation] = "3"
	rs.Status.AvailableReplicas = 2
	if isSaturated(d, rs) || isSaturated(d, nil) {
		t.Error("unavailable pods or no ReplicaSet are not saturated")
	}
}

func TestFindActiveOrLatest(t *testing.T) {
	a, b, n := sized("a", 0, 1), sized("b", 0, 2), sized("n", 0, 3)
	if got := findActiveOrLatest(nil, []*appsv1.ReplicaSet{a, b}); got != b {
		t.Errorf("none active, no new: got %v, want the newest old", got)
	}
	if got := findActiveOrLatest(n, []*appsv1.ReplicaSet{a, b}); got != n {
		t.Errorf("none active: got %v, want the new one", got)
	}
	a.Spec.Replicas = ptr.To[int32](2)
	if got := findActiveOrLatest(n, []*appsv1.ReplicaSet{a, b}); got != a {
		t.Errorf("one active: got %v", got)
	}
	n.Spec.Replicas = ptr.To[int32](1)
	if got := findActiveOrLatest(n, []*appsv1.ReplicaSet{a, b}); got != nil {
		t.Errorf("two active: got %v, want nil", got)
	}
}
