package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

// Reasons preemption gives per node, in kube-scheduler's words.
const (
	reasonNotHelpful = "Preemption is not helpful for scheduling"
	reasonNoVictims  = "No preemption victims found for incoming pod"
)

// candidate is a node where evicting victims lets the pod fit.
type candidate struct {
	node          string
	victims       []*corev1.Pod
	pdbViolations int
}

// preempt looks for the node where evicting the fewest, least important
// lower-priority pods lets pod fit; it evicts them and returns the node to
// nominate. Otherwise it returns the message saying why not.
func (s *Scheduler) preempt(ctx context.Context, pod *corev1.Pod, fe *fitError) (string, string) {
	if fe.numNodes == 0 {
		return "", ""
	}
	if fe.preFilterMsg != "" {
		return "", fmt.Sprintf("preemption: 0/%d nodes are available: %d %s.", fe.numNodes, fe.numNodes, reasonNotHelpful)
	}
	if !s.eligibleToPreempt(pod) {
		return "", "preemption: not eligible due to a terminating pod on the nominated node."
	}
	pdbs := s.pdbs()
	snap := s.cache.RLock()
	reasons := map[string]*framework.Status{}
	var cands []candidate
	for _, n := range snap.Nodes {
		name := n.Node.Name
		st := fe.statuses[name]
		if st == nil || st.Code == framework.UnschedulableAndUnresolvable {
			reasons[name] = framework.NewStatus(framework.UnschedulableAndUnresolvable, reasonNotHelpful)
			continue
		}
		c, ok := s.selectVictims(ctx, pod, n, snap, pdbs)
		if !ok {
			reasons[name] = framework.NewStatus(framework.Unschedulable, reasonNoVictims)
			continue
		}
		cands = append(cands, c)
	}
	s.cache.RUnlock()
	if len(cands) == 0 {
		return "", fmt.Sprintf("preemption: 0/%d nodes are available: %s.", fe.numNodes, histogram(reasons))
	}
	best := pickCandidate(cands)
	for _, v := range best.victims {
		if err := s.evict(ctx, pod, v, best.node); err != nil {
			s.log.Warn("preemption: evict victim", "victim", klogRef(v), "err", err)
			return "", fmt.Sprintf("preemption: evicting %s/%s: %v.", v.Namespace, v.Name, err)
		}
	}
	s.log.Info("preempted pods", "pod", klogRef(pod), "node", best.node, "victims", len(best.victims))
	return best.node, ""
}

// eligibleToPreempt refuses a pod whose nominated node still has a
// lower-priority pod terminating: its earlier preemption is under way.
func (s *Scheduler) eligibleToPreempt(pod *corev1.Pod) bool {
	node := pod.Status.NominatedNodeName
	if node == "" {
		return true
	}
	pods, err := s.podLister.List(labels.Everything())
	if err != nil {
		return true
	}
	for _, p := range pods {
		if p.Spec.NodeName == node && p.DeletionTimestamp != nil && priority(p) < priority(pod) {
			return false
		}
	}
	return true
}

func (s *Scheduler) pdbs() []*policyv1.PodDisruptionBudget {
	list, err := s.pdbLister.List(labels.Everything())
	if err != nil {
		return nil
	}
	return list
}

// selectVictims removes every lower-priority pod from a copy of the node;
// if the pod then fits, it puts back as many as it can, most important
// first and PDB-protected ones before the others, and returns the rest.
func (s *Scheduler) selectVictims(ctx context.Context, pod *corev1.Pod, n *framework.NodeInfo, snap *framework.Snapshot, pdbs []*policyv1.PodDisruptionBudget) (candidate, bool) {
	clone := n.Clone()
	var lower []*framework.PodInfo
	for _, pi := range n.Pods {
		if priority(pi.Pod) < priority(pod) {
			lower = append(lower, pi)
			clone.RemovePod(pi.Pod)
		}
	}
	if len(lower) == 0 || !s.fitsOn(ctx, pod, clone, snap) {
		return candidate{}, false
	}
	sort.SliceStable(lower, func(i, j int) bool {
		pi, pj := priority(lower[i].Pod), priority(lower[j].Pod)
		if pi != pj {
			return pi > pj
		}
		ti, tj := startTime(lower[i].Pod), startTime(lower[j].Pod)
		return ti.Before(&tj)
	})
	violating, others := splitByPDB(lower, pdbs)
	c := candidate{node: n.Node.Name}
	reprieve := func(pi *framework.PodInfo) bool {
		clone.AddPod(pi)
		if s.fitsOn(ctx, pod, clone, snap) {
			return true
		}
		clone.RemovePod(pi.Pod)
		c.victims = append(c.victims, pi.Pod)
		return false
	}
	for _, pi := range violating {
		if !reprieve(pi) {
			c.pdbViolations++
		}
	}
	for _, pi := range others {
		reprieve(pi)
	}
	return c, true
}

