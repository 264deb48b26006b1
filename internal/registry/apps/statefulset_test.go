package apps

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func claimTemplate(name string) corev1.PersistentVolumeClaim {
	return corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
}

func validStatefulSet() *appsv1.StatefulSet {
	s := &appsv1.StatefulSet{
		ObjectMeta: tenMinutesOld(),
		Spec: appsv1.StatefulSetSpec{
			Selector: webSelector(), Template: podTemplate(), ServiceName: "web",
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{claimTemplate("data")},
		},
	}
	s.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	statefulSetStrategy.Default(s)
	return s
}

func TestStatefulSetDefaults(t *testing.T) {
	s := &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{
		VolumeClaimTemplates: []corev1.PersistentVolumeClaim{claimTemplate("data")}}}
	statefulSetStrategy.Default(s)
	spec := s.Spec
	if spec.PodManagementPolicy != appsv1.OrderedReadyPodManagement || *spec.Replicas != 1 || *spec.RevisionHistoryLimit != 10 {
		t.Errorf("spec %+v", spec)
	}
	if spec.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType ||
		spec.UpdateStrategy.RollingUpdate == nil || *spec.UpdateStrategy.RollingUpdate.Partition != 0 {
		t.Errorf("update strategy %+v", spec.UpdateStrategy)
	}
	want := appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
		WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType}
	if *spec.PersistentVolumeClaimRetentionPolicy != want {
		t.Errorf("retention %+v", spec.PersistentVolumeClaimRetentionPolicy)
	}
	c := spec.VolumeClaimTemplates[0]
	if c.Kind != "PersistentVolumeClaim" || *c.Spec.VolumeMode != corev1.PersistentVolumeFilesystem || c.Status.Phase != corev1.ClaimPending {
		t.Errorf("claim template %+v", c)
	}
	again := s.DeepCopy()
	statefulSetStrategy.Default(again)
	if !reflect.DeepEqual(again, s) {
		t.Error("defaulting is not idempotent")
	}

	// OnDelete gets no rolling parameters; a half policy is completed.
	o := &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{
		UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType},
		PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
			WhenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType}}}
	statefulSetStrategy.Default(o)
	if o.Spec.UpdateStrategy.RollingUpdate != nil ||
		o.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled != appsv1.RetainPersistentVolumeClaimRetentionPolicyType ||
		o.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted != appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
		t.Errorf("OnDelete defaults %+v", o.Spec)
	}
}

func TestStatefulSetValidate(t *testing.T) {
	valid := map[string]func(*appsv1.StatefulSet){
		"defaults":        func(*appsv1.StatefulSet) {},
		"no service name": func(s *appsv1.StatefulSet) { s.Spec.ServiceName = "" },
		"parallel":        func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = appsv1.ParallelPodManagement },
		"on delete": func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
		},
		"max unavailable": func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ios("50%") },
		"no claims": func(s *appsv1.StatefulSet) {
			s.Spec.VolumeClaimTemplates = nil
			s.Spec.Template.Spec.Containers[0].VolumeMounts = nil
		},
	}
	for name, mutate := range valid {
		t.Run(name, func(t *testing.T) {
			s := validStatefulSet()
			mutate(s)
			registrytest.ExpectValid(t, statefulSetStrategy.Validate(s))
		})
	}

	cases := statefulSetInvalidCases()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := validStatefulSet()
			c.mutate(s)
			registrytest.ExpectContains(t, statefulSetStrategy.Validate(s), c.want)
		})
	}
	if errs := statefulSetStrategy.NameValidator("web.db", false); len(errs) == 0 {
		t.Error("a dotted name is no DNS label")
	}
}

func TestStatefulSetClaimVolumes(t *testing.T) {
	s := validStatefulSet()
	s.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "data"}, {Name: "cache"}}
	got := withClaimVolumes(&s.Spec.Template, s.Spec.VolumeClaimTemplates)
	if len(got.Spec.Volumes) != 2 || got.Spec.Volumes[0].PersistentVolumeClaim == nil ||
		got.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "data" {
		t.Errorf("volumes %+v", got.Spec.Volumes)
	}
	if s.Spec.Template.Spec.Volumes[0].PersistentVolumeClaim != nil {
		t.Error("the template itself was changed")
	}
}

func TestStatefulSetUpdate(t *testing.T) {
	old := validStatefulSet()
	mutable := map[string]func(*appsv1.StatefulSet){
		"replicas":  func(s *appsv1.StatefulSet) { s.Spec.Replicas = newInt32(3) },
		"template":  func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.Containers[0].Image = "nginx:2" },
		"ordinals":  func(s *appsv1.StatefulSet) { s.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: 5} },
		"strategy":  func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.Partition = newInt32(2) },
		"history":   func(s *appsv1.StatefulSet) { s.Spec.RevisionHistoryLimit = newInt32(3) },
		"minReady":  func(s *appsv1.StatefulSet) { s.Spec.MinReadySeconds = 9 },
		"retention": func(s *appsv1.StatefulSet) { s.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted = "Delete" },
	}
	for name, mutate := range mutable {
		s := old.DeepCopy()
		mutate(s)
		if errs := statefulSetStrategy.ValidateUpdate(s, old); len(errs) > 0 {
			t.Errorf("%s: %v", name, errs)
		}
	}
	immutable := map[string]func(*appsv1.StatefulSet){
		"service name": func(s *appsv1.StatefulSet) { s.Spec.ServiceName = "other" },
		"claims":       func(s *appsv1.StatefulSet) { s.Spec.VolumeClaimTemplates[0].Name = "logs" },
		"policy":       func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = appsv1.ParallelPodManagement },
		"selector":     func(s *appsv1.StatefulSet) { s.Spec.Selector.MatchLabels["tier"] = "db" },
	}
	for name, mutate := range immutable {
		s := old.DeepCopy()
		mutate(s)
		errs := statefulSetStrategy.ValidateUpdate(s, old)
		if len(errs) != 1 || errs[0].Field != "spec" || errs[0].Type != field.ErrorTypeForbidden ||
			errs[0].Detail != statefulSetUpdateMessage {
			t.Errorf("%s: %v", name, errs)
		}
	}
}

