package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestNamespaceDefaults: a new namespace gets the "default" ServiceAccount
// and the kube-root-ca.crt ConfigMap holding the cluster CA, and both come
// back when deleted.
func TestNamespaceDefaults(t *testing.T) {
	s := startServer(t)
	s.mustKubectl("create", "namespace", "team-a")
	eventually(t, 20*time.Second, "default ServiceAccount and kube-root-ca.crt", func() bool {
		sa, err1 := s.kubectl("get", "serviceaccount", "default", "-n", "team-a", "-o", "name")
		cm, err2 := s.kubectl("get", "configmap", "kube-root-ca.crt", "-n", "team-a", "-o", "jsonpath={.data.ca\\.crt}")
		return err1 == nil && strings.TrimSpace(sa) == "serviceaccount/default" && err2 == nil && strings.HasPrefix(cm, "-----BEGIN CERTIFICATE-----")
	})
	assertLines(t, s.mustKubectl("get", "sa", "-n", "team-a"), `^NAME\s+SECRETS\s+AGE$`, `^default\s+0\s+\d+s$`)
	s.mustKubectl("delete", "serviceaccount", "default", "-n", "team-a")
	eventually(t, 20*time.Second, "default ServiceAccount recreated", func() bool {
		_, err := s.kubectl("get", "serviceaccount", "default", "-n", "team-a")
		return err == nil
	})
}
