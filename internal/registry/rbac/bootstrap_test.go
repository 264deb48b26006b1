package rbac

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func TestBootstrapPolicy(t *testing.T) {
	roles, bindings := BootstrapPolicy()
	byName := map[string]*rbacv1.ClusterRole{}
	for _, r := range roles {
		byName[r.Name] = r
		registrytest.ExpectValid(t, clusterRoleStrategy.Validate(r))
		if r.Labels[BootstrapLabel] != "rbac-defaults" || r.Annotations[AutoUpdateAnnotation] != "true" {
			t.Errorf("%s: metadata %v %v", r.Name, r.Labels, r.Annotations)
		}
	}
	for _, name := range []string{"cluster-admin", "admin", "edit", "view", "system:discovery", "system:basic-user", "system:public-info-viewer"} {
		if byName[name] == nil {
			t.Errorf("missing role %s", name)
		}
	}
	if r := byName["edit"]; r.Labels[aggregateToAdmin] != "true" || r.AggregationRule.ClusterRoleSelectors[0].MatchLabels[aggregateToEdit] != "true" {
		t.Errorf("edit aggregation %v %v", r.Labels, r.AggregationRule)
	}
	if r := byName["view"]; r.Labels[aggregateToEdit] != "true" || r.AggregationRule.ClusterRoleSelectors[0].MatchLabels[aggregateToView] != "true" {
		t.Errorf("view aggregation %v %v", r.Labels, r.AggregationRule)
	}
	if !allows(byName["cluster-admin"].Rules, "delete", "apps", "deployments") || !allowsURL(byName["cluster-admin"].Rules, "/metrics") {
		t.Error("cluster-admin is not all-powerful")
	}
	if !allows(byName["view"].Rules, "list", "", "pods") || allows(byName["view"].Rules, "get", "", "secrets") {
		t.Error("view rules")
	}
	if !allows(byName["edit"].Rules, "create", "apps", "deployments") || allows(byName["edit"].Rules, "create", rbacGroup, "rolebindings") {
		t.Error("edit rules")
	}
	if !allows(byName["admin"].Rules, "create", rbacGroup, "rolebindings") || !allows(byName["admin"].Rules, "list", "", "pods") {
		t.Error("admin rules")
	}
	if !allowsURL(byName["system:public-info-viewer"].Rules, "/version") || !allowsURL(byName["system:discovery"].Rules, "/apis") {
		t.Error("discovery rules")
	}

	var admin *rbacv1.ClusterRoleBinding
	for _, b := range bindings {
		clusterRoleBindingStrategy.Default(b)
		registrytest.ExpectValid(t, clusterRoleBindingStrategy.Validate(b))
		if byName[b.RoleRef.Name] == nil {
			t.Errorf("binding %s refers to unknown role", b.Name)
		}
		if b.Name == "cluster-admin" {
			admin = b
		}
	}
	if admin == nil || len(admin.Subjects) != 1 || admin.Subjects[0].Kind != "Group" || admin.Subjects[0].Name != "system:masters" {
		t.Fatalf("cluster-admin binding %+v", admin)
	}

	// Fresh copies every call.
	roles[0].Rules = nil
	again, _ := BootstrapPolicy()
	if len(again[0].Rules) == 0 {
		t.Error("BootstrapPolicy shares state between calls")
	}
}

func allows(rules []rbacv1.PolicyRule, verb, group, resource string) bool {
	for _, r := range rules {
		if has(r.Verbs, verb) && has(r.APIGroups, group) && has(r.Resources, resource) {
			return true
		}
	}
	return false
}

func allowsURL(rules []rbacv1.PolicyRule, url string) bool {
	for _, r := range rules {
		if has(r.Verbs, "get") && has(r.NonResourceURLs, url) {
			return true
		}
	}
	return false
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s || x == "*" {
			return true
		}
	}
	return false
}
