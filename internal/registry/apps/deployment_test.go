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

func validDeployment() *appsv1.Deployment {
	d := &appsv1.Deployment{
		ObjectMeta: tenMinutesOld(),
		Spec:       appsv1.DeploymentSpec{Selector: webSelector(), Template: podTemplate()},
	}
	deploymentStrategy.Default(d)
	return d
}

func ios(s string) *intstr.IntOrString { v := intstr.Parse(s); return &v }

func TestDeploymentDefaults(t *testing.T) {
	d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: podTemplate()}}
	deploymentStrategy.Default(d)
	s := d.Spec
	if *s.Replicas != 1 || *s.RevisionHistoryLimit != 10 || *s.ProgressDeadlineSeconds != 600 {
		t.Errorf("replicas %d, revisionHistoryLimit %d, progressDeadlineSeconds %d",
			*s.Replicas, *s.RevisionHistoryLimit, *s.ProgressDeadlineSeconds)
	}
	if s.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || s.Strategy.RollingUpdate == nil {
		t.Fatalf("strategy %+v", s.Strategy)
	}
	if *s.Strategy.RollingUpdate.MaxUnavailable != intstr.FromString("25%") ||
		*s.Strategy.RollingUpdate.MaxSurge != intstr.FromString("25%") {
		t.Errorf("rolling update %+v", s.Strategy.RollingUpdate)
	}
	again := d.DeepCopy()
	deploymentStrategy.Default(again)
	if !reflect.DeepEqual(again, d) {
		t.Error("defaulting is not idempotent")
	}

	// Set values stay; Recreate gets no rolling parameters.
	r := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: newInt32(0),
		Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}}
	deploymentStrategy.Default(r)
	if *r.Spec.Replicas != 0 || r.Spec.Strategy.RollingUpdate != nil {
		t.Errorf("recreate defaults: %+v", r.Spec)
	}
	p := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Strategy: appsv1.DeploymentStrategy{
		RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: ios("3")}}}}
	deploymentStrategy.Default(p)
	if *p.Spec.Strategy.RollingUpdate.MaxSurge != intstr.FromInt32(3) ||
		*p.Spec.Strategy.RollingUpdate.MaxUnavailable != intstr.FromString("25%") {
		t.Errorf("partial rolling update %+v", p.Spec.Strategy.RollingUpdate)
	}
}

func TestDeploymentValidate(t *testing.T) {
	valid := map[string]func(*appsv1.Deployment){
		"defaults": func(*appsv1.Deployment) {},
		"recreate": func(d *appsv1.Deployment) {
			d.Spec.Strategy = appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
		},
		"no surge": func(d *appsv1.Deployment) { d.Spec.Strategy.RollingUpdate.MaxSurge = ios("0") },
		"no unavailable": func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = ios("0%")
		},
		"zero replicas": func(d *appsv1.Deployment) { d.Spec.Replicas = newInt32(0) },
		"expressions": func(d *appsv1.Deployment) {
			d.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web", "api"}}}}
		},
		"rollback annotation": func(d *appsv1.Deployment) {
			d.Annotations = map[string]string{appsv1.DeprecatedRollbackTo: "3"}
		},
	}
	for name, mutate := range valid {
		t.Run(name, func(t *testing.T) {
			d := validDeployment()
			mutate(d)
			registrytest.ExpectValid(t, deploymentStrategy.Validate(d))
		})
	}

	cases := deploymentInvalidCases()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := validDeployment()
			c.mutate(d)
			registrytest.ExpectContains(t, deploymentStrategy.Validate(d), c.want)
		})
	}
}

// The messages kubectl prints must read as Kubernetes' do.
func TestDeploymentMessages(t *testing.T) {
	d := validDeployment()
	d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	d.Spec.Template.Labels = map[string]string{"app": "x"}
	got := map[string]bool{}
	for _, e := range deploymentStrategy.Validate(d) {
		got[e.Error()] = true
	}
	for _, want := range []string{
		`spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"`,
		"spec.template.metadata.labels: Invalid value: {\"app\":\"x\"}: `selector` does not match template `labels`",
	} {
		if !got[want] {
			t.Errorf("missing %q in %v", want, got)
		}
	}
}

func TestDeploymentUpdate(t *testing.T) {
	old := validDeployment()
	d := old.DeepCopy()
	d.Spec.Replicas = newInt32(5)
	d.Spec.Template.Spec.Containers[0].Image = "nginx:1.28"
	registrytest.ExpectValid(t, deploymentStrategy.ValidateUpdate(d, old))

	d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "tier": "x"}}
	registrytest.ExpectContains(t, deploymentStrategy.ValidateUpdate(d, old),
		registrytest.Invalid("spec.selector", "field is immutable"))

	// An annotation change bumps the generation; a spec change is left to
	// the framework.
	old.Generation = 4
	a := old.DeepCopy()
	a.Annotations = map[string]string{"note": "x"}
	deploymentStrategy.PrepareForUpdate(a, old)
	if a.Generation != 5 {
		t.Errorf("generation %d after annotation change", a.Generation)
	}
	s := old.DeepCopy()
	s.Spec.Paused = true
	deploymentStrategy.PrepareForUpdate(s, old)
	if s.Generation != 4 {
		t.Errorf("generation %d after spec change", s.Generation)
	}
}

