// Package batch describes the batch/v1 resources: Jobs and CronJobs.
package batch

import (
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/registry"
)

// Resources returns the batch/v1 resources.
func Resources() []*registry.Resource {
	rs := []*registry.Resource{
		{
			Resource: "cronjobs", Kind: "CronJob", Namespaced: true, ShortNames: []string{"cj"}, Categories: []string{"all"},
			Status: true, Generation: true,
			New:      func() runtime.Object { return &batchv1.CronJob{} },
			NewList:  func() runtime.Object { return &batchv1.CronJobList{} },
			Strategy: cronJobStrategy,
			Table:    cronJobTable,
		},
		{
			Resource: "jobs", Kind: "Job", Namespaced: true, Categories: []string{"all"},
			Status: true, Generation: true,
			New:      func() runtime.Object { return &batchv1.Job{} },
			NewList:  func() runtime.Object { return &batchv1.JobList{} },
			Fields:   jobFields,
			Strategy: jobStrategy,
			Table:    jobTable,
		},
	}
	for _, r := range rs {
		r.Group, r.Version = "batch", "v1"
	}
	return rs
}

func jobFields(obj runtime.Object) fields.Set {
	return fields.Set{"status.successful": strconv.Itoa(int(obj.(*batchv1.Job).Status.Succeeded))}
}
