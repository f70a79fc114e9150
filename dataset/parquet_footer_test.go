package dataset_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rebound-lab/rebound/dataset"
)

func TestACorruptParquetFooterLengthIsRejectedWithoutAllocatingIt(t *testing.T) {
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[gsmRow](&buf)
	_, err := w.Write([]gsmRow{{"q1", "a\n#### 1"}})
	require.NoError(t, err)
	require.NoError(t, w.Close())
	b := buf.Bytes()
	// The trailer's footer length, as FuzzLoadParquet corrupted it: near 4 GiB.
	binary.LittleEndian.PutUint32(b[len(b)-8:], 0xfffffff0)

	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	before := m.TotalAlloc
	_, err = dataset.LoadParquet(bytes.NewReader(b), int64(len(b)), "f.parquet", dataset.FieldMap{Question: "question", Answer: "answer"})
	runtime.ReadMemStats(&m)

	require.ErrorIs(t, err, dataset.ErrMalformed)
	var de *dataset.Error
	require.True(t, errors.As(err, &de))
	assert.Equal(t, "f.parquet", de.File)
	assert.Contains(t, err.Error(), "footer length 4294967280 exceeds the file")
	assert.Less(t, m.TotalAlloc-before, uint64(16<<20), "the corrupt length is not allocated")

	_, err = dataset.LoadParquet(bytes.NewReader([]byte("PAR1")), 4, "tiny.parquet", dataset.FieldMap{Question: "question", Answer: "answer"})
	require.ErrorIs(t, err, dataset.ErrMalformed)
	assert.Contains(t, err.Error(), "too short")
}
