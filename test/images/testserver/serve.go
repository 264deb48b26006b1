package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// defaultUnhealthyFile makes /healthz fail while it exists ($UNHEALTHY_FILE
// names another).
const defaultUnhealthyFile = "/tmp/unhealthy"

// server is the HTTP side of testserver.
type server struct {
	failing       atomic.Bool
	exit          chan int
	unhealthyFile string
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	port := fs.String("port", "", "port to listen on (default $PORT or 8080)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *port == "" {
		*port = os.Getenv("PORT")
	}
	if *port == "" {
		*port = "8080"
	}
	s := &server{exit: make(chan int, 1), unhealthyFile: os.Getenv("UNHEALTHY_FILE")}
	if s.unhealthyFile == "" {
		s.unhealthyFile = defaultUnhealthyFile
	}
	srv := &http.Server{Addr: ":" + *port, Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	l, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	fmt.Printf("listening on %s\n", l.Addr())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	code := 0
	select {
	case err := <-errc:
		return err
	case sig := <-sigs:
		fmt.Printf("%v, shutting down\n", sig)
	case code = <-s.exit:
		fmt.Printf("exiting with %d as asked\n", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "shutdown:", err)
	}
	os.Exit(code)
	return nil
}

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", s.echo)
	mux.HandleFunc("/healthz", s.healthz)
	mux.HandleFunc("/fail", func(w http.ResponseWriter, _ *http.Request) {
		s.failing.Store(true)
		fmt.Fprintln(w, "failing")
	})
	mux.HandleFunc("/recover", func(w http.ResponseWriter, _ *http.Request) {
		s.failing.Store(false)
		fmt.Fprintln(w, "recovered")
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		printEnv(w)
	})
	mux.HandleFunc("/file", file)
	mux.HandleFunc("/exit", s.exitHandler)
	return mux
}

func (s *server) echo(w http.ResponseWriter, r *http.Request) {
	host, _ := os.Hostname()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"hostname":   host,
		"remoteAddr": r.RemoteAddr,
		"method":     r.Method,
		"path":       r.URL.Path,
		"headers":    r.Header,
	})
}

func (s *server) healthz(w http.ResponseWriter, _ *http.Request) {
	if s.failing.Load() {
		http.Error(w, "failing (see /recover)", http.StatusInternalServerError)
		return
	}
	if _, err := os.Stat(s.unhealthyFile); err == nil {
		http.Error(w, s.unhealthyFile+" exists", http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "ok")
}

func file(w http.ResponseWriter, r *http.Request) {
	b, err := os.ReadFile(r.URL.Query().Get("path"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(b)
}

func (s *server) exitHandler(w http.ResponseWriter, r *http.Request) {
	code, err := strconv.Atoi(r.URL.Query().Get("code"))
	if err != nil {
		http.Error(w, "code: "+err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "exiting with %d\n", code)
	select {
	case s.exit <- code:
	default:
	}
}
