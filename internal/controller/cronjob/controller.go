// Package cronjob runs CronJobs as Kubernetes' CronJob controller (v2)
// does: at each time of the schedule (in spec.timeZone) it creates a Job
// named after the scheduled minute, so a restarted controller never runs a
// schedule time twice; it honours concurrencyPolicy, startingDeadlineSeconds
// and suspend, keeps status.active, lastScheduleTime and
// lastSuccessfulTime, and deletes finished Jobs past the history limits.
package cronjob

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
)

// ScheduledTimestampAnnotation records on a Job the schedule time it runs
// for, in the CronJob's time zone.
const ScheduledTimestampAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp"

// maxMissed is how many missed schedule times are looked at before the
// controller warns and starts only the most recent, as upstream.
const maxMissed = 100

// Controller is the CronJob controller.
type Controller struct {
	client   kubernetes.Interface
	cronJobs batchlisters.CronJobLister
	jobs     cache.Indexer
	synced   []cache.InformerSynced
	queue    workqueue.TypedRateLimitingInterface[types.NamespacedName]
	recorder record.EventRecorder
	log      *slog.Logger
	now      func() time.Time
}

const ownerIndex = "cronjob-owner"

// New returns the controller; call it before the factory starts.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) *Controller {
	c := &Controller{
		client: client, log: log.With("controller", "cronjob"), now: time.Now,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[types.NamespacedName](),
			workqueue.TypedRateLimitingQueueConfig[types.NamespacedName]{Name: "cronjob"}),
	}
	cjs := factory.Batch().V1().CronJobs()
	jobs := factory.Batch().V1().Jobs().Informer()
	c.cronJobs = cjs.Lister()
	_ = jobs.AddIndexers(cache.Indexers{ownerIndex: func(obj interface{}) ([]string, error) {
		j, ok := obj.(*batchv1.Job)
		if !ok {
			return nil, nil
		}
		if ref := metav1.GetControllerOf(j); ref != nil && ref.Kind == "CronJob" {
			return []string{j.Namespace + "/" + ref.Name}, nil
		}
		return nil, nil
	}})
	c.jobs = jobs.GetIndexer()
	enqueue := func(obj interface{}) {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		if cj, ok := obj.(*batchv1.CronJob); ok {
			c.queue.Add(types.NamespacedName{Namespace: cj.Namespace, Name: cj.Name})
		}
	}
	_, _ = cjs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, obj interface{}) { enqueue(obj) }, DeleteFunc: enqueue,
	})
	owner := func(obj interface{}) {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		if j, ok := obj.(*batchv1.Job); ok {
			if ref := metav1.GetControllerOf(j); ref != nil && ref.Kind == "CronJob" {
				c.queue.Add(types.NamespacedName{Namespace: j.Namespace, Name: ref.Name})
			}
		}
	}
	_, _ = jobs.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: owner, UpdateFunc: func(_, obj interface{}) { owner(obj) }, DeleteFunc: owner,
	})
	c.synced = []cache.InformerSynced{cjs.Informer().HasSynced, jobs.HasSynced}
	return c
}

// Start runs until ctx ends.
func (c *Controller) Start(ctx context.Context, workers int) error {
	defer c.queue.ShutDown()
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer b.Shutdown()
	c.recorder = b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "cronjob-controller"})
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return nil
	}
	for i := 0; i < workers; i++ {
		go wait.UntilWithContext(ctx, func(ctx context.Context) {
			for c.next(ctx) {
			}
		}, time.Second)
	}
	<-ctx.Done()
	return nil
}

func (c *Controller) next(ctx context.Context) bool {
	key, quit := c.queue.Get()
	if quit {
		return false
	}
	defer c.queue.Done(key)
	after, err := c.sync(ctx, key)
	if err != nil {
		c.log.Warn("sync cronjob", "cronjob", key.String(), "err", err)
		c.queue.AddRateLimited(key)
		return true
	}
	c.queue.Forget(key)
	if after > 0 {
		c.queue.AddAfter(key, after)
	}
	return true
}

