package wire

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCaptureRecordsTheBodyAndStopsTheCall(t *testing.T) {
	r, err := http.NewRequest(http.MethodPost, "http://x/v1/messages", bytes.NewReader([]byte(`{"a":1}`)))
	require.NoError(t, err)
	d := &Capture{}
	_, err = d.Do(r)
	require.ErrorIs(t, err, ErrCaptured)
	assert.Equal(t, "/v1/messages", d.Path)
	assert.Equal(t, `{"a":1}`, string(d.Body))
}

func TestReplayAnswersOnlyTheRequestTheBatchSent(t *testing.T) {
	d := &Replay{Want: []byte(`{"a":1}`), Status: 200, Body: []byte(`{"ok":true}`)}
	r, _ := http.NewRequest(http.MethodPost, "http://x/", bytes.NewReader([]byte(`{"a":1}`)))
	res, err := d.Do(r)
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, `{"ok":true}`, string(b))

	r, _ = http.NewRequest(http.MethodPost, "http://x/", bytes.NewReader([]byte(`{"a":2}`)))
	_, err = d.Do(r)
	assert.ErrorIs(t, err, ErrReplayMismatch)
}
