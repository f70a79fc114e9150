package recovery

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// refusedSQL evaluates HealthCondition(CondRefusal) on one response.
func refusedSQL(t testing.TB, st *Store, response string) bool {
	var got bool
	require.NoError(t, st.DB().QueryRowContext(context.Background(), `SELECT `+HealthCondition(CondRefusal)+
		` FROM (SELECT ? AS response, '' AS error)`, response).Scan(&got))
	return got
}

func refusalCases() []string {
	pad := strings.Repeat("é", 190) // two bytes, one character each
	return []string{
		"", "I'm sorry, but I can't help with that.", "I CANNOT ASSIST with this", "Sure: 4",
		pad + "i cannot help", // crosses the 200th character
		pad + "i can't", strings.Repeat("x", 185) + "i cannot help", strings.Repeat("x", 186) + "i cannot help",
		"ÀÉ I AM UNABLE TO", "İ'm unable to", "\xff\xfei'm unable to",
	}
}

// The summary pass's refusal check is the SQL condition's, on ASCII and
// multi-byte text and at the 200-character cut.
func TestRefusedIsTheSQLCondition(t *testing.T) {
	st, err := OpenStore(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	for _, c := range refusalCases() {
		require.Equal(t, refusedSQL(t, st, c), refused(c), "%q", c)
	}
}

func FuzzRefusedIsTheSQLCondition(f *testing.F) {
	st, err := OpenStore(f.TempDir())
	require.NoError(f, err)
	defer st.Close()
	for _, c := range refusalCases() {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsRune(s, 0) {
			return // SQLite's text functions stop at a NUL
		}
		if got, want := refused(s), refusedSQL(t, st, s); got != want {
			t.Fatalf("refused(%q) = %v, SQL says %v", s, got, want)
		}
	})
}
