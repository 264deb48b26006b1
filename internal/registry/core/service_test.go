package core

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/skiff/skiff/internal/registry/registrytest"
)

func svcWith(typ corev1.ServiceType, ports ...int32) *corev1.Service {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{Type: typ, Selector: map[string]string{"app": "web"}}}
	for _, p := range ports {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Port: p})
	}
	return svc
}

func TestServiceDefault(t *testing.T) {
	svc := svcWith("", 80)
	svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: "metrics", Port: 9090, TargetPort: intstr.FromString("http-metrics"), Protocol: corev1.ProtocolUDP})
	svc.Spec.Ports[0].Name = "http"
	serviceStrategy.Default(svc)
	s := svc.Spec
	if s.Type != corev1.ServiceTypeClusterIP || s.SessionAffinity != corev1.ServiceAffinityNone || s.SessionAffinityConfig != nil {
		t.Errorf("type/affinity defaults wrong: %+v", s)
	}
	if p := s.Ports[0]; p.Protocol != corev1.ProtocolTCP || p.TargetPort != intstr.FromInt32(80) {
		t.Errorf("port 0 = %+v", p)
	}
	if p := s.Ports[1]; p.Protocol != corev1.ProtocolUDP || p.TargetPort != intstr.FromString("http-metrics") {
		t.Errorf("port 1 changed: %+v", p)
	}
	if s.IPFamilyPolicy == nil || *s.IPFamilyPolicy != corev1.IPFamilyPolicySingleStack || !reflect.DeepEqual(s.IPFamilies, []corev1.IPFamily{corev1.IPv4Protocol}) {
		t.Errorf("ip families = %v %v", s.IPFamilyPolicy, s.IPFamilies)
	}
	if s.InternalTrafficPolicy == nil || *s.InternalTrafficPolicy != corev1.ServiceInternalTrafficPolicyCluster {
		t.Errorf("internalTrafficPolicy = %v", s.InternalTrafficPolicy)
	}
	if s.ExternalTrafficPolicy != "" || s.AllocateLoadBalancerNodePorts != nil {
		t.Errorf("ClusterIP service got external fields: %+v", s)
	}
	again := svc.DeepCopy()
	serviceStrategy.Default(again)
	if !reflect.DeepEqual(again, svc) {
		t.Errorf("Default is not idempotent")
	}
}

func TestServiceDefaultByType(t *testing.T) {
	lb := svcWith(corev1.ServiceTypeLoadBalancer, 443)
	lb.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	lb.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.10"}}
	serviceStrategy.Default(lb)
	if lb.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster || lb.Spec.AllocateLoadBalancerNodePorts == nil || !*lb.Spec.AllocateLoadBalancerNodePorts {
		t.Errorf("LoadBalancer defaults: %+v", lb.Spec)
	}
	if c := lb.Spec.SessionAffinityConfig; c == nil || c.ClientIP == nil || *c.ClientIP.TimeoutSeconds != 10800 {
		t.Errorf("sessionAffinityConfig = %+v", c)
	}
	if m := lb.Status.LoadBalancer.Ingress[0].IPMode; m == nil || *m != corev1.LoadBalancerIPModeVIP {
		t.Errorf("ipMode = %v", m)
	}

	np := svcWith(corev1.ServiceTypeNodePort, 80)
	serviceStrategy.Default(np)
	if np.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster || np.Spec.AllocateLoadBalancerNodePorts != nil {
		t.Errorf("NodePort defaults: %+v", np.Spec)
	}

	ext := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}}
	serviceStrategy.Default(ext)
	if ext.Spec.IPFamilyPolicy != nil || ext.Spec.IPFamilies != nil || ext.Spec.InternalTrafficPolicy != nil {
		t.Errorf("ExternalName got IP fields: %+v", ext.Spec)
	}
}