// sync brings one CronJob up to date and returns when to look again (the
// next schedule time).
func (c *Controller) sync(ctx context.Context, key types.NamespacedName) (time.Duration, error) {
	cur, err := c.cronJobs.CronJobs(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	cj := cur.DeepCopy()
	objs, err := c.jobs.ByIndex(ownerIndex, key.String())
	if err != nil {
		return 0, err
	}
	var jobs []*batchv1.Job
	for _, o := range objs {
		if j := o.(*batchv1.Job); metav1.IsControlledBy(j, cj) {
			jobs = append(jobs, j)
		}
	}
	c.trackJobs(cj, jobs)
	if cj.DeletionTimestamp != nil {
		return 0, c.writeStatus(ctx, cur, cj)
	}
	now := c.now()
	sched, err := parseSchedule(cj)
	if err != nil {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "UnparseableSchedule", "unparseable schedule: %q : %s", cj.Spec.Schedule, err)
		return 0, c.writeStatus(ctx, cur, cj)
	}
	after := nextIn(sched, now)
	if !ptr.Deref(cj.Spec.Suspend, false) {
		if err := c.maybeStart(ctx, cj, sched, now); err != nil {
			return 0, err
		}
	}
	if err := c.cleanHistory(ctx, cj, jobs); err != nil {
		return 0, err
	}
	return after, c.writeStatus(ctx, cur, cj)
}

// trackJobs brings status.active and lastSuccessfulTime in line with the
// Jobs the CronJob owns.
func (c *Controller) trackJobs(cj *batchv1.CronJob, jobs []*batchv1.Job) {
	owned := map[types.UID]*batchv1.Job{}
	for _, j := range jobs {
		owned[j.UID] = j
	}
	active := cj.Status.Active[:0:0]
	for _, ref := range cj.Status.Active {
		j, ok := owned[ref.UID]
		if !ok {
			continue // gone
		}
		if done, cond := finished(j); done {
			c.recorder.Eventf(cj, corev1.EventTypeNormal, "SawCompletedJob", "Saw completed job: %s, condition: %s", j.Name, cond)
			continue
		}
		active = append(active, ref)
	}
	for _, j := range jobs {
		if done, cond := finished(j); done {
			if cond == batchv1.JobComplete && j.Status.CompletionTime != nil &&
				(cj.Status.LastSuccessfulTime == nil || cj.Status.LastSuccessfulTime.Before(j.Status.CompletionTime)) {
				cj.Status.LastSuccessfulTime = j.Status.CompletionTime
			}
			continue
		}
		if !hasRef(active, j.UID) {
			active = append(active, jobRef(j))
		}
	}
	cj.Status.Active = active
}

func hasRef(refs []corev1.ObjectReference, uid types.UID) bool {
	for _, r := range refs {
		if r.UID == uid {
			return true
		}
	}
	return false
}

func jobRef(j *batchv1.Job) corev1.ObjectReference {
	return corev1.ObjectReference{Kind: "Job", Namespace: j.Namespace, Name: j.Name, UID: j.UID, APIVersion: "batch/v1", ResourceVersion: j.ResourceVersion}
}

// finished says whether the Job ended, and how.
func finished(j *batchv1.Job) (bool, batchv1.JobConditionType) {
	for _, cond := range j.Status.Conditions {
		if (cond.Type == batchv1.JobComplete || cond.Type == batchv1.JobFailed) && cond.Status == corev1.ConditionTrue {
			return true, cond.Type
		}
	}
	return false, ""
}

// parseSchedule parses spec.schedule in spec.timeZone (or the server's
// local zone).
func parseSchedule(cj *batchv1.CronJob) (cron.Schedule, error) {
	spec := cj.Spec.Schedule
	if tz := ptr.Deref(cj.Spec.TimeZone, ""); tz != "" && !strings.Contains(spec, "TZ=") {
		if _, err := time.LoadLocation(tz); err != nil {
			return nil, fmt.Errorf("unknown time zone %s", tz)
		}
		spec = "CRON_TZ=" + tz + " " + spec
	}
	return cron.ParseStandard(spec)
}

