//go:build !wasip1

package sluice

import "os"

var levelNames = [...]string{LogDebug: "debug", LogInfo: "info", LogWarn: "warn", LogError: "error"}

// defaultLogSink writes to standard error in native builds (tests, tools).
func defaultLogSink(level LogLevel, msg string) {
	name := "level " + itoa(int(level))
	if level >= 0 && int(level) < len(levelNames) {
		name = levelNames[level]
	}
	os.Stderr.WriteString("sluice plugin " + name + ": " + msg + "\n")
}
