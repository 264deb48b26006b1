// Package apps describes the apps/v1 resources: Deployments, ReplicaSets,
// StatefulSets, DaemonSets and ControllerRevisions.
package apps

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/registry"
)

// Resources returns the apps/v1 resources.
func Resources() []*registry.Resource {
	rs := []*registry.Resource{
		{
			Resource: "controllerrevisions", Kind: "ControllerRevision", Namespaced: true,
			New:      func() runtime.Object { return &appsv1.ControllerRevision{} },
			NewList:  func() runtime.Object { return &appsv1.ControllerRevisionList{} },
			Strategy: controllerRevisionStrategy,
			Table:    controllerRevisionTable,
		},
		{
			Resource: "daemonsets", Kind: "DaemonSet", Namespaced: true, ShortNames: []string{"ds"}, Categories: []string{"all"},
			Status: true, Generation: true,
			New:      func() runtime.Object { return &appsv1.DaemonSet{} },
			NewList:  func() runtime.Object { return &appsv1.DaemonSetList{} },
			Strategy: daemonSetStrategy,
			Table:    daemonSetTable,
		},
		{
			Resource: "deployments", Kind: "Deployment", Namespaced: true, ShortNames: []string{"deploy"}, Categories: []string{"all"},
			Status: true, Generation: true,
			New:      func() runtime.Object { return &appsv1.Deployment{} },
			NewList:  func() runtime.Object { return &appsv1.DeploymentList{} },
			Scale:    deploymentScale,
			Strategy: deploymentStrategy,
			Table:    deploymentTable,
		},
		{
			Resource: "replicasets", Kind: "ReplicaSet", Namespaced: true, ShortNames: []string{"rs"}, Categories: []string{"all"},
			Status: true, Generation: true,
			New:      func() runtime.Object { return &appsv1.ReplicaSet{} },
			NewList:  func() runtime.Object { return &appsv1.ReplicaSetList{} },
			Fields:   replicaSetFields,
			Scale:    replicaSetScale,
			Strategy: replicaSetStrategy,
			Table:    replicaSetTable,
		},
		{
			Resource: "statefulsets", Kind: "StatefulSet", Namespaced: true, ShortNames: []string{"sts"}, Categories: []string{"all"},
			Status: true, Generation: true,
			New:      func() runtime.Object { return &appsv1.StatefulSet{} },
			NewList:  func() runtime.Object { return &appsv1.StatefulSetList{} },
			Scale:    statefulSetScale,
			Strategy: statefulSetStrategy,
			Table:    statefulSetTable,
		},
	}
	for _, r := range rs {
		r.Group, r.Version = "apps", "v1"
	}
	return rs
}

func replicaSetFields(obj runtime.Object) fields.Set {
	return fields.Set{"status.replicas": strconv.Itoa(int(obj.(*appsv1.ReplicaSet).Status.Replicas))}
}

func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func selectorString(s *metav1.LabelSelector) string {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return ""
	}
	return sel.String()
}

var deploymentScale = &registry.Scale{
	Get: func(obj runtime.Object) (int32, int32, string) {
		d := obj.(*appsv1.Deployment)
		return replicas(d.Spec.Replicas), d.Status.Replicas, selectorString(d.Spec.Selector)
	},
	Set: func(obj runtime.Object, n int32) { obj.(*appsv1.Deployment).Spec.Replicas = &n },
}

var replicaSetScale = &registry.Scale{
	Get: func(obj runtime.Object) (int32, int32, string) {
		r := obj.(*appsv1.ReplicaSet)
		return replicas(r.Spec.Replicas), r.Status.Replicas, selectorString(r.Spec.Selector)
	},
	Set: func(obj runtime.Object, n int32) { obj.(*appsv1.ReplicaSet).Spec.Replicas = &n },
}

var statefulSetScale = &registry.Scale{
	Get: func(obj runtime.Object) (int32, int32, string) {
		s := obj.(*appsv1.StatefulSet)
		return replicas(s.Spec.Replicas), s.Status.Replicas, selectorString(s.Spec.Selector)
	},
	Set: func(obj runtime.Object, n int32) { obj.(*appsv1.StatefulSet).Spec.Replicas = &n },
}
