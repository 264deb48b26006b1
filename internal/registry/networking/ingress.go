package networking

import (
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"

	"github.com/skiff/skiff/internal/registry"
)

// ingressClassAnnotation is the pre-ingressClassName way of choosing a
// class; both may be set only if they agree.
const ingressClassAnnotation = "kubernetes.io/ingress.class"

var (
	pathTypes = []string{string(networkingv1.PathTypeExact), string(networkingv1.PathTypeImplementationSpecific), string(networkingv1.PathTypePrefix)}
	// Exact and Prefix paths are matched element-wise and must be clean.
	badPathSequences = []string{"//", "/./", "/../", "%2f", "%2F"}
	badPathSuffixes  = []string{"/..", "/."}
)

var (
	ingressStrategy = registry.Strategy{
		Validate: func(obj runtime.Object) field.ErrorList { return validateIngress(obj.(*networkingv1.Ingress)) },
		ValidateStatus: func(obj, _ runtime.Object) field.ErrorList {
			return validateIngressStatus(&obj.(*networkingv1.Ingress).Status.LoadBalancer)
		},
	}
	ingressTable = &registry.Table{
		Columns: []metav1.TableColumnDefinition{
			registry.NameColumn,
			registry.Column("Class", "string", 0, "The name of the IngressClass resource that should be used for additional configuration"),
			registry.Column("Hosts", "string", 0, "Hosts that incoming requests are matched against before the ingress rule"),
			registry.Column("Address", "string", 0, "Address is a list containing ingress points for the load-balancer"),
			registry.Column("Ports", "string", 0, "Ports of TLS configurations that open"),
			registry.AgeColumn,
		},
		Row: func(obj runtime.Object) []interface{} { return ingressRow(obj.(*networkingv1.Ingress)) },
	}
)

// validateIngress checks the spec and, on create (no resourceVersion yet),
// that the class annotation agrees with ingressClassName.
func validateIngress(ing *networkingv1.Ingress) field.ErrorList {
	errs := validateIngressSpec(&ing.Spec, field.NewPath("spec"))
	class, annotated := ing.Annotations[ingressClassAnnotation]
	if ing.ResourceVersion == "" && annotated && ing.Spec.IngressClassName != nil && class != *ing.Spec.IngressClassName {
		p := field.NewPath("annotations").Child(ingressClassAnnotation)
		errs = append(errs, field.Invalid(p, class, "must match `ingressClassName` when both are specified"))
	}
	return errs
}

func validateIngressSpec(spec *networkingv1.IngressSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(spec.Rules) == 0 && spec.DefaultBackend == nil {
		errs = append(errs, field.Invalid(p, spec.Rules, "either `defaultBackend` or `rules` must be specified"))
	}
	if spec.DefaultBackend != nil {
		errs = append(errs, validateBackend(spec.DefaultBackend, p.Child("defaultBackend"))...)
	}
	for i := range spec.Rules {
		errs = append(errs, validateRule(&spec.Rules[i], p.Child("rules").Index(i))...)
	}
	for i, tls := range spec.TLS {
		tp := p.Child("tls").Index(i)
		for j, host := range tls.Hosts {
			errs = append(errs, validateHost(host, tp.Child("hosts").Index(j))...)
		}
		if tls.SecretName != "" {
			for _, msg := range apivalidation.NameIsDNSSubdomain(tls.SecretName, false) {
				errs = append(errs, field.Invalid(tp.Child("secretName"), tls.SecretName, msg))
			}
		}
	}
	if spec.IngressClassName != nil {
		for _, msg := range apivalidation.NameIsDNSSubdomain(*spec.IngressClassName, false) {
			errs = append(errs, field.Invalid(p.Child("ingressClassName"), *spec.IngressClassName, msg))
		}
	}
	return errs
}

// validateHost accepts DNS names, with a leading "*." label for wildcard
// hosts.
func validateHost(host string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	msgs := content.IsDNS1123Subdomain(host)
	if strings.Contains(host, "*") {
		msgs = validation.IsWildcardDNS1123Subdomain(host)
	}
	for _, msg := range msgs {
		errs = append(errs, field.Invalid(p, host, msg))
	}
	return errs
}

func validateRule(rule *networkingv1.IngressRule, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if rule.Host != "" {
		hp := p.Child("host")
		if netutils.ParseIPSloppy(rule.Host) != nil {
			errs = append(errs, field.Invalid(hp, rule.Host, "must be a DNS name, not an IP address"))
		}
		errs = append(errs, validateHost(rule.Host, hp)...)
	}
	if rule.HTTP == nil {
		return errs
	}
	paths := p.Child("http", "paths")
	if len(rule.HTTP.Paths) == 0 {
		errs = append(errs, field.Required(paths, ""))
	}
	for i := range rule.HTTP.Paths {
		errs = append(errs, validatePath(&rule.HTTP.Paths[i], paths.Index(i))...)
	}
	return errs
}

// validatePath checks a path against its pathType, then its backend.
func validatePath(path *networkingv1.HTTPIngressPath, p *field.Path) field.ErrorList {
	if path.PathType == nil {
		return field.ErrorList{field.Required(p.Child("pathType"), "pathType must be specified")}
	}
	var errs field.ErrorList
	pp := p.Child("path")
	absolute := strings.HasPrefix(path.Path, "/")
	switch *path.PathType {
	case networkingv1.PathTypeExact, networkingv1.PathTypePrefix:
		if !absolute {
			errs = append(errs, field.Invalid(pp, path.Path, "must be an absolute path"))
		}
		for _, seq := range badPathSequences {
			if strings.Contains(path.Path, seq) {
				errs = append(errs, field.Invalid(pp, path.Path, fmt.Sprintf("must not contain '%s'", seq)))
			}
		}
		for _, suffix := range badPathSuffixes {
			if strings.HasSuffix(path.Path, suffix) {
				errs = append(errs, field.Invalid(pp, path.Path, fmt.Sprintf("cannot end with '%s'", suffix)))
			}
		}
	case networkingv1.PathTypeImplementationSpecific:
		if path.Path != "" && !absolute {
			errs = append(errs, field.Invalid(pp, path.Path, "must be an absolute path"))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("pathType"), *path.PathType, pathTypes))
	}
	return append(errs, validateBackend(&path.Backend, p.Child("backend"))...)
}