func TestServiceDefaultIPFamilies(t *testing.T) {
	single, require := corev1.IPFamilyPolicySingleStack, corev1.IPFamilyPolicyRequireDualStack
	v4, v6 := corev1.IPv4Protocol, corev1.IPv6Protocol
	cases := []struct {
		name       string
		clusterIP  string
		noSelector bool
		policy     corev1.IPFamilyPolicy
		families   []corev1.IPFamily
	}{
		{"to be allocated", "", false, single, []corev1.IPFamily{v4}},
		{"given IPv4", "10.96.0.10", false, single, []corev1.IPFamily{v4}},
		{"given IPv6", "fd00::10", false, single, []corev1.IPFamily{v6}},
		{"headless with selector", "None", false, single, []corev1.IPFamily{v4}},
		{"headless without selector", "None", true, require, []corev1.IPFamily{v4, v6}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svc := svcWith(corev1.ServiceTypeClusterIP, 80)
			svc.Spec.ClusterIP = c.clusterIP
			if c.noSelector {
				svc.Spec.Selector = nil
			}
			serviceStrategy.Default(svc)
			if *svc.Spec.IPFamilyPolicy != c.policy || !reflect.DeepEqual(svc.Spec.IPFamilies, c.families) {
				t.Errorf("got %s %v, want %s %v", *svc.Spec.IPFamilyPolicy, svc.Spec.IPFamilies, c.policy, c.families)
			}
		})
	}
}

func TestServiceValidate(t *testing.T) {
	timeout := int32(0)
	cases := []struct {
		name   string
		mutate func(*corev1.Service)
		want   []registrytest.Want
	}{
		{"valid ClusterIP", func(s *corev1.Service) {}, nil},
		{"valid with IP", func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.20" }, nil},
		{"valid headless without ports", func(s *corev1.Service) { s.Spec.ClusterIP = "None"; s.Spec.Ports = nil }, nil},
		{"valid ExternalName", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName, s.Spec.Ports = corev1.ServiceTypeExternalName, "db.example.com.", nil
		}, nil},
		{"valid NodePort", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort; s.Spec.Ports[0].NodePort = 30080 }, nil},
		{"port zero", func(s *corev1.Service) { s.Spec.Ports[0].Port = 0; s.Spec.Ports[0].TargetPort = intstr.FromInt32(8080) },
			[]registrytest.Want{registrytest.Invalid("spec.ports[0].port", "must be between 1 and 65535, inclusive")}},
		{"no ports", func(s *corev1.Service) { s.Spec.Ports = nil }, []registrytest.Want{registrytest.Required("spec.ports", "")}},
		{"ExternalName without name", func(s *corev1.Service) { s.Spec.Type, s.Spec.Ports = corev1.ServiceTypeExternalName, nil },
			[]registrytest.Want{registrytest.Required("spec.externalName", "")}},
		{"ExternalName bad name", func(s *corev1.Service) { s.Spec.Type, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "Bad_Name" },
			[]registrytest.Want{registrytest.Invalid("spec.externalName", "RFC 1123 subdomain")}},
		{"unnamed ports", func(s *corev1.Service) { s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Port: 443}) },
			[]registrytest.Want{registrytest.Required("spec.ports[0].name", ""), registrytest.Required("spec.ports[1].name", "")}},
		{"duplicate names and ports", func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Name: "http", Port: 80}, {Name: "http", Port: 80}}
		}, []registrytest.Want{registrytest.Duplicate("spec.ports[1].name", ""), registrytest.Duplicate("spec.ports[1]", "")}},
		{"bad target port", func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromInt32(70000) },
			[]registrytest.Want{registrytest.Invalid("spec.ports[0].targetPort", "must be between 1 and 65535")}},
		{"bad target port name", func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("no_underscores") },
			[]registrytest.Want{registrytest.Invalid("spec.ports[0].targetPort", "")}},
		{"bad protocol", func(s *corev1.Service) { s.Spec.Ports[0].Protocol = "ICMP" },
			[]registrytest.Want{registrytest.NotSupported("spec.ports[0].protocol", `"SCTP", "TCP", "UDP"`)}},
		{"nodePort on ClusterIP", func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 },
			[]registrytest.Want{registrytest.Forbidden("spec.ports[0].nodePort", "may not be used when `type` is 'ClusterIP'")}},
		{"nodePort out of range", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort; s.Spec.Ports[0].NodePort = 70000 },
			[]registrytest.Want{registrytest.Invalid("spec.ports[0].nodePort", "must be between 1 and 65535")}},
		{"bad cluster IP", func(s *corev1.Service) { s.Spec.ClusterIP = "10.0.0.300" },
			[]registrytest.Want{registrytest.Invalid("spec.clusterIPs[0]", "must be a valid IP address")}},
		{"headless LoadBalancer", func(s *corev1.Service) { s.Spec.Type, s.Spec.ClusterIP = corev1.ServiceTypeLoadBalancer, "None" },
			[]registrytest.Want{registrytest.Invalid("spec.clusterIPs[0]", "may not be set to 'None' for LoadBalancer services")}},
		{"bad selector", func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "a b"} },
			[]registrytest.Want{registrytest.Invalid("spec.selector", "")}},
		{"bad affinity", func(s *corev1.Service) { s.Spec.SessionAffinity = "Sticky" },
			[]registrytest.Want{registrytest.NotSupported("spec.sessionAffinity", "")}},
		{"bad affinity timeout", func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: &timeout}}
		}, []registrytest.Want{registrytest.Invalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds", "must be greater than 0 and less than 86400")}},
		{"bad type", func(s *corev1.Service) { s.Spec.Type = "Ingress" }, []registrytest.Want{registrytest.NotSupported("spec.type", "")}},
		{"loopback external IP", func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"127.0.0.1"} },
			[]registrytest.Want{registrytest.Invalid("spec.externalIPs[0]", "loopback")}},
		{"source ranges on ClusterIP", func(s *corev1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"} },
			[]registrytest.Want{registrytest.Forbidden("spec.LoadBalancerSourceRanges", "may only be used when `type` is 'LoadBalancer'")}},
		{"bad external traffic policy", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalTrafficPolicy = corev1.ServiceTypeNodePort, "Global"
		},
			[]registrytest.Want{registrytest.NotSupported("spec.externalTrafficPolicy", "")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svc := svcWith(corev1.ServiceTypeClusterIP, 80)
			c.mutate(svc)
			registrytest.ExpectExactly(t, strategyCreate(serviceStrategy, svc), c.want...)
		})
	}
}

