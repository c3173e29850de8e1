package store

import (
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// TestInjectedFaults uses Pebble's error-injecting filesystem: a store
// that cannot create its files fails to open with an error, and read
// errors surface as errors from the queries, never as a crash.
func TestInjectedFaults(t *testing.T) {
	// Nothing can be written: Open fails cleanly.
	fs := errorfs.Wrap(vfs.NewMem(), errorfs.ErrInjected.If(errorfs.Writes))
	if _, err := Open("db", Options{FS: fs, MinFreeBytes: -1}); err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("open on a filesystem that refuses creates: %v", err)
	}

	// Reads fail after the data is on "disk" (flushed to sstables).
	toggle := &errorfs.Toggle{Injector: errorfs.ErrInjected.If(errorfs.Reads)}
	mem := vfs.NewMem()
	s, err := Open("db", Options{FS: errorfs.Wrap(mem, toggle), MinFreeBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		toggle.Off()
		s.Close()
	}()
	id := record(t, s, 50)
	if err := s.db.Flush(); err != nil {
		t.Fatal(err)
	}
	// Drop cached blocks: reopen the store on the same files.
	toggle.Off()
	s.Close()
	s, err = Open("db", Options{FS: errorfs.Wrap(mem, toggle), MinFreeBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	toggle.On()
	_, errSession := s.Session(id)
	errEvents := s.Events(id, 1, func(Event) error { return nil })
	if errSession == nil && errEvents == nil {
		t.Fatal("reads on a failing disk reported no error")
	}
	toggle.Off()
	if v, err := s.Verify(id); err != nil || !v.OK {
		t.Fatalf("after the fault: %+v %v", v, err)
	}
}
