package main

import (
	"context"
	"fmt"
	"os"

	"github.com/rebound-lab/rebound/recovery/viewer"
)

// The -serve flag: after the run, serve the viewer on the run directory
// until Ctrl-C. An address with an empty host (":8080") listens on
// 127.0.0.1 only.
func init() {
	Serve = func(ctx context.Context, addr, dir string) error {
		run, err := viewer.Open(dir)
		if err != nil {
			return err
		}
		defer run.Close()
		return viewer.ListenAndServe(ctx, addr, viewer.New(run), func(bound string) {
			fmt.Fprintf(os.Stderr, "viewer: listening on %s\n", bound)
		})
	}
}