// nextIn is how long until the schedule's next time after now (a little
// more, so the time has passed when the CronJob is looked at).
func nextIn(sched cron.Schedule, now time.Time) time.Duration {
	next := sched.Next(now)
	if next.IsZero() {
		return 0
	}
	return next.Sub(now) + 100*time.Millisecond
}

// mostRecent returns the latest schedule time after the last one run (or
// the CronJob's creation, or the starting deadline) and not after now,
// and how many were missed in between.
func mostRecent(cj *batchv1.CronJob, sched cron.Schedule, now time.Time) (time.Time, int) {
	earliest := cj.CreationTimestamp.Time
	if cj.Status.LastScheduleTime != nil {
		earliest = cj.Status.LastScheduleTime.Time
	}
	if d := cj.Spec.StartingDeadlineSeconds; d != nil {
		if t := now.Add(-time.Duration(*d) * time.Second); t.After(earliest) {
			earliest = t
		}
	}
	var last time.Time
	missed := 0
	for t := sched.Next(earliest); !t.IsZero() && !t.After(now); t = sched.Next(t) {
		last = t
		missed++
		if missed > maxMissed {
			// Too many to walk one by one: find the latest from a window
			// just before now, widened until it holds a schedule time.
			for _, w := range []time.Duration{2 * time.Minute, time.Hour, 24 * time.Hour, 32 * 24 * time.Hour, 367 * 24 * time.Hour} {
				from := now.Add(-w)
				if from.Before(earliest) {
					from = earliest
				}
				found := false
				for u := sched.Next(from); !u.IsZero() && !u.After(now); u = sched.Next(u) {
					last, found = u, true
				}
				if found {
					break
				}
			}
			break
		}
	}
	return last, missed
}

// maybeStart creates the Job for the most recent schedule time if it is
// due, within the starting deadline and allowed by concurrencyPolicy.
func (c *Controller) maybeStart(ctx context.Context, cj *batchv1.CronJob, sched cron.Schedule, now time.Time) error {
	t, missed := mostRecent(cj, sched, now)
	if t.IsZero() {
		return nil
	}
	if missed > maxMissed {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "TooManyMissedTimes",
			"too many missed start times: %d. Set or decrease .spec.startingDeadlineSeconds or check clock skew", missed)
	}
	if d := cj.Spec.StartingDeadlineSeconds; d != nil && t.Add(time.Duration(*d)*time.Second).Before(now) {
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "MissSchedule", "Missed scheduled time to start a job: %s", t.UTC().Format(time.RFC1123Z))
		return nil
	}
	switch cj.Spec.ConcurrencyPolicy {
	case batchv1.ForbidConcurrent:
		if len(cj.Status.Active) > 0 {
			c.recorder.Eventf(cj, corev1.EventTypeNormal, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
			return nil
		}
	case batchv1.ReplaceConcurrent:
		for _, ref := range cj.Status.Active {
			err := c.client.BatchV1().Jobs(ref.Namespace).Delete(ctx, ref.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)})
			if err != nil && !apierrors.IsNotFound(err) {
				return err
			}
			c.recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted job %s", ref.Name)
		}
		cj.Status.Active = nil
	}
	job := jobFor(cj, t)
	created, err := c.client.BatchV1().Jobs(cj.Namespace).Create(ctx, job, metav1.CreateOptions{})
	switch {
	case apierrors.IsAlreadyExists(err):
		// Made before a restart, or by another sync: this time ran.
		existing, gerr := c.client.BatchV1().Jobs(cj.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
		if gerr != nil {
			return gerr
		}
		if !metav1.IsControlledBy(existing, cj) {
			return fmt.Errorf("job %s exists and is not owned by cronjob %s", job.Name, cj.Name)
		}
		created = existing
	case err != nil:
		c.recorder.Eventf(cj, corev1.EventTypeWarning, "FailedCreate", "Error creating job: %v", err)
		return err
	default:
		c.recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulCreate", "Created job %s", created.Name)
	}
	if done, _ := finished(created); !done && !hasRef(cj.Status.Active, created.UID) {
		cj.Status.Active = append(cj.Status.Active, jobRef(created))
	}
	cj.Status.LastScheduleTime = &metav1.Time{Time: t}
	return nil
}

