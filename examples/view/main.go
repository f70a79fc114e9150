// Command view serves an existing Rebound run directory in the local web
// viewer, without re-running anything:
//
//	go run ./examples/view -run runs/latest -addr 127.0.0.1:8080
//
// then open http://127.0.0.1:8080/. The viewer binds to localhost by default;
// model outputs and run files are not meant for the network. Stop it with
// Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/rebound-lab/rebound/recovery/viewer"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "view:", err)
		os.Exit(1)
	}
}

func run() error {
	dir := flag.String("run", "", "run directory to view (holds run.db; required)")
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on (an empty host means 127.0.0.1)")
	pageSize := flag.Int("page-size", viewer.DefaultPageSize, "problems per list page")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: view -run DIR [-addr 127.0.0.1:8080]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *dir == "" {
		flag.Usage()
		return errors.New("-run DIR is required")
	}
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	src, err := viewer.OpenRun(*dir)
	if err != nil {
		return err
	}
	defer src.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	h := viewer.New(src, viewer.WithPageSize(*pageSize))
	return viewer.ListenAndServe(ctx, *addr, h, func(bound string) {
		host, port, _ := net.SplitHostPort(bound)
		if ip := net.ParseIP(host); ip != nil && !ip.IsLoopback() {
			fmt.Fprintf(os.Stderr, "view: warning: listening on %s, reachable from other machines\n", bound)
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			host = "127.0.0.1"
		}
		fmt.Fprintf(os.Stderr, "view: serving %s at http://%s/ (Ctrl-C to stop)\n", *dir, net.JoinHostPort(host, port))
	})
}
