// Package core describes the core (v1) resources: defaulting, validation,
// field selectors and kubectl columns, following Kubernetes.
package core

import (
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/registry"
)

// EventTTL is how long events are kept, as Kubernetes' default --event-ttl.
const EventTTL = time.Hour

// Resources returns the core/v1 resources.
func Resources() []*registry.Resource {
	rs := []*registry.Resource{
		{
			Resource: "bindings", Kind: "Binding", Namespaced: true, Verbs: []string{"create"},
			New: func() runtime.Object { return &corev1.Binding{} },
		},
		{
			Resource: "configmaps", Kind: "ConfigMap", Namespaced: true, ShortNames: []string{"cm"},
			New:      func() runtime.Object { return &corev1.ConfigMap{} },
			NewList:  func() runtime.Object { return &corev1.ConfigMapList{} },
			Strategy: configMapStrategy,
			Table:    configMapTable,
		},
		{
			Resource: "endpoints", Kind: "Endpoints", Singular: "endpoints", Namespaced: true, ShortNames: []string{"ep"},
			New:                 func() runtime.Object { return &corev1.Endpoints{} },
			NewList:             func() runtime.Object { return &corev1.EndpointsList{} },
			AllowCreateOnUpdate: true,
			Strategy:            endpointsStrategy,
			Table:               endpointsTable,
		},
		{
			Resource: "events", Kind: "Event", Namespaced: true, ShortNames: []string{"ev"},
			New:                 func() runtime.Object { return &corev1.Event{} },
			NewList:             func() runtime.Object { return &corev1.EventList{} },
			AllowCreateOnUpdate: true,
			TTL:                 EventTTL,
			Fields:              eventFields,
			Strategy:            eventStrategy,
			Table:               eventTable,
		},
		{
			Resource: "limitranges", Kind: "LimitRange", Namespaced: true, ShortNames: []string{"limits"},
			New:      func() runtime.Object { return &corev1.LimitRange{} },
			NewList:  func() runtime.Object { return &corev1.LimitRangeList{} },
			Strategy: limitRangeStrategy,
			Table:    limitRangeTable,
		},
		{
			Resource: "namespaces", ReturnDeletedObject: true, Kind: "Namespace", ShortNames: []string{"ns"}, Status: true,
			Verbs:    []string{"create", "delete", "get", "list", "patch", "update", "watch"},
			New:      func() runtime.Object { return &corev1.Namespace{} },
			NewList:  func() runtime.Object { return &corev1.NamespaceList{} },
			Fields:   namespaceFields,
			Strategy: namespaceStrategy,
			Table:    namespaceTable,
		},
		{
			Resource: "nodes", Kind: "Node", ShortNames: []string{"no"}, Status: true, KeepStatusOnCreate: true,
			New:      func() runtime.Object { return &corev1.Node{} },
			NewList:  func() runtime.Object { return &corev1.NodeList{} },
			Fields:   nodeFields,
			Strategy: nodeStrategy,
			Table:    nodeTable,
		},
		{
			Resource: "persistentvolumeclaims", Kind: "PersistentVolumeClaim", Namespaced: true, ShortNames: []string{"pvc"}, Status: true,
			New:      func() runtime.Object { return &corev1.PersistentVolumeClaim{} },
			NewList:  func() runtime.Object { return &corev1.PersistentVolumeClaimList{} },
			Strategy: pvcStrategy,
			Table:    pvcTable,
		},
		{
			Resource: "persistentvolumes", Kind: "PersistentVolume", ShortNames: []string{"pv"}, Status: true,
			New:      func() runtime.Object { return &corev1.PersistentVolume{} },
			NewList:  func() runtime.Object { return &corev1.PersistentVolumeList{} },
			Strategy: pvStrategy,
			Table:    pvTable,
		},
		{
			Resource: "pods", ReturnDeletedObject: true, Kind: "Pod", Namespaced: true, ShortNames: []string{"po"}, Categories: []string{"all"},
			Status: true, Generation: true,
			New:      func() runtime.Object { return &corev1.Pod{} },
			NewList:  func() runtime.Object { return &corev1.PodList{} },
			Fields:   podFields,
			Strategy: podStrategy,
			Table:    podTable,
		},
		{
			Resource: "podtemplates", Kind: "PodTemplate", Namespaced: true,
			New:      func() runtime.Object { return &corev1.PodTemplate{} },
			NewList:  func() runtime.Object { return &corev1.PodTemplateList{} },
			Strategy: podTemplateStrategy,
			Table:    podTemplateTable,
		},
		{
			Resource: "replicationcontrollers", Kind: "ReplicationController", Namespaced: true, ShortNames: []string{"rc"},
			Categories: []string{"all"}, Status: true, Generation: true,
			New:      func() runtime.Object { return &corev1.ReplicationController{} },
			NewList:  func() runtime.Object { return &corev1.ReplicationControllerList{} },
			Fields:   rcFields,
			Scale:    rcScale,
			Strategy: rcStrategy,
			Table:    rcTable,
		},
		{
			Resource: "resourcequotas", Kind: "ResourceQuota", Namespaced: true, ShortNames: []string{"quota"}, Status: true,
			New:      func() runtime.Object { return &corev1.ResourceQuota{} },
			NewList:  func() runtime.Object { return &corev1.ResourceQuotaList{} },
			Strategy: quotaStrategy,
			Table:    quotaTable,
		},
		{
			Resource: "secrets", Kind: "Secret", Namespaced: true,
			New:      func() runtime.Object { return &corev1.Secret{} },
			NewList:  func() runtime.Object { return &corev1.SecretList{} },
			Fields:   secretFields,
			Strategy: secretStrategy,
			Table:    secretTable,
		},
		{
			Resource: "serviceaccounts", ReturnDeletedObject: true, Kind: "ServiceAccount", Namespaced: true, ShortNames: []string{"sa"},
			New:      func() runtime.Object { return &corev1.ServiceAccount{} },
			NewList:  func() runtime.Object { return &corev1.ServiceAccountList{} },
			Strategy: serviceAccountStrategy,
			Table:    serviceAccountTable,
		},
		{
			Resource: "services", ReturnDeletedObject: true, Kind: "Service", Namespaced: true, ShortNames: []string{"svc"}, Categories: []string{"all"}, Status: true,
			New:      func() runtime.Object { return &corev1.Service{} },
			NewList:  func() runtime.Object { return &corev1.ServiceList{} },
			Strategy: serviceStrategy,
			Table:    serviceTable,
		},
	}
	for _, r := range rs {
		r.Version = "v1"
	}
	return rs
}

