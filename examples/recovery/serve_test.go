package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe to read while run writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func TestServeFlagServesTheViewerAfterTheRun(t *testing.T) {
	require.NotNil(t, Serve, "serve.go wires the viewer")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-out", t.TempDir(), "-limit", "3", "-quiet", "-serve", addr,
			"-samples", "2", "-continuations", "1"}, &stdout, &stderr)
	}()

	var body string
	require.Eventually(t, func() bool {
		select {
		case err := <-done:
			t.Fatalf("run returned before serving: %v", err)
		default:
		}
		res, err := http.Get("http://" + addr + "/problems")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		body = string(b)
		return res.StatusCode == http.StatusOK
	}, 60*time.Second, 100*time.Millisecond)
	assert.Contains(t, body, "Showing 1–3 of 3 problems")

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err, "Ctrl-C ends serving cleanly")
	case <-time.After(10 * time.Second):
		t.Fatal("the viewer did not stop when ctx ended")
	}
}
