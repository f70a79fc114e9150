package recovery

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"strings"
	"sync"
)

// A lean sample row (new run databases, and new rows of old ones):
//
//   - The request's messages (the prompt: the problem's question and the
//     instruction, the same for every sample, try and continuation of a
//     problem) are stored once, in the prompts table, keyed by a hash; the
//     row's request JSON holds "messages":null and request_messages the
//     hash. Every Store read puts them back (joinMessages), so
//     Sample.Request reads as it was written.
//   - request_key is a 16-byte blob (the first half of the SHA-256) in a
//     database whose store_state says requestKeyBlob; a database made
//     before keeps its 64-hex-digit keys (the two never mix in one file).

// promptsSchema is the table of distinct request messages. It is a rowid
// table (its rows appended in the order problems start) with the hash in
// a small unique index: keyed by the hash itself (WITHOUT ROWID, as
// databases made before session 13 keep it) every new problem's
// half-kilobyte prompt landed on a random page of a table too large for
// the writer's page cache, re-read and rewritten into the WAL (at 100k
// problems 13,298 pages, the largest structure after samples and the
// cache; with the larger WAL of writer.go, a 100k run used 8 % less CPU,
// README). Both layouts answer the same statements.
const promptsSchema = `CREATE TABLE IF NOT EXISTS prompts (
	hash     BLOB PRIMARY KEY,
	messages TEXT NOT NULL
)`

var sampleLeanColumns = []struct{ name, decl string }{
	{"request_messages", "BLOB"}, // prompts.hash; NULL: the request holds its messages
}

// requestKeyFormatKey is the store_state key naming the request_key
// format; requestKeyBlob is the 16-byte blob format.
const (
	requestKeyFormatKey = "request_key"
	requestKeyBlob      = "sha256-128-blob"
)

// migrateLean adds the prompts table and the request_messages column and
// picks the request_key format: the blob for a database with no sample row
// yet, else whatever it already records (hex when nothing: an older
// database).
func migrateLean(db *sql.DB) (blobKeys bool, err error) {
	if _, err := db.Exec(promptsSchema); err != nil {
		return false, err
	}
	if err := addColumns(db, "samples", sampleLeanColumns); err != nil {
		return false, err
	}
	if _, err := db.Exec(`INSERT INTO store_state(key, value) SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM samples)
		ON CONFLICT(key) DO NOTHING`, requestKeyFormatKey, requestKeyBlob); err != nil {
		return false, err
	}
	var v string
	err = db.QueryRow(`SELECT value FROM store_state WHERE key = ?`, requestKeyFormatKey).Scan(&v)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return v == requestKeyBlob, err
}

// requestKeyArg identifies a request of one model, in the store's
// request_key format: rows with equal keys were answered by one cache
// entry. "" when the request is unknown.
func (s *Store) requestKeyArg(model, request string) any {
	if request == "" {
		return ""
	}
	h := sha256.New()
	h.Write([]byte(model))
	h.Write([]byte{0})
	h.Write([]byte(request))
	sum := h.Sum(nil)
	if s.blobKeys {
		return sum[:16]
	}
	return hex.EncodeToString(sum)
}

// messagesField is how json.Marshal(providers.Request) starts its second
// field, right after the model string. Inside a JSON string every quote is
// escaped, so its first occurrence is the field itself.
const messagesField = `","messages":`

// splitMessages returns request with its messages array replaced by null,
// and the array; ok is false when request has no such array (or it is too
// short to be worth a reference).
func splitMessages(request string) (rest, msgs string, ok bool) {
	i := strings.Index(request, messagesField)
	if i < 0 {
		return "", "", false
	}
	start := i + len(messagesField)
	end := jsonArrayEnd(request, start)
	if end < 0 || end-start < 64 {
		return "", "", false
	}
	rest = request[:start] + "null" + request[end:]
	if joinMessages(rest, request[start:end]) != request {
		return "", "", false
	}
	return rest, request[start:end], true
}

// joinMessages undoes splitMessages.
func joinMessages(rest, msgs string) string {
	i := strings.Index(rest, messagesField+"null")
	if i < 0 {
		return rest
	}
	start := i + len(messagesField)
	return rest[:start] + msgs + rest[start+len("null"):]
}

// jsonArrayEnd is the index just past the JSON array starting at s[i], or
// -1.
func jsonArrayEnd(s string, i int) int {
	if i >= len(s) || s[i] != '[' {
		return -1
	}
	depth, inStr, esc := 0, false, false
	for j := i; j < len(s); j++ {
		c := s[j]
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
			if depth == 0 {
				return j + 1
			}
		}
	}
	return -1
}

// promptsSeen remembers the prompt hashes already queued by this Store, so
// a problem's later calls skip the insert (bounded: forgetting one only
// costs a no-op insert).
type promptsSeen struct {
	mu sync.Mutex
	m  map[[16]byte]struct{}
}

const maxPromptsSeen = 1 << 14

// first reports whether h was not queued before, and records it.
func (p *promptsSeen) first(h [16]byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.m[h]; ok {
		return false
	}
	if p.m == nil || len(p.m) >= maxPromptsSeen {
		p.m = map[[16]byte]struct{}{}
	}
	p.m[h] = struct{}{}
	return true
}

const putPromptSQL = `INSERT INTO prompts(hash, messages) VALUES(?, ?) ON CONFLICT(hash) DO NOTHING`

// leanRequest returns what PutSample stores for request: the request
// column's text and the request_messages value (nil: none), queueing the
// prompt's row first when it is new.
func (s *Store) leanRequest(request string) (string, any, error) {
	rest, msgs, ok := splitMessages(request)
	if !ok {
		return request, nil, nil
	}
	sum := sha256.Sum256([]byte(msgs))
	var h [16]byte
	copy(h[:], sum[:16])
	if s.prompts.first(h) {
		if err := s.w.queue(writeOp{query: putPromptSQL, args: []any{h[:], msgs}}); err != nil {
			return "", nil, err
		}
	}
	return rest, h[:], nil
}

// requestCol is the select expression of a sample's stored request and its
// messages (see joinMessages).
const requestCol = `request, (SELECT messages FROM prompts WHERE hash = samples.request_messages)`
