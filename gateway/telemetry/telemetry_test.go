package telemetry

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, LevelWarn, FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("dropped")
	log.Warn("kept", "k", "v")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("json output %q: %v", buf.String(), err)
	}
	if rec["msg"] != "kept" || rec["k"] != "v" {
		t.Errorf("record = %v", rec)
	}

	buf.Reset()
	log, err = NewLogger(&buf, LevelDebug, FormatText)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("hello")
	if !strings.Contains(buf.String(), "level=DEBUG msg=hello") {
		t.Errorf("text output = %q", buf.String())
	}
}

func TestNewLoggerErrors(t *testing.T) {
	for _, tc := range []struct{ level, format, want string }{
		{"verbose", "text", `unknown log level "verbose": want debug, info, warn or error`},
		{"INFO", "text", `unknown log level "INFO": want debug, info, warn or error`},
		{"info", "yaml", `unknown log format "yaml": want text or json`},
	} {
		_, err := NewLogger(io.Discard, tc.level, tc.format)
		if err == nil || err.Error() != tc.want {
			t.Errorf("NewLogger(%q, %q) error = %v, want %q", tc.level, tc.format, err, tc.want)
		}
	}
}

func TestMetricsGather(t *testing.T) {
	m := NewMetrics()
	// Vectors only appear in Gather once a child exists.
	m.PluginCalls.WithLabelValues("pii-mask", "records").Inc()
	m.PluginErrors.WithLabelValues("pii-mask", "records", KindTrap).Inc()
	m.PluginTimeouts.WithLabelValues("pii-mask").Inc()
	m.PluginCallDuration.WithLabelValues("pii-mask", "records").Observe(42e-6)
	m.PluginReloads.WithLabelValues("pii-mask", ResultOK).Inc()
	m.BreakerOpen.WithLabelValues("pii-mask").Set(1)
	m.ConfigReloads.WithLabelValues(ResultError).Inc()

	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range families {
		names = append(names, f.GetName())
	}
	for _, want := range []string{
		MetricPluginCalls, MetricPluginErrors, MetricPluginTimeouts,
		MetricPluginCallDuration, MetricPluginReloads, MetricBreakerOpen,
		MetricConfigReloads,
		"go_goroutines", // Go collector
	} {
		if !slices.Contains(names, want) {
			t.Errorf("gathered metrics lack %s; have %v", want, names)
		}
	}
	for _, n := range names {
		if !strings.HasPrefix(n, "sluice_") && !strings.HasPrefix(n, "go_") && !strings.HasPrefix(n, "process_") {
			t.Errorf("unexpected metric %s", n)
		}
	}
}

func TestConfigReloadsReusable(t *testing.T) {
	m := NewMetrics()
	err := m.Registry.Register(NewConfigReloads())
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Fatalf("second registration: %v, want AlreadyRegisteredError", err)
	}
	if are.ExistingCollector != m.ConfigReloads {
		t.Error("existing collector is not Metrics.ConfigReloads")
	}
}

func TestHandler(t *testing.T) {
	m := NewMetrics()
	m.PluginCalls.WithLabelValues("p", "h").Add(3)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	if body := rec.Body.String(); !strings.Contains(body, `sluice_plugin_calls_total{hook="h",plugin="p"} 3`) {
		t.Errorf("body lacks the counter:\n%s", body)
	}
	// A second handler on the same registry must not panic on the
	// promhttp error counter it registers.
	m.Handler()
}