func TestStatefulSetStatus(t *testing.T) {
	old := validStatefulSet()
	s := old.DeepCopy()
	s.Status = appsv1.StatefulSetStatus{Replicas: 2, ReadyReplicas: 2, AvailableReplicas: 2, CurrentReplicas: 2}
	registrytest.ExpectValid(t, statefulSetStrategy.ValidateStatus(s, old))
	s.Status.CurrentReplicas = 3
	registrytest.ExpectContains(t, statefulSetStrategy.ValidateStatus(s, old),
		registrytest.Invalid("status.currentReplicas", "cannot be greater than status.replicas"))
}

func TestStatefulSetTable(t *testing.T) {
	registrytest.ExpectColumns(t, statefulSetTable, []string{"Name", "Ready", "Age", "Containers", "Images"}, 2)
	s := validStatefulSet()
	s.Spec.Replicas = newInt32(3)
	s.Status.ReadyReplicas = 1
	registrytest.ExpectRow(t, statefulSetTable, statefulSetTable.Row(s), []interface{}{
		"web", "1/3", "10m", "nginx,sidecar", "nginx:1.27,busybox"})
}

// statefulSetInvalidCases lists invalid objects and the error each must get.
func statefulSetInvalidCases() []invalidCase[*appsv1.StatefulSet] {
	vct := "spec.volumeClaimTemplates[0].spec"
	return []invalidCase[*appsv1.StatefulSet]{
		{"no selector", func(s *appsv1.StatefulSet) { s.Spec.Selector = nil },
			registrytest.Required("spec.selector", "")},
		{"empty selector", func(s *appsv1.StatefulSet) { s.Spec.Selector = &metav1.LabelSelector{} },
			registrytest.Invalid("spec.selector", "empty selector is invalid for statefulset")},
		{"labels mismatch", func(s *appsv1.StatefulSet) { s.Spec.Template.Labels = map[string]string{"app": "db"} },
			registrytest.Invalid("spec.template.metadata.labels", templateMismatch)},
		{"pod management", func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = "Random" },
			registrytest.Invalid("spec.podManagementPolicy", "must be 'OrderedReady' or 'Parallel'")},
		{"pod management unset", func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = "" },
			registrytest.Required("spec.podManagementPolicy", "")},
		{"update strategy", func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.Type = "Canary" },
			registrytest.Invalid("spec.updateStrategy", "must be 'RollingUpdate' or 'OnDelete'")},
		{"on delete with rolling", func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy.Type = appsv1.OnDeleteStatefulSetStrategyType
		}, registrytest.Invalid("spec.updateStrategy.rollingUpdate", "only allowed for updateStrategy 'RollingUpdate'")},
		{"negative partition", func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.Partition = newInt32(-1) },
			registrytest.Invalid("spec.updateStrategy.rollingUpdate.partition", "")},
		{"zero max unavailable", func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ios("0") },
			registrytest.Invalid("spec.updateStrategy.rollingUpdate.maxUnavailable", "cannot be 0")},
		{"retention", func(s *appsv1.StatefulSet) { s.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled = "Keep" },
			registrytest.NotSupported("spec.persistentVolumeClaimRetentionPolicy.whenScaled", "")},
		{"negative replicas", func(s *appsv1.StatefulSet) { s.Spec.Replicas = newInt32(-1) },
			registrytest.Invalid("spec.replicas", "")},
		{"negative ordinal", func(s *appsv1.StatefulSet) { s.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: -1} },
			registrytest.Invalid("spec.ordinals.start", "")},
		{"service name", func(s *appsv1.StatefulSet) { s.Spec.ServiceName = "Web_Service" },
			registrytest.Invalid("spec.serviceName", "RFC 1123")},
		{"restart on failure", func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure },
			registrytest.NotSupported("spec.template.spec.restartPolicy", "")},
		{"active deadline", func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.ActiveDeadlineSeconds = new(int64) },
			registrytest.Forbidden("spec.template.spec.activeDeadlineSeconds", "in StatefulSet is not Supported")},
		{"claim without access mode", func(s *appsv1.StatefulSet) { s.Spec.VolumeClaimTemplates[0].Spec.AccessModes = nil },
			registrytest.Required(vct+".accessModes", "at least 1 access mode is required")},
		{"claim access mode", func(s *appsv1.StatefulSet) {
			s.Spec.VolumeClaimTemplates[0].Spec.AccessModes = []corev1.PersistentVolumeAccessMode{"ReadEverything"}
		}, registrytest.NotSupported(vct+".accessModes", "")},
		{"claim without storage", func(s *appsv1.StatefulSet) {
			s.Spec.VolumeClaimTemplates[0].Spec.Resources = corev1.VolumeResourceRequirements{}
		},
			registrytest.Required(vct+".resources[storage]", "")},
		{"claim zero storage", func(s *appsv1.StatefulSet) {
			s.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("0")
		}, registrytest.Invalid(vct+".resources[storage]", "must be greater than zero")},
		{"claim class", func(s *appsv1.StatefulSet) {
			c := "Fast SSD"
			s.Spec.VolumeClaimTemplates[0].Spec.StorageClassName = &c
		},
			registrytest.Invalid(vct+".storageClassName", "")},
	}
}
