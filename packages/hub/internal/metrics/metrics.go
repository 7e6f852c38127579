// Package metrics holds the Hub's Prometheus collectors (SPEC §12) on a
// registry of its own (no global state: tests and `stk dev` run several
// Hubs in one process): requests and their latency by route and status,
// the store's connection pool, the Bridges' bundle long polls waiting, and
// failed logins. Routes are ServeMux patterns, never raw paths, so the
// label sets stay as small as the route table whatever clients send.
package metrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/santokit/santokit/packages/core/httpserve"
)

// Unmatched is the route label of a request no route matched.
const Unmatched = "unmatched"

// Login failure reasons.
const (
	LoginBadCredentials = "bad_credentials" // wrong password, unknown or disabled account
	LoginRateLimited    = "rate_limited"    // refused by the failed-login limit
)

// Metrics is the set of Hub metrics.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	waiters  prometheus.Gauge
	logins   *prometheus.CounterVec
}

// New registers the collectors; pool is read at scrape time.
func New(pool func() sql.DBStats) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "stk_hub_requests_total",
		Help: `Hub requests by route (the route pattern, such as "GET /v1/projects/{p}"; "unmatched" for none) and HTTP status.`,
	}, []string{"route", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "stk_hub_request_duration_seconds",
		Help:    "Hub request latency by route and HTTP status; bundle long polls last up to their ?wait=.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"route", "status"})
	m.waiters = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "stk_hub_bundle_waiters",
		Help: "Bundle long polls waiting for a change of their env (about one per env in use per Bridge).",
	})
	m.logins = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "stk_hub_login_failures_total",
		Help: "Failed operator logins by reason: bad_credentials, rate_limited.",
	}, []string{"reason"})
	// Both reasons from the start, so that a rate of zero is a series.
	m.logins.WithLabelValues(LoginBadCredentials)
	m.logins.WithLabelValues(LoginRateLimited)
	m.reg.MustRegister(m.requests, m.duration, m.waiters, m.logins, &poolCollector{stats: pool},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// Registry is the registry, for tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Observe wraps next, counting each request under the pattern of the mux
// route it matches. The pattern is looked up before next runs: net/http
// sets Request.Pattern on the copy of the request that reaches the mux,
// not on the one seen here.
func (m *Metrics) Observe(mux *http.ServeMux, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// Every Hub route is registered with its method ("GET /v1/…");
		// anything else ServeMux names (the target path of a CONNECT
		// redirect) is a client's path, never a label.
		route := Unmatched
		if _, p := mux.Handler(r); strings.Contains(p, " /") {
			route = p
		}
		sw := &httpserve.StatusWriter{ResponseWriter: w}
		defer func() {
			status := strconv.Itoa(max(sw.Status, http.StatusOK))
			m.requests.WithLabelValues(route, status).Inc()
			m.duration.WithLabelValues(route, status).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(sw, r)
	})
}

// Waiting counts a bundle long poll until the returned func is called.
func (m *Metrics) Waiting() (done func()) {
	m.waiters.Inc()
	return m.waiters.Dec
}

// LoginFailed counts a failed login.
func (m *Metrics) LoginFailed(reason string) { m.logins.WithLabelValues(reason).Inc() }

var (
	poolOpenDesc = prometheus.NewDesc("stk_hub_store_connections",
		"Connections of the Hub store's pool by state (in_use, idle).", []string{"state"}, nil)
	poolMaxDesc = prometheus.NewDesc("stk_hub_store_max_connections",
		"Connection limit of the Hub store's pool (0: none).", nil, nil)
	poolWaitDesc = prometheus.NewDesc("stk_hub_store_waits_total",
		"Times a store query waited for a free connection.", nil, nil)
	poolWaitSecondsDesc = prometheus.NewDesc("stk_hub_store_wait_seconds_total",
		"Time store queries spent waiting for a free connection.", nil, nil)
)

// poolCollector reports the store's pool as it is at scrape time.
type poolCollector struct{ stats func() sql.DBStats }

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolOpenDesc, poolMaxDesc, poolWaitDesc, poolWaitSecondsDesc} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(poolOpenDesc, prometheus.GaugeValue, float64(s.InUse), "in_use")
	ch <- prometheus.MustNewConstMetric(poolOpenDesc, prometheus.GaugeValue, float64(s.Idle), "idle")
	ch <- prometheus.MustNewConstMetric(poolMaxDesc, prometheus.GaugeValue, float64(s.MaxOpenConnections))
	ch <- prometheus.MustNewConstMetric(poolWaitDesc, prometheus.CounterValue, float64(s.WaitCount))
	ch <- prometheus.MustNewConstMetric(poolWaitSecondsDesc, prometheus.CounterValue, s.WaitDuration.Seconds())
}
