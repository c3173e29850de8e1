package telemetry

import (
	"fmt"
	"io"
	"log/slog"
)

// Log levels and formats accepted by [NewLogger]. They are the values of
// the log.level and log.format config keys.
const (
	LevelDebug = "debug"
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"

	FormatText = "text"
	FormatJSON = "json"
)

// ParseLevel maps a log.level value to its slog level. It is exported so a
// caller that wants to change the level of a running logger can keep a
// [slog.LevelVar] of its own.
func ParseLevel(level string) (slog.Level, error) {
	switch level {
	case LevelDebug:
		return slog.LevelDebug, nil
	case LevelInfo:
		return slog.LevelInfo, nil
	case LevelWarn:
		return slog.LevelWarn, nil
	case LevelError:
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q: want debug, info, warn or error", level)
}

// NewLogger returns a logger that writes records at or above level to w,
// as logfmt-style text (format "text") or one JSON object per line
// (format "json").
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case FormatText:
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case FormatJSON:
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("unknown log format %q: want text or json", format)
}
