package plugins

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/skiff/skiff/internal/scheduler/framework"
)

const taintTolerationPreScoreKey = "PreScore" + TaintTolerationName

// taintToleration keeps pods off nodes with NoSchedule and NoExecute
// taints they do not tolerate, and prefers nodes with fewer
// PreferNoSchedule taints they do not tolerate.
type taintToleration struct {
	prescore stateSlot[preferTolerations]
}

func (pl *taintToleration) Name() string { return TaintTolerationName }

// Filter rejects the node at its first untolerated NoSchedule or
// NoExecute taint, naming it as kube-scheduler does.
func (pl *taintToleration) Filter(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) *framework.Status {
	t, ok := untoleratedTaint(n.Node.Spec.Taints, pod.Spec.Tolerations)
	if !ok {
		return nil
	}
	return status(TaintTolerationName, framework.UnschedulableAndUnresolvable,
		"node(s) had untolerated taint {"+t.Key+": "+t.Value+"}")
}

// preferTolerations are the pod's tolerations that can tolerate a
// PreferNoSchedule taint (that effect, or any).
type preferTolerations []corev1.Toleration

// PreScore keeps the tolerations that matter for scoring.
func (pl *taintToleration) PreScore(_ context.Context, state *framework.CycleState, pod *corev1.Pod, _ []*framework.NodeInfo, _ *framework.Snapshot) *framework.Status {
	var tols preferTolerations
	for _, t := range pod.Spec.Tolerations {
		if t.Effect == "" || t.Effect == corev1.TaintEffectPreferNoSchedule {
			tols = append(tols, t)
		}
	}
	pl.prescore.write(state, taintTolerationPreScoreKey, tols)
	return nil
}

// Score counts the node's PreferNoSchedule taints the pod does not
// tolerate; NormalizeScore turns the most into 0.
func (pl *taintToleration) Score(_ context.Context, state *framework.CycleState, _ *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	tols, ok := pl.prescore.read(state, taintTolerationPreScoreKey)
	if !ok {
		return 0, missingState(TaintTolerationName, taintTolerationPreScoreKey)
	}
	var count int64
	for i := range n.Node.Spec.Taints {
		t := &n.Node.Spec.Taints[i]
		if t.Effect == corev1.TaintEffectPreferNoSchedule && !tolerated(tols, t) {
			count++
		}
	}
	return count, nil
}

// NormalizeScore scales the counts in reverse: no untolerated taints
// scores highest.
func (pl *taintToleration) NormalizeScore(_ context.Context, _ *framework.CycleState, _ *corev1.Pod, scores []framework.NodeScore) *framework.Status {
	normalizeToMax(scores, true)
	return nil
}
