package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"postern/pkg/config"
	"postern/pkg/getopt"
)

const usage = "usage: postmulti -l | -p | -x [-v] [-a] [-g group] [-i instance] [command...]"

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "postmulti: fatal: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	var mode byte
	all, name, group := false, "", ""
	args := os.Args[1:]
	args, err := getopt.Parse(args, "lpxavi:g:e", func(c byte, v string) error {
		switch c {
		case 'l', 'p', 'x':
			if mode != 0 && mode != c {
				fatal("%s", usage)
			}
			mode = c
		case 'a':
			all = true
		case 'i':
			name = v
		case 'g':
			group = v
		case 'e':
			fatal("instance management (-e) is not supported by Postern")
		}
		return nil
	})
	if err != nil {
		fatal("%s", usage)
	}
	if mode == 0 {
		fatal("%s", usage)
	}
	dir := config.Dir("")
	cfg, err := config.Load(dir)
	if err != nil {
		fatal("%v", err)
	}
	if len(cfg.List("multi_instance_directories")) > 0 {
		fmt.Fprintf(os.Stderr, "postmulti: warning: multi_instance_directories is set; Postern runs only the default instance\n")
	}
	// The default instance has name "-" and no group.
	selected := all || (name == "" && group == "") || name == "-" ||
		(name != "" && filepath.Clean(name) == filepath.Clean(dir))
	if group != "" && group != "-" {
		selected = false
	}
	if !selected {
		fatal("No matching instances")
	}
	switch mode {
	case 'l':
		fmt.Printf("%-15s %-15s %-9s %s\n", "-", "-", "y", dir)
	case 'p':
		if len(args) == 0 {
			fatal("%s", usage)
		}
		postfix := filepath.Join(cfg.Get("command_directory"), "postfix")
		os.Exit(run(postfix, append([]string{"-c", dir}, args...), dir, cfg))
	case 'x':
		if len(args) == 0 {
			fatal("%s", usage)
		}
		os.Exit(run(args[0], args[1:], dir, cfg))
	}
}

// run runs a command for the instance with Postfix's instance environment.
func run(prog string, args []string, dir string, cfg *config.Config) int {
	c := exec.Command(prog, args...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	c.Env = append(os.Environ(),
		"MAIL_CONFIG="+dir,
		"config_directory="+dir,
		"command_directory="+cfg.Get("command_directory"),
		"daemon_directory="+cfg.Get("daemon_directory"),
		"queue_directory="+cfg.Get("queue_directory"),
		"data_directory="+cfg.Get("data_directory"),
		"multi_instance_name=",
		"multi_instance_group=",
		"multi_instance_enable=y",
	)
	err := c.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ee.ExitCode() < 0 {
			return 1
		}
		return ee.ExitCode()
	}
	fmt.Fprintf(os.Stderr, "postmulti: fatal: %s: %v\n", prog, err)
	return 1
}
