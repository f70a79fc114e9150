package wire

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLinesSkipsBlankLinesAndNamesTheBadOne(t *testing.T) {
	type row struct {
		ID string `json:"custom_id"`
	}
	check := func(r row) error {
		if r.ID == "" {
			return errors.New("no custom_id")
		}
		return nil
	}
	got, err := Lines([]byte("{\"custom_id\":\"a\"}\n\n  \n{\"custom_id\":\"b\"}\n"), check)
	require.NoError(t, err)
	assert.Equal(t, []row{{"a"}, {"b"}}, got)

	_, err = Lines([]byte("{\"custom_id\":\"a\"}\n{not json\n"), check)
	assert.ErrorContains(t, err, "line 2:")
	_, err = Lines([]byte("\n{\"custom_id\":\"a\"}\n{}\n"), check)
	assert.EqualError(t, err, "line 3: no custom_id")
}
