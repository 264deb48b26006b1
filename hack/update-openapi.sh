#!/bin/sh
# Regenerates internal/openapi/zz_generated.openapi.go from the k8s.io/api
# and k8s.io/apimachinery versions in go.mod, with kube-openapi's
# openapi-gen (a tool dependency in go.mod).
set -eu
cd "$(dirname "$0")/.."
go tool openapi-gen \
  --output-dir internal/openapi \
  --output-pkg github.com/skiff/skiff/internal/openapi \
  --output-file zz_generated.openapi.go \
  --report-filename /dev/null \
  --go-header-file /dev/null \
  k8s.io/api/core/v1 k8s.io/api/apps/v1 k8s.io/api/batch/v1 \
  k8s.io/api/autoscaling/v1 k8s.io/api/autoscaling/v2 \
  k8s.io/api/coordination/v1 k8s.io/api/discovery/v1 k8s.io/api/rbac/v1 \
  k8s.io/api/storage/v1 k8s.io/api/policy/v1 k8s.io/api/events/v1 \
  k8s.io/api/scheduling/v1 k8s.io/api/scheduling/v1alpha3 k8s.io/api/networking/v1 \
  k8s.io/api/authentication/v1 k8s.io/api/authorization/v1 \
  k8s.io/apimachinery/pkg/apis/meta/v1 k8s.io/apimachinery/pkg/runtime \
  k8s.io/apimachinery/pkg/util/intstr k8s.io/apimachinery/pkg/api/resource \
  k8s.io/apimachinery/pkg/version
