package apps

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

// validDaemonSet is a created DaemonSet (defaulted and prepared).
func validDaemonSet() *appsv1.DaemonSet {
	d := &appsv1.DaemonSet{
		ObjectMeta: tenMinutesOld(),
		Spec:       appsv1.DaemonSetSpec{Selector: webSelector(), Template: podTemplate()},
	}
	daemonSetStrategy.Default(d)
	daemonSetStrategy.PrepareForCreate(d)
	return d
}

func TestDaemonSetDefaults(t *testing.T) {
	d := &appsv1.DaemonSet{}
	daemonSetStrategy.Default(d)
	us := d.Spec.UpdateStrategy
	if us.Type != appsv1.RollingUpdateDaemonSetStrategyType || us.RollingUpdate == nil ||
		*us.RollingUpdate.MaxUnavailable != intstr.FromInt32(1) || *us.RollingUpdate.MaxSurge != intstr.FromInt32(0) {
		t.Errorf("update strategy %+v", us)
	}
	if *d.Spec.RevisionHistoryLimit != 10 {
		t.Errorf("revisionHistoryLimit %d", *d.Spec.RevisionHistoryLimit)
	}
	again := d.DeepCopy()
	daemonSetStrategy.Default(again)
	if !reflect.DeepEqual(again, d) {
		t.Error("defaulting is not idempotent")
	}
	o := &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}}}
	daemonSetStrategy.Default(o)
	if o.Spec.UpdateStrategy.RollingUpdate != nil {
		t.Error("OnDelete got rolling parameters")
	}
}

func TestDaemonSetValidate(t *testing.T) {
	valid := map[string]func(*appsv1.DaemonSet){
		"defaults": func(*appsv1.DaemonSet) {},
		"surge": func(d *appsv1.DaemonSet) {
			d.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ios("0"), MaxSurge: ios("10%")}
		},
		"on delete": func(d *appsv1.DaemonSet) {
			d.Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
		},
	}
	for name, mutate := range valid {
		t.Run(name, func(t *testing.T) {
			d := validDaemonSet()
			mutate(d)
			registrytest.ExpectValid(t, daemonSetStrategy.Validate(d))
		})
	}
	ru := "spec.updateStrategy.rollingUpdate"
	cases := []invalidCase[*appsv1.DaemonSet]{
		{"no selector", func(d *appsv1.DaemonSet) { d.Spec.Selector = nil },
			registrytest.Invalid("spec.template.metadata.labels", templateMismatch)},
		{"empty selector", func(d *appsv1.DaemonSet) { d.Spec.Selector = &metav1.LabelSelector{} },
			registrytest.Invalid("spec.selector", "empty selector is invalid for daemonset")},
		{"labels mismatch", func(d *appsv1.DaemonSet) { d.Spec.Template.Labels = map[string]string{"app": "x"} },
			registrytest.Invalid("spec.template.metadata.labels", templateMismatch)},
		{"restart never", func(d *appsv1.DaemonSet) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever },
			registrytest.NotSupported("spec.template.spec.restartPolicy", "")},
		{"active deadline", func(d *appsv1.DaemonSet) { d.Spec.Template.Spec.ActiveDeadlineSeconds = new(int64) },
			registrytest.Forbidden("spec.template.spec.activeDeadlineSeconds", "in DaemonSet is not Supported")},
		{"strategy type", func(d *appsv1.DaemonSet) { d.Spec.UpdateStrategy.Type = "Surge" },
			registrytest.NotSupported("spec.updateStrategy", "")},
		{"rolling without parameters", func(d *appsv1.DaemonSet) { d.Spec.UpdateStrategy.RollingUpdate = nil },
			registrytest.Required(ru, "")},
		{"both set", func(d *appsv1.DaemonSet) { d.Spec.UpdateStrategy.RollingUpdate.MaxSurge = ios("1") },
			registrytest.Invalid(ru+".maxSurge", "may not be set when maxUnavailable is non-zero")},
		{"both zero", func(d *appsv1.DaemonSet) { d.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ios("0%") },
			registrytest.Required(ru+".maxUnavailable", "cannot be 0 when maxSurge is 0")},
		{"surge over 100%", func(d *appsv1.DaemonSet) {
			d.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ios("0"), MaxSurge: ios("200%")}
		}, registrytest.Invalid(ru+".maxSurge", "must not be greater than 100%")},
		{"negative minReadySeconds", func(d *appsv1.DaemonSet) { d.Spec.MinReadySeconds = -5 },
			registrytest.Invalid("spec.minReadySeconds", "")},
		{"negative history", func(d *appsv1.DaemonSet) { d.Spec.RevisionHistoryLimit = newInt32(-1) },
			registrytest.Invalid("spec.revisionHistoryLimit", "")},
		{"negative template generation", func(d *appsv1.DaemonSet) {
			d.Annotations[appsv1.DeprecatedTemplateGeneration] = "-2"
		}, registrytest.Invalid("spec.templateGeneration", "")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := validDaemonSet()
			c.mutate(d)
			registrytest.ExpectContains(t, daemonSetStrategy.Validate(d), c.want)
		})
	}
}