// storedService returns a service as stored after create and allocation.
func storedService(typ corev1.ServiceType) *corev1.Service {
	svc := svcWith(typ, 80)
	svc.Spec.ClusterIP = "10.96.0.5"
	if typ == corev1.ServiceTypeNodePort || typ == corev1.ServiceTypeLoadBalancer {
		svc.Spec.Ports[0].NodePort = 30080
	}
	if errs := strategyCreate(serviceStrategy, svc); len(errs) != 0 {
		panic(errs.ToAggregate())
	}
	return svc
}

func TestServiceUpdate(t *testing.T) {
	cls := "example.com/lb"
	cases := []struct {
		name   string
		typ    corev1.ServiceType
		mutate func(*corev1.Service)
		check  func(*testing.T, *corev1.Service)
		want   []registrytest.Want
	}{
		{name: "change cluster IP", typ: corev1.ServiceTypeClusterIP, mutate: func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.6" },
			want: []registrytest.Want{registrytest.Invalid("spec.clusterIPs[0]", "may not change once set")}},
		{name: "replace without allocated values", typ: corev1.ServiceTypeNodePort, mutate: func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs, s.Spec.Ports[0].NodePort = "", nil, 0
		}, check: func(t *testing.T, s *corev1.Service) {
			if s.Spec.ClusterIPs[0] != "10.96.0.5" || s.Spec.Ports[0].NodePort != 30080 {
				t.Errorf("allocations not kept: %+v", s.Spec)
			}
		}},
		{name: "to ExternalName", typ: corev1.ServiceTypeClusterIP, mutate: func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "example.com"
		}, check: func(t *testing.T, s *corev1.Service) {
			if s.Spec.ClusterIP != "" || s.Spec.ClusterIPs != nil || s.Spec.IPFamilies != nil || s.Spec.IPFamilyPolicy != nil {
				t.Errorf("IP fields not dropped: %+v", s.Spec)
			}
		}},
		{name: "NodePort to ClusterIP", typ: corev1.ServiceTypeNodePort, mutate: func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeClusterIP },
			check: func(t *testing.T, s *corev1.Service) {
				if s.Spec.Ports[0].NodePort != 0 || s.Spec.ExternalTrafficPolicy != "" {
					t.Errorf("node port fields not dropped: %+v", s.Spec)
				}
			}},
		{name: "LoadBalancer class change", typ: corev1.ServiceTypeLoadBalancer, mutate: func(s *corev1.Service) { s.Spec.LoadBalancerClass = &cls },
			want: []registrytest.Want{registrytest.Invalid("spec.loadBalancerClass", "may not change once set")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			old := storedService(c.typ)
			svc := old.DeepCopy()
			c.mutate(svc)
			registrytest.ExpectExactly(t, strategyUpdate(serviceStrategy, svc, old), c.want...)
			if c.check != nil {
				c.check(t, svc)
			}
		})
	}
}

