// Package metrics holds the Bridge's Prometheus collectors (SPEC §12) on a
// registry of its own (no global state, so several Bridges can live in one
// process, as in tests and `stk dev`): /call counts and latency by op and
// status, bundle loads and ages, and database pool states.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/santokit/santokit/packages/bridge/internal/bundles"
	"github.com/santokit/santokit/packages/bridge/internal/dbpool"
)

// Metrics is the set of Bridge metrics.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	bundleLoads *prometheus.CounterVec
	overBudget  prometheus.Counter
	// calls caches the children of requests and duration per (op,
	// status): WithLabelValues hashes the label values and formats the
	// status on every call, ObserveCall on the /call path does neither.
	// The set is small and bounded (six ops, a few statuses).
	calls sync.Map // callKey → *callSeries
}

type callKey struct {
	op     string
	status int
}

type callSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// New registers the collectors. ages and pools are read at scrape time.
func New(ages func() []bundles.Age, pools func() []dbpool.Stat) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "stk_bridge_requests_total",
		Help: "POST /call requests by op (select, insert, update, delete, logic, or none when the path did not parse) and HTTP status.",
	}, []string{"op", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "stk_bridge_request_duration_seconds",
		Help: "POST /call latency by op and HTTP status (SPEC §12): a slow 504 and a fast 200 are different stories.",
		// Millisecond steps up to 5 ms, where latency objectives for a
		// lookup usually sit: between 2.5 and 5 ms (and 5 and 10 ms) a
		// quantile would otherwise be a straight-line guess.
		Buckets: []float64{.0005, .001, .002, .0025, .003, .004, .005, .0075, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"op", "status"})
	m.bundleLoads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "stk_bridge_bundle_loads_total",
		Help: "Bundle fetches from the Hub by result: ok (a new bundle compiled), not_modified, error.",
	}, []string{"result"})
	m.overBudget = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "stk_bridge_lookups_over_budget_total",
		Help: "Requests refused (503) because the budget of Hub lookups for envs and API key ids not seen before was spent: a flood of made-up names, or a cold start in front of many envs.",
	})
	m.reg.MustRegister(m.requests, m.duration, m.bundleLoads, m.overBudget,
		&scrape{ages: ages, pools: pools},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Registry is the registry, for tests and embedding.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveCall records one /call.
func (m *Metrics) ObserveCall(op string, status int, d time.Duration) {
	k := callKey{op, status}
	v, ok := m.calls.Load(k)
	if !ok {
		code := strconv.Itoa(status)
		v, _ = m.calls.LoadOrStore(k, &callSeries{
			count:    m.requests.WithLabelValues(op, code),
			duration: m.duration.WithLabelValues(op, code),
		})
	}
	s := v.(*callSeries)
	s.count.Inc()
	s.duration.Observe(d.Seconds())
}

// OverBudget records a lookup refused beyond the budget.
func (m *Metrics) OverBudget() { m.overBudget.Inc() }

// BundleLoad records one bundle fetch.
func (m *Metrics) BundleLoad(result string) { m.bundleLoads.WithLabelValues(result).Inc() }

var (
	ageDesc = prometheus.NewDesc("stk_bridge_bundle_age_seconds",
		"Seconds since the Hub last confirmed the cached bundle of an env (200 or 304).",
		[]string{"project", "env"}, nil)
	revDesc = prometheus.NewDesc("stk_bridge_bundle_revision",
		"Revision of the cached bundle of an env.", []string{"project", "env"}, nil)
	poolMaxDesc = prometheus.NewDesc("stk_bridge_db_pool_max_connections",
		"Connection limit of a database pool.", []string{"project", "env", "connection", "engine"}, nil)
	poolInUseDesc = prometheus.NewDesc("stk_bridge_db_pool_connections_in_use",
		"Connections of a database pool in use.", []string{"project", "env", "connection", "engine"}, nil)
	poolIdleDesc = prometheus.NewDesc("stk_bridge_db_pool_connections_idle",
		"Idle connections of a database pool.", []string{"project", "env", "connection", "engine"}, nil)
	pipelinesDesc = prometheus.NewDesc("stk_bridge_db_pipelines_total",
		"Pipelines of single read statements sent on a PostgreSQL pool (reset when the pool is replaced).",
		[]string{"project", "env", "connection"}, nil)
	pipelinedDesc = prometheus.NewDesc("stk_bridge_db_pipelined_statements_total",
		"Statements those pipelines carried: divided by stk_bridge_db_pipelines_total, the mean pipeline length.",
		[]string{"project", "env", "connection"}, nil)
)

// scrape reports cache and pool state as it is at scrape time.
type scrape struct {
	ages  func() []bundles.Age
	pools func() []dbpool.Stat
}

func (s *scrape) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{ageDesc, revDesc, poolMaxDesc, poolInUseDesc, poolIdleDesc, pipelinesDesc, pipelinedDesc} {
		ch <- d
	}
}

func (s *scrape) Collect(ch chan<- prometheus.Metric) {
	for _, a := range s.ages() {
		ch <- prometheus.MustNewConstMetric(ageDesc, prometheus.GaugeValue, a.Age.Seconds(), a.Project, a.Env)
		ch <- prometheus.MustNewConstMetric(revDesc, prometheus.GaugeValue, float64(a.Revision), a.Project, a.Env)
	}
	for _, p := range s.pools() {
		l := []string{p.Key.Project, p.Key.Env, p.Key.Connection, p.Engine}
		ch <- prometheus.MustNewConstMetric(poolMaxDesc, prometheus.GaugeValue, float64(p.Max), l...)
		ch <- prometheus.MustNewConstMetric(poolInUseDesc, prometheus.GaugeValue, float64(p.InUse), l...)
		ch <- prometheus.MustNewConstMetric(poolIdleDesc, prometheus.GaugeValue, float64(p.Idle), l...)
		if p.Engine == dbpool.Postgres {
			ch <- prometheus.MustNewConstMetric(pipelinesDesc, prometheus.CounterValue, float64(p.Pipelines), l[:3]...)
			ch <- prometheus.MustNewConstMetric(pipelinedDesc, prometheus.CounterValue, float64(p.PipelinedStatements), l[:3]...)
		}
	}
}
