package sluice

// logSink is where Log writes: the host's sluice_v1.log import in a wasm
// module (log_wasip1.go), standard error in native builds (log_other.go).
var logSink = defaultLogSink

// Log sends one line to the host's log at level (LogDebug .. LogError).
// The host rate-limits plugin logs and counts the lines it drops, so do not
// log per record. Log itself allocates nothing; building msg may.
func Log(level LogLevel, msg string) { logSink(level, msg) }

// Debug logs msg at LogDebug.
func Debug(msg string) { logSink(LogDebug, msg) }

// Info logs msg at LogInfo.
func Info(msg string) { logSink(LogInfo, msg) }

// Warn logs msg at LogWarn.
func Warn(msg string) { logSink(LogWarn, msg) }

// Error logs msg at LogError.
func Error(msg string) { logSink(LogError, msg) }

// SetLogger makes fn receive every Log line instead of the default sink
// and returns the previous one, so a native test can capture what a plugin
// logs and restore it after. nil restores the default sink.
func SetLogger(fn func(level LogLevel, msg string)) (previous func(level LogLevel, msg string)) {
	previous = logSink
	if fn == nil {
		fn = defaultLogSink
	}
	logSink = fn
	return previous
}
