package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/auth"
)

type ctxKey int

const userKey ctxKey = iota

// publicPaths answer without credentials, as Kubernetes'
// system:public-info-viewer allows.
func isPublic(path string) bool {
	switch {
	case path == "/healthz", path == "/livez", path == "/readyz", path == "/version":
		return true
	case strings.HasPrefix(path, "/healthz/"), strings.HasPrefix(path, "/livez/"), strings.HasPrefix(path, "/readyz/"):
		return true
	}
	return false
}

func (s *Server) buildChain() http.Handler {
	var h http.Handler = http.HandlerFunc(s.route)
	h = s.withAuthentication(h)
	h = s.withMetrics(h)
	h = s.withRecovery(h)
	return h
}

func (s *Server) withRecovery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				s.writeError(w, r, apierrors.NewInternalError(fmt.Errorf("%v", v)))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) withAuthentication(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := s.cfg.PublicHandlers[r.URL.Path]; ok {
			h.ServeHTTP(w, r)
			return
		}
		var user *auth.User
		var err error
		if s.cfg.Authenticator != nil {
			user, err = s.cfg.Authenticator.Authenticate(r)
		} else {
			user = &auth.User{Name: "system:anonymous", Groups: []string{auth.GroupMasters}}
		}
		if err != nil || (user == nil && !isPublic(r.URL.Path)) {
			s.writeError(w, r, unauthorized())
			return
		}
		if user != nil {
			r = r.WithContext(context.WithValue(r.Context(), userKey, user))
		}
		next.ServeHTTP(w, r)
	})
}

// route dispatches to the non-resource endpoints, discovery and resources.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/healthz" || p == "/livez" || p == "/readyz" || strings.HasPrefix(p, "/healthz/") ||
		strings.HasPrefix(p, "/livez/") || strings.HasPrefix(p, "/readyz/"):
		s.serveHealth(w, r)
	case p == "/version":
		s.writeJSON(w, http.StatusOK, s.cfg.Version)
	case p == "/metrics":
		s.metrics.handler().ServeHTTP(w, r)
	case strings.HasPrefix(p, "/debug/pprof"):
		servePprof(w, r)
	case strings.HasPrefix(p, "/openapi/"):
		s.openapi.ServeHTTP(w, r)
	case p == "/":
		s.writeJSON(w, http.StatusOK, metav1.RootPaths{Paths: s.discovery.rootPaths()})
	default:
		if s.serveDiscovery(w, r) {
			return
		}
		s.serveResource(w, r)
	}
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	check := "ping"
	err := error(nil)
	if strings.HasPrefix(r.URL.Path, "/readyz") || strings.HasSuffix(r.URL.Path, "/etcd") {
		check = "etcd"
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if s.cfg.Ready != nil {
			err = s.cfg.Ready(ctx)
		} else {
			_, err = s.cfg.Store.Revision(ctx)
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "[-]%s failed: reason withheld\nhealthz check failed\n", check)
		return
	}
	if _, verbose := r.URL.Query()["verbose"]; verbose {
		fmt.Fprintf(w, "[+]ping ok\n[+]%s ok\nhealthz check passed\n", check)
		return
	}
	fmt.Fprint(w, "ok")
}

func (s *Server) writeJSON(w http.ResponseWriter, code int, v interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", mediaJSON)
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// writeError writes err as a metav1.Status in the form the client accepts.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	se := toStatusError(err, nil, "")
	status := se.Status()
	status.Kind, status.APIVersion = "Status", "v1"
	if status.Code == 0 {
		status.Code = http.StatusInternalServerError
	}
	if status.Code >= 500 && status.Reason != metav1.StatusReasonTimeout {
		s.log.Warn("request failed", "method", r.Method, "path", r.URL.Path, "code", status.Code, "err", status.Message)
	}
	info, ok := serializerFor(s.codecs, mediaJSON)
	if choice, err := negotiate(r, s.codecs); err == nil && choice.info.MediaType == mediaProtobuf {
		info, ok = choice.info, true
	}
	if !ok {
		s.writeJSON(w, int(status.Code), status)
		return
	}
	s.writeObjectWith(w, int(status.Code), info, &status)
}

// writeObjectWith encodes obj (with its kind set) using info.
func (s *Server) writeObjectWith(w http.ResponseWriter, code int, info runtime.SerializerInfo, obj runtime.Object) {
	w.Header().Set("Content-Type", info.MediaType)
	w.WriteHeader(code)
	if err := info.Serializer.Encode(obj, w); err != nil {
		s.log.Debug("write response", "err", err)
	}
}
