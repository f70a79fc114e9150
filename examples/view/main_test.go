package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
	"github.com/rebound-lab/rebound/recovery"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestBadInvocationsSayWhatIsWrong(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "-run DIR is required"},
		{[]string{"-run", t.TempDir()}, "no run.db here"},
		{[]string{"-run", "x", "extra"}, `unexpected arguments ["extra"]`},
		{[]string{"-bogus"}, "flag provided but not defined: -bogus"},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), c.args, &stderr)
		require.Error(t, err, c.args)
		assert.Contains(t, err.Error()+stderr.String(), c.want, c.args)
	}
}

func TestServesARunDirectoryOnLocalhostUntilCancelled(t *testing.T) {
	dir := t.TempDir()
	st, err := recovery.OpenStore(dir)
	require.NoError(t, err)
	require.NoError(t, st.PutProblems(context.Background(), []dataset.Problem{{ID: "q1", Question: "1 + 2?", Answer: "3"}}))
	require.NoError(t, st.Close())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-run", dir, "-addr", ":0"}, &stderr) }()

	var url string
	re := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+/)`)
	require.Eventually(t, func() bool {
		m := re.FindStringSubmatch(stderr.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	}, 10*time.Second, 20*time.Millisecond, "an empty host listens on 127.0.0.1")
	res, err := http.Get(url + "problem?id=q1")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(body), "1 &#43; 2?")

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}
}