func TestServiceFromExternalName(t *testing.T) {
	old := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"}}
	strategyCreate(serviceStrategy, old)
	svc := old.DeepCopy()
	svc.Spec.Type, svc.Spec.ExternalName = corev1.ServiceTypeClusterIP, ""
	svc.Spec.Ports = []corev1.ServicePort{{Port: 5432}}
	registrytest.ExpectValid(t, strategyUpdate(serviceStrategy, svc, old))
}

func TestServiceValidateStatus(t *testing.T) {
	vip := corev1.LoadBalancerIPModeVIP
	cip := storedService(corev1.ServiceTypeClusterIP)
	cip.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.1", IPMode: &vip}}
	registrytest.ExpectExactly(t, serviceStrategy.ValidateStatus(cip, cip), registrytest.Forbidden("status.loadBalancer.ingress", ""))
	lb := storedService(corev1.ServiceTypeLoadBalancer)
	lb.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}, {Hostname: "192.0.2.2"}}
	registrytest.ExpectExactly(t, serviceStrategy.ValidateStatus(lb, lb),
		registrytest.Required("status.loadBalancer.ingress[0].ipMode", "must be specified when `ip` is set"),
		registrytest.Invalid("status.loadBalancer.ingress[1].hostname", "must be a DNS name, not an IP address"))
}

func TestServiceTable(t *testing.T) {
	cip := storedService(corev1.ServiceTypeClusterIP)
	np := storedService(corev1.ServiceTypeNodePort)
	lb := storedService(corev1.ServiceTypeLoadBalancer)
	ext := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"}}
	cases := []struct {
		svc  *corev1.Service
		want []interface{}
	}{
		{cip, []interface{}{"web", "ClusterIP", "10.96.0.5", "<none>", "80/TCP", "<unknown>", "app=web"}},
		{np, []interface{}{"web", "NodePort", "10.96.0.5", "<none>", "80:30080/TCP", "<unknown>", "app=web"}},
		{lb, []interface{}{"web", "LoadBalancer", "10.96.0.5", "<pending>", "80:30080/TCP", "<unknown>", "app=web"}},
		{ext, []interface{}{"db", "ExternalName", "<none>", "db.example.com", "<none>", "<unknown>", "<none>"}},
	}
	for _, c := range cases {
		if row := serviceTable.Row(c.svc); !reflect.DeepEqual(row, c.want) {
			t.Errorf("row = %#v, want %#v", row, c.want)
		}
	}
	if n := len(serviceTable.Columns); n != 7 || serviceTable.Columns[6].Priority != 1 || serviceTable.Columns[4].Name != "Port(s)" {
		t.Errorf("columns = %+v", serviceTable.Columns)
	}
}