// jobFor builds the Job of schedule time t: named after the minute, so
// the same time always gives the same name.
func jobFor(cj *batchv1.CronJob, t time.Time) *batchv1.Job {
	tmpl := cj.Spec.JobTemplate
	annotations := map[string]string{}
	for k, v := range tmpl.Annotations {
		annotations[k] = v
	}
	loc := time.Local
	if tz := ptr.Deref(cj.Spec.TimeZone, ""); tz != "" {
		if l, err := time.LoadLocation(tz); err == nil {
			loc = l
		}
	}
	annotations[ScheduledTimestampAnnotation] = t.In(loc).Format(time.RFC3339)
	lbls := labels.Set{}
	for k, v := range tmpl.Labels {
		lbls[k] = v
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("%s-%d", cj.Name, t.Unix()/60), Namespace: cj.Namespace,
			Labels: lbls, Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(cj, batchv1.SchemeGroupVersion.WithKind("CronJob"))},
		},
		Spec: *tmpl.Spec.DeepCopy(),
	}
}

// cleanHistory deletes the oldest finished Jobs beyond the limits for
// successful (3) and failed (1) ones.
func (c *Controller) cleanHistory(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) error {
	var succeeded, failed []*batchv1.Job
	for _, j := range jobs {
		switch _, cond := finished(j); cond {
		case batchv1.JobComplete:
			succeeded = append(succeeded, j)
		case batchv1.JobFailed:
			failed = append(failed, j)
		}
	}
	for _, set := range []struct {
		jobs  []*batchv1.Job
		limit int32
	}{{succeeded, ptr.Deref(cj.Spec.SuccessfulJobsHistoryLimit, 3)}, {failed, ptr.Deref(cj.Spec.FailedJobsHistoryLimit, 1)}} {
		if int32(len(set.jobs)) <= set.limit {
			continue
		}
		sort.Slice(set.jobs, func(i, k int) bool { return startOf(set.jobs[i]).Before(startOf(set.jobs[k])) })
		for _, j := range set.jobs[:len(set.jobs)-int(set.limit)] {
			err := c.client.BatchV1().Jobs(j.Namespace).Delete(ctx, j.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)})
			if err != nil && !apierrors.IsNotFound(err) {
				return err
			}
			c.recorder.Eventf(cj, corev1.EventTypeNormal, "SuccessfulDelete", "Deleted job %s", j.Name)
		}
	}
	return nil
}

func startOf(j *batchv1.Job) time.Time {
	if j.Status.StartTime != nil {
		return j.Status.StartTime.Time
	}
	return j.CreationTimestamp.Time
}

// writeStatus writes the status if it changed.
func (c *Controller) writeStatus(ctx context.Context, old, cj *batchv1.CronJob) error {
	if statusEqual(old.Status, cj.Status) {
		return nil
	}
	_, err := c.client.BatchV1().CronJobs(cj.Namespace).UpdateStatus(ctx, cj, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func statusEqual(a, b batchv1.CronJobStatus) bool {
	if len(a.Active) != len(b.Active) || !timeEqual(a.LastScheduleTime, b.LastScheduleTime) || !timeEqual(a.LastSuccessfulTime, b.LastSuccessfulTime) {
		return false
	}
	for i := range a.Active {
		if a.Active[i].UID != b.Active[i].UID {
			return false
		}
	}
	return true
}

func timeEqual(a, b *metav1.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(b)
}
