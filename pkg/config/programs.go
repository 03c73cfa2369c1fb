package config

import (
	"debug/buildinfo"
	"fmt"
	"os"
	"path/filepath"
)

// ProgramStatus is what master does with the program of a master.cf service.
type ProgramStatus int

const (
	// ProgramRun: master runs it.
	ProgramRun ProgramStatus = iota
	// ProgramBuiltin: Postern's programs do this Postfix daemon's work themselves; there is
	// nothing to run and nothing is lost.
	ProgramBuiltin
	// ProgramMissing: there is no such executable file; the service is skipped.
	ProgramMissing
	// ProgramPostfix: the file is a Postfix daemon that Postern does not implement (Postfix's
	// own, left in daemon_directory), which cannot work under Postern's master. Skipped.
	ProgramPostfix
)

// builtinPrograms are the Postfix daemons whose work Postern's programs do in process.
var builtinPrograms = setOf(
	"anvil",           // smtpd counts client connections and rates itself
	"proxymap",        // programs open their tables themselves ("proxy:" is dropped)
	"scache",          // smtp keeps its own connection cache
	"tlsmgr",          // each program seeds and caches its own TLS
	"trivial-rewrite", // cleanup, qmgr and smtpd rewrite and resolve addresses themselves
)

// postfixDaemons are the programs of Postfix 3.7's daemon_directory.
var postfixDaemons = setOf("anvil", "bounce", "cleanup", "discard", "dnsblog", "error", "flush",
	"lmtp", "local", "master", "nqmgr", "oqmgr", "pickup", "pipe", "postlogd", "postscreen",
	"proxymap", "qmgr", "qmqpd", "scache", "showq", "smtp", "smtpd", "spawn", "tlsmgr",
	"tlsproxy", "trivial-rewrite", "verify", "virtual")

// Program returns the path of s's program (relative commands are in daemonDir) and what
// master does with it. The "error" service is qmgr's: it fails error: routes itself.
func (s Service) Program(daemonDir string) (string, ProgramStatus) {
	path := s.Command
	if !filepath.IsAbs(path) {
		path = filepath.Join(daemonDir, path)
	}
	base := filepath.Base(s.Command)
	if builtinPrograms[base] || base == "error" && s.Name == "error" {
		return path, ProgramBuiltin
	}
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0111 == 0 {
		return path, ProgramMissing
	}
	if postfixDaemons[base] && !posternProgram(path) {
		return path, ProgramPostfix
	}
	return path, ProgramRun
}

// posternProgram tells whether the executable at path was built from this module.
func posternProgram(path string) bool {
	bi, err := buildinfo.ReadFile(path)
	return err == nil && bi.Main.Path == "postern"
}

// ProgramWarning is the warning about a service whose program master does not run ("" when
// there is none to give). configDir names master.cf's directory.
func ProgramWarning(configDir string, s Service, path string, st ProgramStatus) string {
	where := fmt.Sprintf("%s line %d: service %s", filepath.Join(configDir, "master.cf"), s.Line, s.Name)
	switch st {
	case ProgramMissing:
		return fmt.Sprintf("%s: program %s not found -- skipped", where, path)
	case ProgramPostfix:
		return fmt.Sprintf("%s: program %s is Postfix's: Postern does not implement %s -- skipped", where, path, filepath.Base(s.Command))
	}
	return ""
}

// unavailablePrograms warns about the services whose program master does not run.
func unavailablePrograms(c *Config, svcs []Service) []string {
	var out []string
	dir := c.Get("daemon_directory")
	for _, s := range svcs {
		path, st := s.Program(dir)
		if w := ProgramWarning(c.Dir(), s, path, st); w != "" {
			out = append(out, w)
		}
	}
	return out
}
