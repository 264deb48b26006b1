package simulate

import (
	"context"
	"errors"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// leaseDuration is the kubelet's: four missed renewals.
const leaseDuration = 40

var errNotRegistered = errors.New("simulate: node not registered yet")

// renewLease renews the node's Lease in kube-node-lease with one write:
// it updates the copy it wrote last, and reads or creates the Lease only
// when that copy is missing or stale.
func (s *Simulator) renewLease(ctx context.Context, name string) (time.Duration, error) {
	n := s.byName[name]
	uid := n.getUID()
	if obj, ok, _ := s.nodeInf.GetIndexer().GetByKey(name); ok && uid == "" {
		uid = obj.(*corev1.Node).UID // a node there before the simulator started
	}
	if uid == "" {
		return 0, errNotRegistered
	}
	leases := s.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(s.now())
	if n.lease != nil {
		next := n.lease.DeepCopy()
		next.Spec.RenewTime = &now
		updated, err := leases.Update(ctx, next, metav1.UpdateOptions{})
		if err == nil {
			n.lease = updated
			return s.cfg.LeaseRenew, nil
		}
		n.lease = nil
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			return 0, fmt.Errorf("simulate: renew lease %s: %w", name, err)
		}
	}
	cur, err := leases.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		cur, err = leases.Create(ctx, s.newLease(name, uid, now), metav1.CreateOptions{})
	case err == nil:
		cur.Spec.RenewTime = &now
		cur, err = leases.Update(ctx, cur, metav1.UpdateOptions{})
	}
	if err != nil {
		return 0, fmt.Errorf("simulate: renew lease %s: %w", name, err)
	}
	n.lease = cur
	return s.cfg.LeaseRenew, nil
}

func (s *Simulator) newLease(name string, uid types.UID, now metav1.MicroTime) *coordinationv1.Lease {
	dur := int32(leaseDuration)
	holder := name
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: corev1.NamespaceNodeLease,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: name, UID: uid}},
		},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &dur, RenewTime: &now},
	}
}
