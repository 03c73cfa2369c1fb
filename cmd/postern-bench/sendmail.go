package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// runSendmail is the sendmail workload: o.sendmails submissions, one after the other, each
// a fresh "sendmail -f bench@example.org RCPT" process fed a message of o.size bytes, as a
// script or cron job runs it. The time of one submission is from process start to its exit
// 0 (postdrop has then fsync'd the maildrop file); delivered/s runs from the first
// submission to the last delivery.
func runSendmail(o *options, tg *target) error {
	if tg.configDir == "" {
		fmt.Println("sendmail workload: skipped (needs an instance of its own, not -addr)")
		return nil
	}
	base := tg.delivered()
	body := strings.ReplaceAll(message(0, o.size), "\r\n", "\n")
	path := filepath.Join(tg.binDir, "sendmail")
	env := append(os.Environ(), "MAIL_CONFIG="+tg.configDir)
	lat := make([]time.Duration, 0, o.sendmails)
	start := time.Now()
	for i := 0; i < o.sendmails; i++ {
		cmd := exec.Command(path, "-f", "bench@example.org", tg.rcpt)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(body)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("sendmail submission %d: %v: %s", i+1, err, out.String())
		}
		lat = append(lat, time.Since(t0))
	}
	sent := time.Since(start)
	deadline := time.Now().Add(o.timeout)
	for tg.delivered()-base < len(lat) {
		if time.Now().After(deadline) {
			return fmt.Errorf("sendmail: only %d of %d delivered after %v", tg.delivered()-base, len(lat), o.timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	all := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	n := len(lat)
	fmt.Printf("sendmail: %d sequential submissions of %d bytes\n", n, o.size)
	fmt.Printf("%12s %9s %9s %13s\n", "submitted/s", "p50 ms", "p99 ms", "delivered/s")
	fmt.Printf("%12.0f %9.1f %9.1f %13.0f\n", float64(n)/sent.Seconds(), ms(lat[n*50/100]),
		ms(lat[min(n-1, n*99/100)]), float64(n)/all.Seconds())
	return nil
}

// wants tells whether -workload names w (or all; empty means all).
func wants(o *options, w string) bool {
	if strings.TrimSpace(o.workloads) == "" {
		return true
	}
	for _, f := range strings.Split(o.workloads, ",") {
		if f = strings.TrimSpace(f); f == w || f == "all" {
			return true
		}
	}
	return false
}
