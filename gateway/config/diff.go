package config

import (
	"slices"
)

// Changes says what differs between two snapshots, so whoever applies a
// reload touches only what changed: the plugin host rebuilds the pools of
// changed plugins only, and a changed data_dir or admin.listen can be
// refused as needing a restart.
type Changes struct {
	DataDir    bool // data_dir
	Admin      bool // the admin section
	Log        bool // the log section
	Runtime    bool // the runtime section
	Store      bool // the store section
	Approvals  bool // the approvals section
	Identities bool // identities, order included
	Targets    bool // targets, order included

	// Plugins by name, each sorted. The order of the plugins list is not a
	// change: targets order their chains.
	AddedPlugins   []string
	RemovedPlugins []string
	ChangedPlugins []string // same name, different entry (see Plugin.Equal)
}

// Diff compares c (the running snapshot) with newer.
func (c *Config) Diff(newer *Config) Changes {
	ch := Changes{
		DataDir:    c.dataDir != newer.dataDir,
		Admin:      c.admin != newer.admin,
		Log:        c.log != newer.log,
		Runtime:    c.runtime != newer.runtime,
		Store:      c.store != newer.store,
		Approvals:  !c.approvals.equal(newer.approvals),
		Identities: !slices.EqualFunc(c.identities, newer.identities, Identity.equal),
		Targets:    !slices.EqualFunc(c.targets, newer.targets, Target.equal),
	}
	for _, p := range c.plugins {
		q, ok := newer.Plugin(p.Name)
		switch {
		case !ok:
			ch.RemovedPlugins = append(ch.RemovedPlugins, p.Name)
		case !p.Equal(q):
			ch.ChangedPlugins = append(ch.ChangedPlugins, p.Name)
		}
	}
	for _, q := range newer.plugins {
		if _, ok := c.Plugin(q.Name); !ok {
			ch.AddedPlugins = append(ch.AddedPlugins, q.Name)
		}
	}
	slices.Sort(ch.AddedPlugins)
	slices.Sort(ch.RemovedPlugins)
	slices.Sort(ch.ChangedPlugins)
	return ch
}

// PluginsEqual reports whether the plugins section of c and o is the same
// set of equal entries, in any order.
func (c *Config) PluginsEqual(o *Config) bool { return !c.Diff(o).Plugins() }

// Plugins reports whether any plugin was added, removed or changed.
func (ch Changes) Plugins() bool {
	return len(ch.AddedPlugins)+len(ch.RemovedPlugins)+len(ch.ChangedPlugins) > 0
}

// Sections names the top-level keys that changed, in file order, for logs.
func (ch Changes) Sections() []string {
	var s []string
	for _, c := range []struct {
		changed bool
		name    string
	}{
		{ch.DataDir, "data_dir"},
		{ch.Admin, "admin"},
		{ch.Log, "log"},
		{ch.Runtime, "runtime"},
		{ch.Store, "store"},
		{ch.Approvals, "approvals"},
		{ch.Identities, "identities"},
		{ch.Plugins(), "plugins"},
		{ch.Targets, "targets"},
	} {
		if c.changed {
			s = append(s, c.name)
		}
	}
	return s
}

// None reports whether nothing changed.
func (ch Changes) None() bool { return len(ch.Sections()) == 0 }
