package csi

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// NodeIDAnnotation is the Node annotation mapping each registered CSI
// driver's name to the node's ID for it, as a JSON object, as the
// kubelet keeps it.
const NodeIDAnnotation = "csi.volume.kubernetes.io/nodeid"

// nodeInfo keeps the Node object in step with the registered drivers.
type nodeInfo struct {
	client   kubernetes.Interface
	nodeName string
}

// install records the driver's node ID in the annotation and its topology
// segments as labels. A label the node already has with another value is
// an error: the driver's topology would lie.
func (n nodeInfo) install(ctx context.Context, d *Driver) error {
	return n.update(ctx, func(node *corev1.Node) error {
		for k, v := range d.Topology {
			if cur, ok := node.Labels[k]; ok && cur != v {
				return fmt.Errorf("topology label %s=%s of driver %s clashes with the node's value %q", k, v, d.Name, cur)
			}
		}
		ids, err := nodeIDs(node)
		if err != nil {
			return err
		}
		ids[d.Name] = d.NodeID
		if err := setNodeIDs(node, ids); err != nil {
			return err
		}
		for k, v := range d.Topology {
			if node.Labels == nil {
				node.Labels = map[string]string{}
			}
			node.Labels[k] = v
		}
		return nil
	})
}

// uninstall removes the driver from the annotation. Topology labels stay,
// as with the kubelet: other drivers may share them.
func (n nodeInfo) uninstall(ctx context.Context, name string) error {
	return n.update(ctx, func(node *corev1.Node) error {
		ids, err := nodeIDs(node)
		if err != nil {
			return err
		}
		delete(ids, name)
		return setNodeIDs(node, ids)
	})
}

// update applies change to the Node and writes it when it changed,
// retrying on conflicts.
func (n nodeInfo) update(ctx context.Context, change func(*corev1.Node) error) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		nodes := n.client.CoreV1().Nodes()
		node, err := nodes.Get(ctx, n.nodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		before := node.DeepCopy()
		if err := change(node); err != nil {
			return err
		}
		if equalMeta(before, node) {
			return nil
		}
		_, err = nodes.Update(ctx, node, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return fmt.Errorf("csi: updating node %s: %w", n.nodeName, err)
	}
	return nil
}

func equalMeta(a, b *corev1.Node) bool {
	return maps.Equal(a.Labels, b.Labels) && maps.Equal(a.Annotations, b.Annotations)
}

// nodeIDs parses the node's annotation; a missing one is empty.
func nodeIDs(node *corev1.Node) (map[string]string, error) {
	ids := map[string]string{}
	raw, ok := node.Annotations[NodeIDAnnotation]
	if !ok || raw == "" {
		return ids, nil
	}
	if err := json.Unmarshal([]byte(raw), &ids); err != nil {
		return nil, fmt.Errorf("annotation %s of node %s: %w", NodeIDAnnotation, node.Name, err)
	}
	return ids, nil
}

// setNodeIDs writes the annotation, or removes it when ids is empty.
func setNodeIDs(node *corev1.Node, ids map[string]string) error {
	if len(ids) == 0 {
		delete(node.Annotations, NodeIDAnnotation)
		return nil
	}
	raw, err := json.Marshal(ids)
	if err != nil {
		return fmt.Errorf("annotation %s: %w", NodeIDAnnotation, err)
	}
	if node.Annotations == nil {
		node.Annotations = map[string]string{}
	}
	node.Annotations[NodeIDAnnotation] = string(raw)
	return nil
}