func startTime(p *corev1.Pod) metav1.Time {
	if p.Status.StartTime != nil {
		return *p.Status.StartTime
	}
	return p.CreationTimestamp
}

// fitsOn runs the whole filter chain for pod with n in place of the
// node of that name in the snapshot.
func (s *Scheduler) fitsOn(ctx context.Context, pod *corev1.Pod, n *framework.NodeInfo, snap *framework.Snapshot) bool {
	nodes := make([]*framework.NodeInfo, len(snap.Nodes))
	for i, o := range snap.Nodes {
		if o.Node.Name == n.Node.Name {
			o = n
		}
		nodes[i] = o
	}
	alt := framework.NewSnapshot(nodes, snap.NamespaceLabels)
	state := framework.NewCycleState()
	filters, fe, err := s.runPreFilters(ctx, state, pod, alt)
	if err != nil || fe != nil {
		return false
	}
	return s.runFilters(ctx, state, pod, n, filters).IsSuccess()
}

// splitByPDB separates the pods whose eviction would break a
// PodDisruptionBudget (counting the ones before them) from the rest.
func splitByPDB(pods []*framework.PodInfo, pdbs []*policyv1.PodDisruptionBudget) (violating, others []*framework.PodInfo) {
	allowed := make([]int32, len(pdbs))
	for i, p := range pdbs {
		allowed[i] = p.Status.DisruptionsAllowed
	}
	for _, pi := range pods {
		breaks := false
		for i, pdb := range pdbs {
			if pdb.Namespace != pi.Pod.Namespace {
				continue
			}
			sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
			if err != nil || sel.Empty() || !sel.Matches(labels.Set(pi.Pod.Labels)) {
				continue
			}
			allowed[i]--
			if allowed[i] < 0 {
				breaks = true
			}
		}
		if breaks {
			violating = append(violating, pi)
		} else {
			others = append(others, pi)
		}
	}
	return violating, others
}

// pickCandidate prefers, in order: fewest PDB violations, the lowest
// priority among the most important victims, the lowest sum of victim
// priorities, the fewest victims.
func pickCandidate(cands []candidate) candidate {
	highest := func(c candidate) int32 {
		h := int32(-1 << 31)
		for _, v := range c.victims {
			h = max(h, priority(v))
		}
		return h
	}
	sum := func(c candidate) int64 {
		var t int64
		for _, v := range c.victims {
			// Shifted so that negative priorities still add up.
			t += int64(priority(v)) + 1<<31
		}
		return t
	}
	sort.SliceStable(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.pdbViolations != b.pdbViolations {
			return a.pdbViolations < b.pdbViolations
		}
		if ha, hb := highest(a), highest(b); ha != hb {
			return ha < hb
		}
		if sa, sb := sum(a), sum(b); sa != sb {
			return sa < sb
		}
		return len(a.victims) < len(b.victims)
	})
	return cands[0]
}

// evict marks a victim with the DisruptionTarget condition, records the
// Preempted event and deletes it.
func (s *Scheduler) evict(ctx context.Context, preemptor, victim *corev1.Pod, node string) error {
	patch, _ := json.Marshal(map[string]interface{}{"status": map[string]interface{}{
		"conditions": []interface{}{map[string]interface{}{
			"type": corev1.DisruptionTarget, "status": corev1.ConditionTrue, "reason": corev1.PodReasonPreemptionByScheduler,
			"message":            s.cfg.SchedulerName + ": preempting to accommodate a higher priority pod",
			"lastTransitionTime": metav1.Now().UTC().Format("2006-01-02T15:04:05Z"),
		}},
	}})
	_, err := s.client.CoreV1().Pods(victim.Namespace).Patch(ctx, victim.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	s.recorder.Eventf(victim, corev1.EventTypeNormal, "Preempted", "Preempted by pod %s on node %s", preemptor.UID, node)
	err = s.client.CoreV1().Pods(victim.Namespace).Delete(ctx, victim.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &victim.UID}})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