// validateBackend accepts exactly one of a service (name and port name or
// number) and a typed resource reference.
func validateBackend(b *networkingv1.IngressBackend, p *field.Path) field.ErrorList {
	switch {
	case b.Resource != nil && b.Service != nil:
		return field.ErrorList{field.Invalid(p, "", "cannot set both resource and service backends")}
	case b.Resource != nil:
		return validateTypedReference(b.Resource.APIGroup, b.Resource.Kind, b.Resource.Name, p.Child("resource"))
	case b.Service == nil:
		return field.ErrorList{field.Invalid(p, "", "resource or service backend is required")}
	}
	var errs field.ErrorList
	svc := b.Service
	namePath := p.Child("service", "name")
	if svc.Name == "" {
		errs = append(errs, field.Required(namePath, ""))
	}
	for _, msg := range serviceNameErrs(svc.Name) {
		errs = append(errs, field.Invalid(namePath, svc.Name, msg))
	}
	port := p.Child("service", "port")
	switch {
	case svc.Port.Name != "" && svc.Port.Number != 0:
		errs = append(errs, field.Invalid(p, "", "cannot set both port name & port number"))
	case svc.Port.Name != "":
		for _, msg := range validation.IsValidPortName(svc.Port.Name) {
			errs = append(errs, field.Invalid(port.Child("name"), svc.Port.Name, msg))
		}
	case svc.Port.Number != 0:
		for _, msg := range validation.IsValidPortNum(int(svc.Port.Number)) {
			errs = append(errs, field.Invalid(port.Child("number"), svc.Port.Number, msg))
		}
	default:
		errs = append(errs, field.Required(p, "port name or number is required"))
	}
	return errs
}

// serviceNameErrs checks a non-empty service name (a DNS-1035 label).
func serviceNameErrs(name string) []string {
	if name == "" {
		return nil
	}
	return apivalidation.NameIsDNS1035Label(name, false)
}

// validateTypedReference checks a reference to an object of any kind: the
// group must be a DNS subdomain, kind and name safe path segments.
func validateTypedReference(group *string, kind, name string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if group != nil {
		for _, msg := range content.IsDNS1123Subdomain(*group) {
			errs = append(errs, field.Invalid(p.Child("apiGroup"), *group, msg))
		}
	}
	for _, f := range []struct{ name, value string }{{"kind", kind}, {"name", name}} {
		if f.value == "" {
			errs = append(errs, field.Required(p.Child(f.name), f.name+" is required"))
			continue
		}
		for _, msg := range content.IsPathSegmentName(f.value) {
			errs = append(errs, field.Invalid(p.Child(f.name), f.value, msg))
		}
	}
	return errs
}

// validateIngressStatus checks the addresses a controller reports.
func validateIngressStatus(lb *networkingv1.IngressLoadBalancerStatus) field.ErrorList {
	var errs field.ErrorList
	for i, in := range lb.Ingress {
		p := field.NewPath("status", "loadBalancer", "ingress").Index(i)
		if in.IP != "" {
			errs = append(errs, validation.IsValidIPForLegacyField(p.Child("ip"), in.IP, false, nil)...)
		}
		if in.Hostname != "" {
			hp := p.Child("hostname")
			for _, msg := range content.IsDNS1123Subdomain(in.Hostname) {
				errs = append(errs, field.Invalid(hp, in.Hostname, msg))
			}
			if netutils.ParseIPSloppy(in.Hostname) != nil {
				errs = append(errs, field.Invalid(hp, in.Hostname, "must be a DNS name, not an IP address"))
			}
		}
	}
	return errs
}

// ingressRow prints NAME CLASS HOSTS ADDRESS PORTS AGE; the address is
// printed whole, as the server prints it for kubectl.
func ingressRow(ing *networkingv1.Ingress) []interface{} {
	class := "<none>"
	if ing.Spec.IngressClassName != nil {
		class = *ing.Spec.IngressClassName
	}
	addrs := sets.New[string]()
	for _, in := range ing.Status.LoadBalancer.Ingress {
		if in.IP != "" {
			addrs.Insert(in.IP)
		} else if in.Hostname != "" {
			addrs.Insert(in.Hostname)
		}
	}
	ports := "80"
	if len(ing.Spec.TLS) > 0 {
		ports = "80, 443"
	}
	return []interface{}{ing.Name, class, formatHosts(ing.Spec.Rules), strings.Join(sets.List(addrs), ","), ports, registry.Age(ing.CreationTimestamp)}
}

// formatHosts prints the first three hosts, "+ N more..." when further
// rules follow, and "*" when no rule names a host.
func formatHosts(rules []networkingv1.IngressRule) string {
	var hosts []string
	more := false
	for _, r := range rules {
		if len(hosts) == 3 {
			more = true
			break
		}
		if r.Host != "" {
			hosts = append(hosts, r.Host)
		}
	}
	switch {
	case len(hosts) == 0:
		return "*"
	case more:
		return fmt.Sprintf("%s + %d more...", strings.Join(hosts, ","), len(rules)-3)
	}
	return strings.Join(hosts, ",")
}