func TestDaemonSetTemplateGeneration(t *testing.T) {
	old := validDaemonSet()
	if got := old.Annotations[appsv1.DeprecatedTemplateGeneration]; got != "1" {
		t.Fatalf("created with template generation %q", got)
	}
	// A template change bumps the generation and passes validation.
	d := old.DeepCopy()
	d.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	daemonSetStrategy.PrepareForUpdate(d, old)
	if got := d.Annotations[appsv1.DeprecatedTemplateGeneration]; got != "2" {
		t.Errorf("template generation %q after template change", got)
	}
	registrytest.ExpectValid(t, daemonSetStrategy.ValidateUpdate(d, old))

	// A client dropping the annotation keeps the stored value.
	d = old.DeepCopy()
	d.Annotations = nil
	d.Spec.MinReadySeconds = 3
	daemonSetStrategy.PrepareForUpdate(d, old)
	if got := d.Annotations[appsv1.DeprecatedTemplateGeneration]; got != "1" {
		t.Errorf("template generation %q after spec change", got)
	}
	registrytest.ExpectValid(t, daemonSetStrategy.ValidateUpdate(d, old))

	d = old.DeepCopy()
	d.Annotations[appsv1.DeprecatedTemplateGeneration] = "5"
	registrytest.ExpectContains(t, daemonSetStrategy.ValidateUpdate(d, old),
		registrytest.Invalid("spec.templateGeneration", "must not be incremented without template update"))
	d.Annotations[appsv1.DeprecatedTemplateGeneration] = "0"
	registrytest.ExpectContains(t, daemonSetStrategy.ValidateUpdate(d, old),
		registrytest.Invalid("spec.templateGeneration", "must not be decremented"))

	d = old.DeepCopy()
	d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "other"}}
	registrytest.ExpectContains(t, daemonSetStrategy.ValidateUpdate(d, old),
		registrytest.Invalid("spec.selector", "field is immutable"))
}

func TestDaemonSetStatus(t *testing.T) {
	old := validDaemonSet()
	d := old.DeepCopy()
	d.Status = appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 2}
	registrytest.ExpectValid(t, daemonSetStrategy.ValidateStatus(d, old))
	d.Status.NumberMisscheduled = -1
	registrytest.ExpectContains(t, daemonSetStrategy.ValidateStatus(d, old),
		registrytest.Invalid("status.numberMisscheduled", ""))
}

func TestDaemonSetTable(t *testing.T) {
	registrytest.ExpectColumns(t, daemonSetTable, []string{"Name", "Desired", "Current", "Ready", "Up-to-date", "Available",
		"Node Selector", "Age", "Containers", "Images", "Selector"}, 3)
	d := validDaemonSet()
	d.Status = appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, CurrentNumberScheduled: 3, NumberReady: 2,
		UpdatedNumberScheduled: 1, NumberAvailable: 2}
	registrytest.ExpectRow(t, daemonSetTable, daemonSetTable.Row(d), []interface{}{"web", int64(3), int64(3), int64(2), int64(1),
		int64(2), "<none>", "10m", "nginx,sidecar", "nginx:1.27,busybox", "app=web"})
	d.Spec.Template.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
	if got := daemonSetTable.Row(d)[6]; got != "kubernetes.io/os=linux" {
		t.Errorf("node selector %q", got)
	}
}
