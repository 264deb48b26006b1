package core

import (
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"

	"github.com/skiff/skiff/internal/registry"
)

// Nodes. The agent registers its node with status (KeepStatusOnCreate), so
// status is validated on create as well.

var nodeStrategy = registry.Strategy{
	Default:          defaultNode,
	PrepareForCreate: prepareNodeCreate,
	PrepareForUpdate: prepareNodeUpdate,
	Validate:         validateNode,
	ValidateUpdate:   validateNodeUpdate,
	ValidateStatus:   validateNodeStatus,
}

var taintEffects = []string{
	string(corev1.TaintEffectNoSchedule), string(corev1.TaintEffectPreferNoSchedule), string(corev1.TaintEffectNoExecute),
}

// defaultNode keeps spec.podCIDR and spec.podCIDRs in step (podCIDRs
// wins), defaults allocatable to capacity and rounds quantities.
func defaultNode(obj runtime.Object) {
	n := obj.(*corev1.Node)
	if len(n.Spec.PodCIDRs) == 0 && n.Spec.PodCIDR != "" {
		n.Spec.PodCIDRs = []string{n.Spec.PodCIDR}
	}
	if len(n.Spec.PodCIDRs) > 0 {
		n.Spec.PodCIDR = n.Spec.PodCIDRs[0]
	}
	if n.Status.Allocatable == nil && n.Status.Capacity != nil {
		n.Status.Allocatable = n.Status.Capacity.DeepCopy()
	}
	roundUpQuantities(n.Status.Capacity)
	roundUpQuantities(n.Status.Allocatable)
}

// prepareNodeCreate drops the deprecated dynamic kubelet configuration.
func prepareNodeCreate(obj runtime.Object) {
	n := obj.(*corev1.Node)
	n.Spec.ConfigSource = nil
	n.Status.Config = nil
}

// prepareNodeUpdate drops spec.configSource unless the stored node still
// uses it.
func prepareNodeUpdate(obj, old runtime.Object) {
	n, prev := obj.(*corev1.Node), old.(*corev1.Node)
	if prev.Spec.ConfigSource == nil {
		n.Spec.ConfigSource = nil
	}
}

// validateNode checks taints, pod CIDRs and the status quantities. Taint
// errors carry Kubernetes' "metadata.taints" path.
func validateNode(obj runtime.Object) field.ErrorList {
	n := obj.(*corev1.Node)
	errs := nodeTaintErrs(n.Spec.Taints, field.NewPath("metadata", "taints"))
	errs = append(errs, nodeResourceErrs(n)...)
	cidrs := n.Spec.PodCIDRs
	if len(cidrs) == 0 {
		return errs
	}
	path := field.NewPath("spec", "podCIDRs")
	for i, c := range cidrs {
		errs = append(errs, validation.IsValidCIDR(path.Index(i), c)...)
	}
	if len(cidrs) > 1 {
		if dual, err := netutils.IsDualStackCIDRStrings(cidrs); err != nil || !dual || len(cidrs) > 2 {
			errs = append(errs, field.Invalid(path, cidrs, "may specify no more than one CIDR for each IP family"))
		}
		seen := map[string]bool{}
		for i, c := range cidrs {
			if seen[c] {
				errs = append(errs, field.Duplicate(path.Index(i), c))
			}
			seen[c] = true
		}
	}
	return errs
}

// nodeTaintErrs checks each taint and that (key, effect) pairs are unique.
func nodeTaintErrs(taints []corev1.Taint, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[corev1.TaintEffect]map[string]bool{}
	for i, t := range taints {
		idx := path.Index(i)
		errs = append(errs, metav1validation.ValidateLabelName(t.Key, idx.Child("key"))...)
		if msgs := content.IsLabelValue(t.Value); len(msgs) != 0 {
			errs = append(errs, field.Invalid(idx.Child("value"), t.Value, strings.Join(msgs, ";")))
		}
		if t.Effect == "" {
			errs = append(errs, field.Required(idx.Child("effect"), ""))
		} else if !inValues(string(t.Effect), taintEffects) {
			errs = append(errs, field.NotSupported(idx.Child("effect"), t.Effect, taintEffects))
		}
		if seen[t.Effect][t.Key] {
			dup := field.Duplicate(idx, t)
			dup.Detail = "taints must be unique by key and effect pair"
			errs = append(errs, dup)
			continue
		}
		if seen[t.Effect] == nil {
			seen[t.Effect] = map[string]bool{}
		}
		seen[t.Effect][t.Key] = true
	}
	return errs
}

// nodeResourceErrs checks capacity and allocatable quantities.
func nodeResourceErrs(n *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	for name, q := range n.Status.Capacity {
		errs = append(errs, quantityForResourceErrs(name, q, field.NewPath("status", "capacity", string(name)))...)
	}
	for name, q := range n.Status.Allocatable {
		errs = append(errs, quantityForResourceErrs(name, q, field.NewPath("status", "allocatable", string(name)))...)
	}
	return errs
}

