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
//     prompt row's rowid (its hash in a database made before session 13;
//     see leanFormat). Every Store read puts them back (joinMessages), so
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
	{"request_messages", "BLOB"}, // the prompt's rowid or hash (leanFormat); NULL: the request holds its messages
}

// requestKeyFormatKey is the store_state key naming the request_key
// format; requestKeyBlob is the 16-byte blob format. promptRefFormatKey
// names what request_messages holds: promptRefRowid, the prompt row's
// rowid, in a database made since session 13; the prompt's 16-byte hash
// before.
const (
	requestKeyFormatKey = "request_key"
	requestKeyBlob      = "sha256-128-blob"
	promptRefFormatKey  = "prompt_ref"
	promptRefRowid      = "rowid"
)

// leanFormat is how a run database stores request keys and prompt
// references (see migrateLean).
type leanFormat struct {
	// blobKeys: request_key is a 16-byte blob, not 64 hex digits.
	blobKeys bool
	// promptRowids: request_messages is the prompt's rowid, and the
	// PutSample claim's index is samples(request_messages, request_key).
	// A problem's prompt row is appended when the problem starts, so the
	// index entries of the calls in flight are inserted next to each
	// other, not at random as under an index of request_key alone (one
	// page written per call at 100k problems, README).
	promptRowids bool
}

// migrateLean adds the prompts table and the request_messages column, picks
// the request_key and prompt reference formats (the new ones for a database
// with no sample row yet, else whatever it already records: the old ones
// when nothing, an older database), and creates the claim's index and the
// prompt_refs view for that format.
func migrateLean(db *sql.DB) (leanFormat, error) {
	var f leanFormat
	if _, err := db.Exec(promptsSchema); err != nil {
		return f, err
	}
	if err := addColumns(db, "samples", sampleLeanColumns); err != nil {
		return f, err
	}
	if _, err := db.Exec(`INSERT INTO store_state(key, value) SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM samples)
		ON CONFLICT(key) DO NOTHING`, requestKeyFormatKey, requestKeyBlob); err != nil {
		return f, err
	}
	// Rowid references need a rowid table: a database made before session
	// 13 with no sample row yet keeps its WITHOUT ROWID prompts, and hashes.
	if _, err := db.Exec(`INSERT INTO store_state(key, value) SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM samples)
		AND NOT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'prompts' AND sql LIKE '%WITHOUT ROWID%')
		ON CONFLICT(key) DO NOTHING`, promptRefFormatKey, promptRefRowid); err != nil {
		return f, err
	}
	format := func(key, want string) (bool, error) {
		var v string
		err := db.QueryRow(`SELECT value FROM store_state WHERE key = ?`, key).Scan(&v)
		if err == sql.ErrNoRows {
			return false, nil
		}
		return v == want, err
	}
	var err error
	if f.blobKeys, err = format(requestKeyFormatKey, requestKeyBlob); err != nil {
		return f, err
	}
	if f.promptRowids, err = format(promptRefFormatKey, promptRefRowid); err != nil {
		return f, err
	}
	// prompt_refs resolves a request_messages value of the database's
	// format, so the reads are one SQL text (requestCol).
	view := `CREATE VIEW prompt_refs AS SELECT hash AS ref, messages FROM prompts`
	ddl := []string{`CREATE INDEX IF NOT EXISTS samples_request ON samples(request_key)`}
	if f.promptRowids {
		// Within this format every row's request is split by the same
		// rule (splitMessages), so equal requests share one prompt row.
		// samples_request exists, empty, in a database an older version
		// created: the claim does not read it, so it would only cost.
		view = `CREATE VIEW prompt_refs AS SELECT rowid AS ref, messages FROM prompts`
		ddl = []string{`DROP INDEX IF EXISTS samples_request`,
			`CREATE INDEX IF NOT EXISTS samples_prompt_request ON samples(request_messages, request_key)`}
	}
	var have string
	switch err := db.QueryRow(`SELECT sql FROM sqlite_schema WHERE type = 'view' AND name = 'prompt_refs'`).Scan(&have); {
	case err == sql.ErrNoRows:
		ddl = append(ddl, view)
	case err != nil:
		return f, err
	case have != view:
		ddl = append(ddl, `DROP VIEW prompt_refs`, view)
	}
	for _, q := range ddl {
		if _, err := db.Exec(q); err != nil {
			return f, err
		}
	}
	return f, nil
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
	// beforeQueue, when set (tests only), runs just before a new prompt's
	// row is queued: a window in which another caller with the same
	// prompt must wait.
	beforeQueue func()
}

const maxPromptsSeen = 1 << 14

// queueOnce calls queue unless h was queued before, and records h once
// queue succeeds. It holds the lock while queueing, so a caller that finds
// h recorded queues its sample row after the prompt's: the writer runs
// ops in the order they were queued, and a row referencing its prompt by
// rowid looks the prompt up when it is written (a row queued first would
// find none and lose its messages — seen in 28 of 1,059,841 rows at 100k
// before this ordering).
func (p *promptsSeen) queueOnce(h [16]byte, queue func() error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.m[h]; ok {
		return nil
	}
	if p.beforeQueue != nil {
		p.beforeQueue()
	}
	if err := queue(); err != nil {
		return err
	}
	if p.m == nil || len(p.m) >= maxPromptsSeen {
		p.m = map[[16]byte]struct{}{}
	}
	p.m[h] = struct{}{}
	return nil
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
	if err := s.prompts.queueOnce(h, func() error {
		return s.w.queue(writeOp{query: putPromptSQL, args: []any{h[:], msgs}})
	}); err != nil {
		return "", nil, err
	}
	return rest, h[:], nil
}

// requestCol is the select expression of a sample's stored request and its
// messages (see joinMessages).
const requestCol = `request, (SELECT messages FROM prompt_refs WHERE ref = samples.request_messages)`
