package apiserver

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the API server's Prometheus metrics, named as Kubernetes'.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inflight *prometheus.GaugeVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "apiserver_request_total",
			Help: "Counter of apiserver requests broken out for each verb, group, version, resource, subresource and HTTP response code.",
		}, []string{"verb", "group", "version", "resource", "subresource", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "apiserver_request_duration_seconds",
			Help:    "Response latency distribution in seconds for each verb, group, version, resource and subresource.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"verb", "group", "version", "resource", "subresource"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "apiserver_current_inflight_requests",
			Help: "Number of requests being served, by kind (watches are long-running).",
		}, []string{"request_kind"}),
	}
	reg.MustRegister(m.requests, m.latency, m.inflight)
	// A shared registry may already hold the process collectors.
	_ = reg.Register(collectors.NewGoCollector())
	_ = reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// labels of one request, filled in by the resource handler.
type requestLabels struct {
	verb, group, version, resource, subresource string
}

type labelsKey struct{}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) withMetrics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		lbl := &requestLabels{verb: r.Method}
		rec := &statusRecorder{ResponseWriter: w}
		kind := "readOnly"
		if r.Method != http.MethodGet {
			kind = "mutating"
		}
		s.metrics.inflight.WithLabelValues(kind).Inc()
		defer s.metrics.inflight.WithLabelValues(kind).Dec()
		next.ServeHTTP(rec, r.WithContext(contextWithLabels(r.Context(), lbl)))
		code := rec.code
		if code == 0 {
			code = http.StatusOK
		}
		s.metrics.requests.WithLabelValues(lbl.verb, lbl.group, lbl.version, lbl.resource, lbl.subresource, strconv.Itoa(code)).Inc()
		if lbl.verb != "WATCH" {
			s.metrics.latency.WithLabelValues(lbl.verb, lbl.group, lbl.version, lbl.resource, lbl.subresource).Observe(time.Since(start).Seconds())
		}
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "query", r.URL.RawQuery, "accept", r.Header.Get("Accept"), "code", code, "duration", time.Since(start))
	})
}

func contextWithLabels(ctx context.Context, l *requestLabels) context.Context {
	return context.WithValue(ctx, labelsKey{}, l)
}

// setRequestLabels records what a resource request was for the metrics.
func setRequestLabels(r *http.Request, ri requestInfo) {
	if l, ok := r.Context().Value(labelsKey{}).(*requestLabels); ok {
		l.verb, l.group, l.version, l.resource, l.subresource = stringsToUpper(ri.Verb), ri.Group, ri.Version, ri.Resource, ri.Subresource
	}
}

func stringsToUpper(s string) string { return strings.ToUpper(s) }
