package rbac

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The default policy the API server creates at start. The roles follow the
// documented semantics of Kubernetes' user-facing roles; they are written
// for skiff's served resources and will be refined when RBAC is enforced.

const (
	// BootstrapLabel marks every default role and binding.
	BootstrapLabel = "kubernetes.io/bootstrapping"
	// BootstrapLabelValue is the value of BootstrapLabel.
	BootstrapLabelValue = "rbac-defaults"
	// AutoUpdateAnnotation says the API server may reconcile the object
	// with its built-in definition at start.
	AutoUpdateAnnotation = "rbac.authorization.kubernetes.io/autoupdate"

	aggregateToAdmin = "rbac.authorization.k8s.io/aggregate-to-admin"
	aggregateToEdit  = "rbac.authorization.k8s.io/aggregate-to-edit"
	aggregateToView  = "rbac.authorization.k8s.io/aggregate-to-view"
)

var (
	readVerbs  = []string{"get", "list", "watch"}
	writeVerbs = []string{"create", "update", "patch", "delete", "deletecollection"}
	allVerbs   = append(append([]string{}, readVerbs...), writeVerbs...)
)

// BootstrapPolicy returns fresh copies of the default cluster roles and
// cluster role bindings: cluster-admin, admin, edit, view (with the
// aggregation roles they are built from), system:discovery,
// system:basic-user and system:public-info-viewer, and the bindings of
// cluster-admin to system:masters and of the discovery roles to
// authenticated (and, for public info, unauthenticated) users.
//
// admin, edit and view carry their aggregationRule and also the rules the
// aggregation yields, so they work before an aggregation controller runs.
func BootstrapPolicy() (clusterRoles []*rbacv1.ClusterRole, bindings []*rbacv1.ClusterRoleBinding) {
	viewRules, editRules, adminRules := viewPolicy(), editPolicy(), adminPolicy()
	edit := concatRules(viewRules, editRules)
	clusterRoles = []*rbacv1.ClusterRole{
		clusterRole("cluster-admin", nil,
			resourceRule([]string{"*"}, []string{"*"}, "*"),
			urlRule([]string{"*"}, "*")),
		aggregatedRole("admin", "", aggregateToAdmin, concatRules(edit, adminRules)),
		aggregatedRole("edit", aggregateToAdmin, aggregateToEdit, edit),
		aggregatedRole("view", aggregateToEdit, aggregateToView, viewRules),
		clusterRole("system:aggregate-to-admin", map[string]string{aggregateToAdmin: "true"}, adminRules...),
		clusterRole("system:aggregate-to-edit", map[string]string{aggregateToEdit: "true"}, editRules...),
		clusterRole("system:aggregate-to-view", map[string]string{aggregateToView: "true"}, viewRules...),
		clusterRole("system:discovery", nil, urlRule([]string{"get"},
			"/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*",
			"/readyz", "/version", "/version/")),
		clusterRole("system:basic-user", nil,
			resourceRule([]string{"create"}, []string{"authorization.k8s.io"}, "selfsubjectaccessreviews", "selfsubjectrulesreviews"),
			resourceRule([]string{"create"}, []string{"authentication.k8s.io"}, "selfsubjectreviews")),
		clusterRole("system:public-info-viewer", nil, urlRule([]string{"get"},
			"/healthz", "/livez", "/readyz", "/version", "/version/")),
	}
	bindings = []*rbacv1.ClusterRoleBinding{
		groupBinding("cluster-admin", "system:masters"),
		groupBinding("system:discovery", "system:authenticated"),
		groupBinding("system:basic-user", "system:authenticated"),
		groupBinding("system:public-info-viewer", "system:authenticated", "system:unauthenticated"),
	}
	return clusterRoles, bindings
}

// viewPolicy reads everything in a namespace except secrets and the
// subresources that run code in pods.
func viewPolicy() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		resourceRule(readVerbs, []string{""}, "pods", "pods/log", "pods/status",
			"replicationcontrollers", "replicationcontrollers/scale", "replicationcontrollers/status",
			"serviceaccounts", "services", "services/status", "endpoints",
			"persistentvolumeclaims", "persistentvolumeclaims/status", "configmaps",
			"limitranges", "resourcequotas", "resourcequotas/status", "bindings", "events",
			"namespaces", "namespaces/status"),
		resourceRule(readVerbs, []string{"apps"}, "controllerrevisions",
			"daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status",
			"replicasets", "replicasets/scale", "replicasets/status",
			"statefulsets", "statefulsets/scale", "statefulsets/status"),
		resourceRule(readVerbs, []string{"autoscaling"}, "horizontalpodautoscalers", "horizontalpodautoscalers/status"),
		resourceRule(readVerbs, []string{"batch"}, "cronjobs", "cronjobs/status", "jobs", "jobs/status"),
		resourceRule(readVerbs, []string{"policy"}, "poddisruptionbudgets", "poddisruptionbudgets/status"),
		resourceRule(readVerbs, []string{"networking.k8s.io"}, "ingresses", "ingresses/status", "networkpolicies"),
		resourceRule(readVerbs, []string{"discovery.k8s.io"}, "endpointslices"),
		resourceRule(readVerbs, []string{"events.k8s.io"}, "events"),
	}
}

