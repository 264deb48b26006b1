package apps

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func validReplicaSet() *appsv1.ReplicaSet {
	rs := &appsv1.ReplicaSet{
		ObjectMeta: tenMinutesOld(),
		Spec:       appsv1.ReplicaSetSpec{Selector: webSelector(), Template: podTemplate()},
	}
	replicaSetStrategy.Default(rs)
	return rs
}

func TestReplicaSetDefaults(t *testing.T) {
	rs := &appsv1.ReplicaSet{}
	replicaSetStrategy.Default(rs)
	if rs.Spec.Replicas == nil || *rs.Spec.Replicas != 1 {
		t.Errorf("replicas %v", rs.Spec.Replicas)
	}
	rs.Spec.Replicas = newInt32(0)
	replicaSetStrategy.Default(rs)
	if *rs.Spec.Replicas != 0 {
		t.Errorf("replicas 0 became %d", *rs.Spec.Replicas)
	}
}

func TestReplicaSetValidate(t *testing.T) {
	registrytest.ExpectValid(t, replicaSetStrategy.Validate(validReplicaSet()))
	cases := []invalidCase[*appsv1.ReplicaSet]{
		{"no selector", func(rs *appsv1.ReplicaSet) { rs.Spec.Selector = nil },
			registrytest.Required("spec.selector", "")},
		{"empty selector", func(rs *appsv1.ReplicaSet) { rs.Spec.Selector = &metav1.LabelSelector{} },
			registrytest.Invalid("spec.selector", "empty selector is invalid")},
		{"labels mismatch", func(rs *appsv1.ReplicaSet) { rs.Spec.Template.Labels = nil },
			registrytest.Invalid("spec.template.metadata.labels", templateMismatch)},
		{"negative replicas", func(rs *appsv1.ReplicaSet) { rs.Spec.Replicas = newInt32(-3) },
			registrytest.Invalid("spec.replicas", "")},
		{"negative minReadySeconds", func(rs *appsv1.ReplicaSet) { rs.Spec.MinReadySeconds = -1 },
			registrytest.Invalid("spec.minReadySeconds", "")},
		{"restart never", func(rs *appsv1.ReplicaSet) { rs.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever },
			registrytest.NotSupported("spec.template.spec.restartPolicy", "")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := validReplicaSet()
			c.mutate(rs)
			registrytest.ExpectContains(t, replicaSetStrategy.Validate(rs), c.want)
		})
	}
}

func TestReplicaSetUpdateAndStatus(t *testing.T) {
	old := validReplicaSet()
	rs := old.DeepCopy()
	rs.Spec.Replicas = newInt32(7)
	registrytest.ExpectValid(t, replicaSetStrategy.ValidateUpdate(rs, old))
	rs.Spec.Selector.MatchLabels["app"] = "api"
	registrytest.ExpectContains(t, replicaSetStrategy.ValidateUpdate(rs, old),
		registrytest.Invalid("spec.selector", "field is immutable"))

	rs = old.DeepCopy()
	rs.Status = appsv1.ReplicaSetStatus{Replicas: 2, FullyLabeledReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2}
	registrytest.ExpectValid(t, replicaSetStrategy.ValidateStatus(rs, old))
	rs.Status.AvailableReplicas = 3
	registrytest.ExpectContains(t, replicaSetStrategy.ValidateStatus(rs, old),
		registrytest.Invalid("status.availableReplicas", "cannot be greater than readyReplicas"))
	rs.Status.Replicas = -1
	registrytest.ExpectContains(t, replicaSetStrategy.ValidateStatus(rs, old),
		registrytest.Invalid("status.replicas", ""))
}

func TestReplicaSetTable(t *testing.T) {
	registrytest.ExpectColumns(t, replicaSetTable, []string{"Name", "Desired", "Current", "Ready", "Age",
		"Containers", "Images", "Selector"}, 3)
	rs := validReplicaSet()
	rs.Spec.Replicas = newInt32(4)
	rs.Status = appsv1.ReplicaSetStatus{Replicas: 3, ReadyReplicas: 2}
	registrytest.ExpectRow(t, replicaSetTable, replicaSetTable.Row(rs), []interface{}{
		"web", int64(4), int64(3), int64(2), "10m", "nginx,sidecar", "nginx:1.27,busybox", "app=web"})
	rs.Spec.Selector = nil
	if got := replicaSetTable.Row(rs)[7]; got != "<none>" {
		t.Errorf("nil selector printed %q", got)
	}
}