func podFields(obj runtime.Object) fields.Set {
	p := obj.(*corev1.Pod)
	return fields.Set{
		"spec.nodeName":            p.Spec.NodeName,
		"spec.restartPolicy":       string(p.Spec.RestartPolicy),
		"spec.schedulerName":       p.Spec.SchedulerName,
		"spec.serviceAccountName":  p.Spec.ServiceAccountName,
		"spec.hostNetwork":         strconv.FormatBool(p.Spec.HostNetwork),
		"status.phase":             string(p.Status.Phase),
		"status.podIP":             p.Status.PodIP,
		"status.nominatedNodeName": p.Status.NominatedNodeName,
	}
}

func eventFields(obj runtime.Object) fields.Set {
	e := obj.(*corev1.Event)
	source := e.Source.Component
	if source == "" {
		source = e.ReportingController
	}
	return fields.Set{
		"involvedObject.kind":            e.InvolvedObject.Kind,
		"involvedObject.namespace":       e.InvolvedObject.Namespace,
		"involvedObject.name":            e.InvolvedObject.Name,
		"involvedObject.uid":             string(e.InvolvedObject.UID),
		"involvedObject.apiVersion":      e.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": e.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       e.InvolvedObject.FieldPath,
		"reason":                         e.Reason,
		"reportingComponent":             e.ReportingController,
		"source":                         source,
		"type":                           e.Type,
	}
}

func namespaceFields(obj runtime.Object) fields.Set {
	return fields.Set{"status.phase": string(obj.(*corev1.Namespace).Status.Phase)}
}

func nodeFields(obj runtime.Object) fields.Set {
	return fields.Set{"spec.unschedulable": strconv.FormatBool(obj.(*corev1.Node).Spec.Unschedulable)}
}

func secretFields(obj runtime.Object) fields.Set {
	return fields.Set{"type": string(obj.(*corev1.Secret).Type)}
}

func rcFields(obj runtime.Object) fields.Set {
	return fields.Set{"status.replicas": strconv.Itoa(int(obj.(*corev1.ReplicationController).Status.Replicas))}
}

var rcScale = &registry.Scale{
	Get: func(obj runtime.Object) (int32, int32, string) {
		rc := obj.(*corev1.ReplicationController)
		spec := int32(1)
		if rc.Spec.Replicas != nil {
			spec = *rc.Spec.Replicas
		}
		sel := metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: rc.Spec.Selector})
		return spec, rc.Status.Replicas, sel
	},
	Set: func(obj runtime.Object, n int32) { obj.(*corev1.ReplicationController).Spec.Replicas = &n },
}