// editPolicy adds writes of the namespaced workload resources, reading
// secrets, running code in pods and acting as service accounts; it does not
// include granting permissions.
func editPolicy() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		resourceRule(readVerbs, []string{""}, "pods/attach", "pods/exec", "pods/portforward", "pods/proxy",
			"secrets", "services/proxy"),
		resourceRule([]string{"impersonate"}, []string{""}, "serviceaccounts"),
		resourceRule(writeVerbs, []string{""}, "pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"),
		resourceRule([]string{"create"}, []string{""}, "pods/eviction", "serviceaccounts/token"),
		resourceRule(writeVerbs, []string{""}, "configmaps", "persistentvolumeclaims",
			"replicationcontrollers", "replicationcontrollers/scale", "secrets",
			"serviceaccounts", "services", "services/proxy"),
		resourceRule(writeVerbs, []string{"apps"}, "daemonsets", "deployments", "deployments/rollback",
			"deployments/scale", "replicasets", "replicasets/scale", "statefulsets", "statefulsets/scale"),
		resourceRule(writeVerbs, []string{"autoscaling"}, "horizontalpodautoscalers"),
		resourceRule(writeVerbs, []string{"batch"}, "cronjobs", "jobs"),
		resourceRule(writeVerbs, []string{"policy"}, "poddisruptionbudgets"),
		resourceRule(writeVerbs, []string{"networking.k8s.io"}, "ingresses", "networkpolicies"),
	}
}

// adminPolicy adds granting permissions within the namespace.
func adminPolicy() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		resourceRule([]string{"create"}, []string{"authorization.k8s.io"}, "localsubjectaccessreviews"),
		resourceRule(allVerbs, []string{rbacGroup}, "rolebindings", "roles"),
	}
}

func resourceRule(verbs, groups []string, resources ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{
		Verbs:     append([]string(nil), verbs...),
		APIGroups: append([]string(nil), groups...),
		Resources: resources,
	}
}

func urlRule(verbs []string, urls ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: append([]string(nil), verbs...), NonResourceURLs: urls}
}

func concatRules(lists ...[]rbacv1.PolicyRule) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, l := range lists {
		for i := range l {
			out = append(out, *l[i].DeepCopy())
		}
	}
	return out
}

// bootstrapMeta returns the metadata every default object carries.
func bootstrapMeta(name string, labels map[string]string) metav1.ObjectMeta {
	l := map[string]string{BootstrapLabel: BootstrapLabelValue}
	for k, v := range labels {
		l[k] = v
	}
	return metav1.ObjectMeta{
		Name:        name,
		Labels:      l,
		Annotations: map[string]string{AutoUpdateAnnotation: "true"},
	}
}

func clusterRole(name string, labels map[string]string, rules ...rbacv1.PolicyRule) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRole"},
		ObjectMeta: bootstrapMeta(name, labels),
		Rules:      concatRules(rules),
	}
}

// aggregatedRole builds one of admin, edit and view: it carries the
// aggregation label named by into (if any) and selects the roles labelled
// from.
func aggregatedRole(name, into, from string, rules []rbacv1.PolicyRule) *rbacv1.ClusterRole {
	var labels map[string]string
	if into != "" {
		labels = map[string]string{into: "true"}
	}
	role := clusterRole(name, labels, rules...)
	role.AggregationRule = &rbacv1.AggregationRule{
		ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{from: "true"}}},
	}
	return role
}

func groupBinding(role string, groups ...string) *rbacv1.ClusterRoleBinding {
	crb := &rbacv1.ClusterRoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRoleBinding"},
		ObjectMeta: bootstrapMeta(role, nil),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacGroup, Kind: "ClusterRole", Name: role},
	}
	for _, g := range groups {
		crb.Subjects = append(crb.Subjects, rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacGroup, Name: g})
	}
	return crb
}