func TestDeploymentStatus(t *testing.T) {
	old := validDeployment()
	old.Status = appsv1.DeploymentStatus{Replicas: 3, ReadyReplicas: 3, AvailableReplicas: 2, CollisionCount: newInt32(2)}
	d := old.DeepCopy()
	registrytest.ExpectValid(t, deploymentStrategy.ValidateStatus(d, old))
	d.Status.ReadyReplicas = 4
	d.Status.CollisionCount = newInt32(1)
	errs := deploymentStrategy.ValidateStatus(d, old)
	registrytest.ExpectContains(t, errs, registrytest.Invalid("status.readyReplicas", "cannot be greater than status.replicas"))
	registrytest.ExpectContains(t, errs, registrytest.Invalid("status.collisionCount", "cannot be decremented"))
}

func TestDeploymentTable(t *testing.T) {
	registrytest.ExpectColumns(t, deploymentTable, []string{"Name", "Ready", "Up-to-date", "Available", "Age",
		"Containers", "Images", "Selector"}, 3)
	d := validDeployment()
	d.Spec.Replicas = newInt32(3)
	d.Status = appsv1.DeploymentStatus{ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 1}
	registrytest.ExpectRow(t, deploymentTable, deploymentTable.Row(d), []interface{}{
		"web", "2/3", int64(3), int64(1), "10m", "nginx,sidecar", "nginx:1.27,busybox", "app=web"})
}

// deploymentInvalidCases lists invalid objects and the error each must get.
func deploymentInvalidCases() []invalidCase[*appsv1.Deployment] {
	ru := "spec.strategy.rollingUpdate"
	return []invalidCase[*appsv1.Deployment]{
		{"no selector", func(d *appsv1.Deployment) { d.Spec.Selector = nil },
			registrytest.Required("spec.selector", "")},
		{"empty selector", func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} },
			registrytest.Invalid("spec.selector", "empty selector is invalid for deployment")},
		{"bad selector", func(d *appsv1.Deployment) {
			d.Spec.Selector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}
		}, registrytest.Invalid("spec.selector.matchExpressions[0].operator", "")},
		{"labels mismatch", func(d *appsv1.Deployment) { d.Spec.Template.Labels = map[string]string{"app": "x"} },
			registrytest.Invalid("spec.template.metadata.labels", templateMismatch)},
		{"negative replicas", func(d *appsv1.Deployment) { d.Spec.Replicas = newInt32(-1) },
			registrytest.Invalid("spec.replicas", "must be greater than or equal to 0")},
		{"restart on failure", func(d *appsv1.Deployment) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure },
			registrytest.NotSupported("spec.template.spec.restartPolicy", "")},
		{"active deadline", func(d *appsv1.Deployment) { d.Spec.Template.Spec.ActiveDeadlineSeconds = new(int64) },
			registrytest.Forbidden("spec.template.spec.activeDeadlineSeconds", "in ReplicaSet is not Supported")},
		{"strategy type", func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "BlueGreen" },
			registrytest.NotSupported("spec.strategy", "")},
		{"recreate with rolling", func(d *appsv1.Deployment) { d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType },
			registrytest.Forbidden(ru, "may not be specified when strategy `type` is 'Recreate'")},
		{"rolling without parameters", func(d *appsv1.Deployment) { d.Spec.Strategy.RollingUpdate = nil },
			registrytest.Required(ru, "")},
		{"both zero", func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxSurge: ios("0"), MaxUnavailable: ios("0%")}
		}, registrytest.Invalid(ru+".maxUnavailable", "may not be 0 when `maxSurge` is 0")},
		{"unavailable over 100%", func(d *appsv1.Deployment) { d.Spec.Strategy.RollingUpdate.MaxUnavailable = ios("110%") },
			registrytest.Invalid(ru+".maxUnavailable", "must not be greater than 100%")},
		{"surge not a percent", func(d *appsv1.Deployment) { d.Spec.Strategy.RollingUpdate.MaxSurge = ios("lots") },
			registrytest.Invalid(ru+".maxSurge", "a valid percent string")},
		{"negative surge", func(d *appsv1.Deployment) { d.Spec.Strategy.RollingUpdate.MaxSurge = ios("-1") },
			registrytest.Invalid(ru+".maxSurge", "must be greater than or equal to 0")},
		{"negative minReadySeconds", func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = -1 },
			registrytest.Invalid("spec.minReadySeconds", "")},
		{"deadline not after minReady", func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = 600 },
			registrytest.Invalid("spec.progressDeadlineSeconds", "must be greater than minReadySeconds")},
		{"negative history", func(d *appsv1.Deployment) { d.Spec.RevisionHistoryLimit = newInt32(-2) },
			registrytest.Invalid("spec.revisionHistoryLimit", "")},
		{"rollback not a number", func(d *appsv1.Deployment) {
			d.Annotations = map[string]string{appsv1.DeprecatedRollbackTo: "latest"}
		}, registrytest.Invalid("metadata.annotations[deprecated.deployment.rollback.to]", "")},
		{"negative rollback", func(d *appsv1.Deployment) {
			d.Annotations = map[string]string{appsv1.DeprecatedRollbackTo: "-1"}
		}, registrytest.Invalid("spec.rollback.version", "")},
	}
}