// validateNodeUpdate: pod CIDRs and the provider ID may only go from unset
// to set; external ID never changes; addresses are unique.
func validateNodeUpdate(obj, old runtime.Object) field.ErrorList {
	n, prev := obj.(*corev1.Node), old.(*corev1.Node)
	errs := nodeAddressErrs(n)
	const cidrMsg = "node updates may not change podCIDR except from \"\" to valid"
	if len(prev.Spec.PodCIDRs) > 0 {
		cidrPath := field.NewPath("spec", "podCIDRs")
		if len(prev.Spec.PodCIDRs) != len(n.Spec.PodCIDRs) {
			errs = append(errs, field.Forbidden(cidrPath, cidrMsg))
		} else {
			for i := range prev.Spec.PodCIDRs {
				if prev.Spec.PodCIDRs[i] != n.Spec.PodCIDRs[i] {
					errs = append(errs, field.Forbidden(cidrPath, cidrMsg))
				}
			}
		}
	}
	if prev.Spec.ProviderID != "" && prev.Spec.ProviderID != n.Spec.ProviderID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	if n.Spec.DoNotUseExternalID != prev.Spec.DoNotUseExternalID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "externalID"), "may not be updated"))
	}
	return errs
}

func nodeAddressErrs(n *corev1.Node) field.ErrorList {
	var errs field.ErrorList
	seen := map[corev1.NodeAddress]bool{}
	for i, a := range n.Status.Addresses {
		if seen[a] {
			errs = append(errs, field.Duplicate(field.NewPath("status", "addresses").Index(i), a))
		}
		seen[a] = true
	}
	return errs
}

// validateNodeStatus checks a /status update (the agent's heartbeats).
func validateNodeStatus(obj, old runtime.Object) field.ErrorList {
	n := obj.(*corev1.Node)
	errs := nodeResourceErrs(n)
	errs = append(errs, nodeTaintErrs(n.Spec.Taints, field.NewPath("metadata", "taints"))...)
	return append(errs, validateNodeUpdate(obj, old)...)
}

var nodeTable = &registry.Table{
	Columns: []metav1.TableColumnDefinition{
		registry.NameColumn,
		registry.Column("Status", "string", 0, "The status of the node"),
		registry.Column("Roles", "string", 0, "The roles of the node"),
		registry.AgeColumn,
		registry.Column("Version", "string", 0, corev1.NodeSystemInfo{}.SwaggerDoc()["kubeletVersion"]),
		registry.Column("Internal-IP", "string", 1, corev1.NodeStatus{}.SwaggerDoc()["addresses"]),
		registry.Column("External-IP", "string", 1, corev1.NodeStatus{}.SwaggerDoc()["addresses"]),
		registry.Column("OS-Image", "string", 1, corev1.NodeSystemInfo{}.SwaggerDoc()["osImage"]),
		registry.Column("Kernel-Version", "string", 1, corev1.NodeSystemInfo{}.SwaggerDoc()["kernelVersion"]),
		registry.Column("Container-Runtime", "string", 1, corev1.NodeSystemInfo{}.SwaggerDoc()["containerRuntimeVersion"]),
	},
	Row: func(obj runtime.Object) []interface{} {
		n := obj.(*corev1.Node)
		info := n.Status.NodeInfo
		return []interface{}{n.Name, nodeStatusString(n), registry.NoneIfEmpty(strings.Join(nodeRoles(n), ",")),
			registry.Age(n.CreationTimestamp), info.KubeletVersion,
			nodeAddress(n, corev1.NodeInternalIP), nodeAddress(n, corev1.NodeExternalIP),
			unknownIfBlank(info.OSImage), unknownIfBlank(info.KernelVersion), unknownIfBlank(info.ContainerRuntimeVersion)}
	},
}

// nodeStatusString is "Ready", "NotReady" or "Unknown" (no Ready
// condition), with ",SchedulingDisabled" for cordoned nodes.
func nodeStatusString(n *corev1.Node) string {
	status := "Unknown"
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			if c.Status == corev1.ConditionTrue {
				status = "Ready"
			} else {
				status = "NotReady"
			}
		}
	}
	if n.Spec.Unschedulable {
		status += ",SchedulingDisabled"
	}
	return status
}

// nodeRoles lists the roles from node-role.kubernetes.io/<role> labels and
// the kubernetes.io/role label, sorted.
func nodeRoles(n *corev1.Node) []string {
	set := map[string]bool{}
	for k, v := range n.Labels {
		switch {
		case strings.HasPrefix(k, "node-role.kubernetes.io/"):
			if role := strings.TrimPrefix(k, "node-role.kubernetes.io/"); role != "" {
				set[role] = true
			}
		case k == "kubernetes.io/role" && v != "":
			set[v] = true
		}
	}
	roles := make([]string, 0, len(set))
	for r := range set {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	return roles
}

// nodeAddress returns the first address of a type, or <none>.
func nodeAddress(n *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range n.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return "<none>"
}

func unknownIfBlank(s string) string {
	if s == "" {
		return "<unknown>"
	}
	return s
}
