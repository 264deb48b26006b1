package deployment

import (
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func withAnnotations(d *appsv1.Deployment, kv map[string]string) *appsv1.Deployment {
	d.Annotations = kv
	return d
}

func TestSetNewReplicaSetAnnotations(t *testing.T) {
	d := withAnnotations(rolling(4, intstr.FromInt32(1), intstr.FromInt32(1)), map[string]string{
		"kubernetes.io/change-cause":       "kubectl set image v2",
		corev1.LastAppliedConfigAnnotation: "{}",
		RevisionAnnotation:                 "7",
		appsv1.DeprecatedRollbackTo:        "1",
	})
	tests := []struct {
		name        string
		rs          map[string]string
		newRevision string
		exists      bool
		want        map[string]string
		changed     bool
	}{
		{"created", nil, "3", false, map[string]string{
			RevisionAnnotation: "3", DesiredReplicasAnnotation: "4", MaxReplicasAnnotation: "5",
			"kubernetes.io/change-cause": "kubectl set image v2",
		}, true},
		{"rolled back to", map[string]string{RevisionAnnotation: "1"}, "4", true, map[string]string{
			RevisionAnnotation: "4", RevisionHistoryAnnotation: "1", "kubernetes.io/change-cause": "kubectl set image v2",
		}, true},
		{"rolled back again", map[string]string{RevisionAnnotation: "4", RevisionHistoryAnnotation: "1",
			"kubernetes.io/change-cause": "kubectl set image v2"}, "6", true, map[string]string{
			RevisionAnnotation: "6", RevisionHistoryAnnotation: "1,4", "kubernetes.io/change-cause": "kubectl set image v2",
		}, true},
		{"never lowered", map[string]string{RevisionAnnotation: "9", "kubernetes.io/change-cause": "kubectl set image v2"}, "3", true,
			map[string]string{RevisionAnnotation: "9", "kubernetes.io/change-cause": "kubectl set image v2"}, false},
		{"unchanged", map[string]string{RevisionAnnotation: "3", "kubernetes.io/change-cause": "kubectl set image v2"}, "3", true,
			map[string]string{RevisionAnnotation: "3", "kubernetes.io/change-cause": "kubectl set image v2"}, false},
		{"bad revision left alone", map[string]string{RevisionAnnotation: "x"}, "3", true,
			map[string]string{RevisionAnnotation: "x", "kubernetes.io/change-cause": "kubectl set image v2"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Annotations: tt.rs}}
			changed := setNewReplicaSetAnnotations(d, rs, tt.newRevision, tt.exists)
			if changed != tt.changed {
				t.Errorf("changed = %v, want %v", changed, tt.changed)
			}
			if len(rs.Annotations) != len(tt.want) {
				t.Errorf("annotations %v, want %v", rs.Annotations, tt.want)
			}
			for k, v := range tt.want {
				if rs.Annotations[k] != v {
					t.Errorf("%s = %q, want %q", k, rs.Annotations[k], v)
				}
			}
		})
	}
}

func TestRevisionHistoryBounded(t *testing.T) {
	var entries []string
	for i := 1; i <= 600; i++ {
		entries = append(entries, strconv.Itoa(i))
	}
	history := strings.Join(entries, ",")
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{
		RevisionAnnotation: "601", RevisionHistoryAnnotation: history}}}
	setNewReplicaSetAnnotations(&appsv1.Deployment{}, rs, "700", true)
	got := rs.Annotations[RevisionHistoryAnnotation]
	if len(got) > maxRevisionHistoryChars {
		t.Errorf("history of %d characters, limit %d", len(got), maxRevisionHistoryChars)
	}
	if !strings.HasSuffix(got, ",600,601") || strings.HasPrefix(got, "1,") {
		t.Errorf("history should drop the oldest and end with 601: ...%s", got[len(got)-20:])
	}
}

func TestMaxRevision(t *testing.T) {
	rss := []*appsv1.ReplicaSet{
		sized("a", 0, 1, RevisionAnnotation, "3"),
		sized("b", 0, 2, RevisionAnnotation, "oops"),
		sized("c", 0, 3, RevisionAnnotation, "12"),
		sized("d", 0, 4),
	}
	if got := maxRevision(rss); got != 12 {
		t.Errorf("maxRevision = %d, want 12", got)
	}
	if got := maxRevision(nil); got != 0 {
		t.Errorf("maxRevision of none = %d", got)
	}
}
