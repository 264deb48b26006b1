// Package autoscaling describes HorizontalPodAutoscalers, served as
// autoscaling/v2 (the stored version) and autoscaling/v1 (converted).
package autoscaling

import (
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/registry"
)

// Resources returns the HPA resources at v2 and v1.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		{
			Group: "autoscaling", Version: "v2",
			Resource: "horizontalpodautoscalers", Kind: "HorizontalPodAutoscaler", Namespaced: true,
			ShortNames: []string{"hpa"}, Categories: []string{"all"}, Status: true, Generation: true,
			New:      func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscaler{} },
			NewList:  func() runtime.Object { return &autoscalingv2.HorizontalPodAutoscalerList{} },
			Strategy: hpaV2Strategy,
			Table:    hpaV2Table,
		},
		{
			Group: "autoscaling", Version: "v1",
			Resource: "horizontalpodautoscalers", Kind: "HorizontalPodAutoscaler", Namespaced: true,
			ShortNames: []string{"hpa"}, Categories: []string{"all"}, Status: true, Generation: true,
			New:          func() runtime.Object { return &autoscalingv1.HorizontalPodAutoscaler{} },
			NewList:      func() runtime.Object { return &autoscalingv1.HorizontalPodAutoscalerList{} },
			StorageGroup: "autoscaling",
			ToStorage:    hpaV1ToV2,
			FromStorage:  hpaV2ToV1,
			Strategy:     hpaV1Strategy,
			Table:        hpaV1Table,
		},
	}
}
