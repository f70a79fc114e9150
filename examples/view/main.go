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
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/rebound-lab/rebound/recovery/viewer"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "view:", err)
		os.Exit(1)
	}
}

// run parses args, opens the run directory and serves it until ctx ends.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("view", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("run", "", "run directory to view (holds run.db; required)")
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on (an empty host means 127.0.0.1)")
	pageSize := fs.Int("page-size", viewer.DefaultPageSize, "problems per list page")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: view -run DIR [-addr 127.0.0.1:8080]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		fs.Usage()
		return errors.New("-run DIR is required")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	src, err := viewer.Open(*dir)
	if err != nil {
		return err
	}
	defer src.Close()

	h := viewer.New(src, viewer.WithPageSize(*pageSize))
	return viewer.ListenAndServe(ctx, *addr, h, func(bound string) {
		host, port, _ := net.SplitHostPort(bound)
		ip := net.ParseIP(host)
		if ip != nil && !ip.IsLoopback() {
			fmt.Fprintf(stderr, "view: warning: listening on %s, reachable from other machines\n", bound)
		}
		if ip != nil && ip.IsUnspecified() {
			host = "127.0.0.1"
		}
		fmt.Fprintf(stderr, "view: serving %s at http://%s/ (Ctrl-C to stop)\n", *dir, net.JoinHostPort(host, port))
	})
}
