package viewer

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"github.com/rebound-lab/rebound/behaviour"
	"html/template"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/rebound-lab/rebound/perturb"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// ContentSecurityPolicy is sent with every response. Scripts load only from
// the viewer itself (the embedded KaTeX and viewer.js), so even markup that
// slipped past escaping could not run inline script or event handlers.
// Inline styles are allowed because KaTeX sizes its boxes with style
// attributes; nothing else is loaded from anywhere but the viewer.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// Option configures New.
type Option func(*config)

type config struct {
	pageSize   int
	dollarMath *bool
	logger     *log.Logger
}

// WithPageSize sets how many problems the list shows per page (default
// DefaultPageSize; at most MaxPageSize). The size query parameter overrides
// it per request.
func WithPageSize(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.pageSize = min(n, MaxPageSize)
		}
	}
}

// WithDollarMath forces whether $…$ and $$…$$ delimit math. By default they
// do, except on problems whose Source is "gsm8k", where "$" is currency;
// \(…\) and \[…\] always delimit math.
func WithDollarMath(on bool) Option {
	return func(c *config) { c.dollarMath = &on }
}

// WithErrorLog logs failures of the Source (HTTP 500s) to l; by default
// they go to the standard logger.
func WithErrorLog(l *log.Logger) Option {
	return func(c *config) { c.logger = l }
}

type handler struct {
	src   Source
	cfg   config
	pages map[string]*template.Template
	mux   *http.ServeMux
}

// New returns an http.Handler serving src: "/" the overview, "/problems"
// the list, "/problem?id=…" one problem, "/files/NAME" the run's plots and
// reports, "/static/…" the embedded assets. All links are relative, so the
// handler can be mounted under a prefix with http.StripPrefix. It is safe
// for concurrent use.
func New(src Source, opts ...Option) http.Handler {
	h := &handler{src: src, cfg: config{pageSize: DefaultPageSize, logger: log.Default()}}
	for _, o := range opts {
		o(&h.cfg)
	}
	h.pages = parseTemplates()
	static, err := fs.Sub(assetFS, "assets")
	if err != nil {
		panic(err) // embedded directory: cannot fail
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.overview)
	mux.HandleFunc("GET /problems", h.list)
	mux.HandleFunc("GET /problem", h.problem)
	mux.HandleFunc("GET /files/{name}", h.file)
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	}))
	h.mux = mux
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", ContentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	h.mux.ServeHTTP(w, r)
}

var funcs = template.FuncMap{
	"pct":       formatPct,
	"frac":      formatFrac,
	"usd":       formatUSD,
	"num":       formatInt,
	"snippet":   snippet,
	"tail":      tail,
	"depth":     formatDepth,
	"latency":   formatLatency,
	"sortedMap": sortedMap,
	"add":       func(a, b int) int { return a + b },
	"isNaN":     func(f float64) bool { return f != f },
	"mul100":    func(f *float64) float64 { return *f * 100 },
	"byModel":   byModel,
	"ci":        formatCI,
	"signedPct": formatSignedPct,
}

func parseTemplates() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	pages := map[string]*template.Template{}
	for _, name := range []string{"overview.html", "list.html", "problem.html", "error.html"} {
		t := template.Must(base.Clone())
		pages[name] = template.Must(t.ParseFS(templateFS, "templates/"+name))
	}
	return pages
}

// page is what every template gets.
type page struct {
	Title      string
	RunTitle   string
	Nav        string
	DollarMath bool
	Data       any
}

func (h *handler) render(w http.ResponseWriter, status int, name string, p page) {
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		h.cfg.logger.Printf("viewer: render %s: %v", name, err)
		http.Error(w, "viewer: render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	if status >= 500 {
		if errors.Is(err, context.Canceled) {
			return // the client went away
		}
		h.cfg.logger.Printf("viewer: %s %s: %v", r.Method, r.URL, err)
	}
	h.render(w, status, "error.html", page{
		Title: http.StatusText(status),
		Data:  struct{ Status, Message string }{fmt.Sprintf("%d %s", status, http.StatusText(status)), err.Error()},
	})
}

func (h *handler) overview(w http.ResponseWriter, r *http.Request) {
	ov, err := h.src.Overview(r.Context())
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	h.render(w, http.StatusOK, "overview.html", page{
		Title: orDefault(ov.Title, "Run"), RunTitle: ov.Title, Nav: "overview", Data: ov,
	})
}

// listView is the list page's model.
type listView struct {
	Query      Query
	Page       Page
	Rows       []listRow
	Buckets    []string
	Strategies []string
	Outcomes   []Outcome
	// Behaviours are the behaviour labels the filter offers.
	Behaviours []string
	// HealthConditions offered by the health filter.
	HealthConditions []string
	// Links
	Self              url.Values
	PrevURL, NextURL  string
	FirstURL, LastURL string
	ProblemLinkBase   string
	Columns           []column
}

// listRow is a list row and whether $ delimits math in it.
type listRow struct {
	ProblemSummary
	DollarMath bool
}

type column struct {
	Label, Key, URL, Arrow string
	Num                    bool
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	q, err := ParseQuery(r.URL.Query())
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err)
		return
	}
	ctx := r.Context()
	ov, err := h.src.Overview(ctx)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	rows, err := h.src.ProblemList(ctx)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	eff := q // links carry only the size the user chose
	if eff.Size == 0 {
		eff.Size = h.cfg.pageSize
	}
	eff.BucketOrder = bucketNames(ov)
	if eff, err = eff.WithSearch(ctx, h.src); err != nil {
		h.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	pg := eff.Apply(rows)
	v := listView{Query: q, Page: pg, Outcomes: Outcomes, HealthConditions: HealthConditions}
	for _, l := range behaviour.Labels {
		v.Behaviours = append(v.Behaviours, string(l))
	}
	for _, r := range pg.Rows {
		v.Rows = append(v.Rows, listRow{ProblemSummary: r, DollarMath: h.dollarMath(r.Source)})
	}
	v.Buckets, v.Strategies = facets(ov, rows)
	pageURL := func(n int) string {
		qq := q
		qq.Page = n
		return "problems?" + qq.Values().Encode()
	}
	if pg.Number > 1 {
		v.PrevURL, v.FirstURL = pageURL(pg.Number-1), pageURL(1)
	}
	if pg.Number < pg.Pages {
		v.NextURL, v.LastURL = pageURL(pg.Number+1), pageURL(pg.Pages)
	}
	ctxQ := q
	ctxQ.Page = 0
	v.ProblemLinkBase = "problem?" + ctxQ.Values().Encode()
	if v.ProblemLinkBase != "problem?" {
		v.ProblemLinkBase += "&"
	}
	for _, c := range []column{
		{Label: "#", Key: SortRun, Num: true}, {Label: "Problem", Key: SortID},
		{Label: "Bucket", Key: SortBucket}, {Label: "Strong", Key: SortPass, Num: true},
		{Label: "Weak", Key: SortWeak, Num: true}, {Label: "Strategies"},
		{Label: "Recovered", Key: SortRecovery, Num: true}, {Label: "Restarts", Key: SortRestarts, Num: true},
		{Label: "Outcome"},
	} {
		if c.Label != "Strategies" && c.Label != "Outcome" {
			qq := q
			qq.Page = 0
			qq.Sort = c.Key
			qq.Desc = q.Sort == c.Key && !q.Desc
			c.URL = "problems?" + qq.Values().Encode()
			if q.Sort == c.Key {
				c.Arrow = "▲"
				if q.Desc {
					c.Arrow = "▼"
				}
			}
		}
		v.Columns = append(v.Columns, c)
	}
	h.render(w, http.StatusOK, "list.html", page{
		Title: "Problems", RunTitle: ov.Title, Nav: "problems", Data: v,
	})
}

// bucketNames lists the overview's buckets in order.
func bucketNames(ov Overview) []string {
	names := make([]string, len(ov.Buckets))
	for i, b := range ov.Buckets {
		names[i] = b.Name
	}
	return names
}

// facets lists the bucket names (the overview's order, then any others) and
// strategies present in rows.
func facets(ov Overview, rows []ProblemSummary) (buckets, strategies []string) {
	seenB := map[string]bool{}
	for _, b := range ov.Buckets {
		if !seenB[b.Name] {
			seenB[b.Name] = true
			buckets = append(buckets, b.Name)
		}
	}
	seenS := map[string]bool{}
	var extra []string
	for i := range rows {
		if b := rows[i].Bucket; b != "" && !seenB[b] {
			seenB[b] = true
			extra = append(extra, b)
		}
		for _, s := range rows[i].Strategies {
			if !seenS[s] {
				seenS[s] = true
				strategies = append(strategies, s)
			}
		}
	}
	slices.Sort(extra)
	slices.Sort(strategies)
	return append(buckets, extra...), strategies
}

// problemView is the problem page's model.
type problemView struct {
	Problem
	Strong, Weak      []Sample
	Prefixes          []prefixView
	Position, Matched int
	PrevURL, NextURL  string
	BackURL           string
	Filtered          bool
}

type prefixView struct {
	Prefix
	Number   int
	Segments []segment
	Verbatim bool
	Tail     string
}

// segment is a run of the source trace shown in one style: kept in the
// prefix or cut away, inside the known error step or not; Cut marks the
// position of the cut marker.
type segment struct {
	Text      string
	Kept, Err bool
	Cut       bool
}

// traceSegments lays out a prefix inside its source trace: the kept part,
// the cut, the discarded rest, with the known error step marked when the
// trace's steps (as perturb.Split finds them) agree with the prefix's
// recorded step counts. Without a verbatim source it shows the prefix alone.
func traceSegments(p Prefix) (segs []segment, verbatim bool) {
	if p.Source == "" || !strings.HasPrefix(p.Source, p.Text) {
		return []segment{{Text: p.Text, Kept: true}, {Cut: true}}, false
	}
	src, cut := p.Source, len(p.Text)
	errStart, errEnd := -1, -1
	if p.ErrorStep > 0 {
		steps := perturb.Split(src)
		if len(steps) == p.StepsTotal && p.ErrorStep <= len(steps) &&
			p.StepsKept >= 1 && p.StepsKept <= len(steps) && steps[p.StepsKept-1].End == cut {
			errStart, errEnd = steps[p.ErrorStep-1].Start, steps[p.ErrorStep-1].End
		}
	}
	bounds := []int{0, cut, len(src)}
	if errStart >= 0 {
		bounds = append(bounds, errStart, errEnd)
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)
	for i := 0; i+1 < len(bounds); i++ {
		lo, hi := bounds[i], bounds[i+1]
		if lo == cut {
			segs = append(segs, segment{Cut: true})
		}
		segs = append(segs, segment{Text: src[lo:hi], Kept: hi <= cut, Err: errStart >= 0 && lo >= errStart && hi <= errEnd})
	}
	if cut == len(src) {
		segs = append(segs, segment{Cut: true})
	}
	return segs, true
}

func (h *handler) problem(w http.ResponseWriter, r *http.Request) {
	params := r.URL.Query()
	id := params.Get("id")
	if id == "" {
		h.fail(w, r, http.StatusBadRequest, errors.New("query parameter id is missing: which problem?"))
		return
	}
	params.Del("id")
	q, err := ParseQuery(params)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err)
		return
	}
	ctx := r.Context()
	p, err := h.src.Problem(ctx, id)
	if errors.Is(err, ErrNotFound) {
		h.fail(w, r, http.StatusNotFound, err)
		return
	}
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	ov, err := h.src.Overview(ctx)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	rows, err := h.src.ProblemList(ctx)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	v := problemView{Problem: p, Filtered: q.Filtered()}
	for _, s := range p.Samples {
		if s.Role == "weak" {
			v.Weak = append(v.Weak, s)
		} else {
			v.Strong = append(v.Strong, s)
		}
	}
	for i, pre := range p.Prefixes {
		pv := prefixView{Prefix: pre, Number: i + 1, Tail: tail(pre.Text, 280)}
		pv.Segments, pv.Verbatim = traceSegments(pre)
		v.Prefixes = append(v.Prefixes, pv)
	}
	// Position within the list the user came from, for prev/next.
	size := q.Size
	if size == 0 {
		size = h.cfg.pageSize
	}
	q.BucketOrder = bucketNames(ov)
	if sq, err := q.WithSearch(ctx, h.src); err == nil {
		q = sq // else the scan, for prev/next only
	}
	idx := q.Select(rows)
	link := func(i int) string {
		qq := q
		qq.Page = 0
		vals := qq.Values()
		vals.Set("id", rows[idx[i]].ID)
		return "problem?" + vals.Encode()
	}
	back := q
	for k, i := range idx {
		if rows[i].ID == id {
			v.Position, v.Matched = k+1, len(idx)
			if k > 0 {
				v.PrevURL = link(k - 1)
			}
			if k+1 < len(idx) {
				v.NextURL = link(k + 1)
			}
			back.Page = k/size + 1
			break
		}
	}
	back.Size = q.Size
	v.BackURL = "problems"
	if enc := back.Values().Encode(); enc != "" {
		v.BackURL += "?" + enc
	}
	h.render(w, http.StatusOK, "problem.html", page{
		Title: "Problem " + p.ID, RunTitle: ov.Title, Nav: "problem", DollarMath: h.dollarMath(p.Source), Data: v,
	})
}

// dollarMath reports whether $ delimits math in text from this dataset.
func (h *handler) dollarMath(source string) bool {
	if h.cfg.dollarMath != nil {
		return *h.cfg.dollarMath
	}
	return source != "gsm8k"
}

var contentTypes = map[string]string{
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".md":    "text/plain; charset=utf-8",
	".txt":   "text/plain; charset=utf-8",
	".csv":   "text/plain; charset=utf-8",
	".json":  "application/json",
	".jsonl": "text/plain; charset=utf-8",
}

func (h *handler) file(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	ctx := r.Context()
	ov, err := h.src.Overview(ctx)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	listed := slices.ContainsFunc(ov.Plots, func(f FileRef) bool { return f.Name == name }) ||
		slices.ContainsFunc(ov.Files, func(f FileRef) bool { return f.Name == name })
	if !listed {
		h.fail(w, r, http.StatusNotFound, fmt.Errorf("file %q is not part of this run: %w", name, ErrNotFound))
		return
	}
	f, err := h.src.File(ctx, name)
	if errors.Is(err, ErrNotFound) {
		h.fail(w, r, http.StatusNotFound, err)
		return
	}
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	defer f.Close()
	ct, ok := contentTypes[strings.ToLower(path.Ext(name))]
	if !ok {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, time.Time{}, f)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// ListenAndServe serves h on addr until ctx is done, then shuts down
// gracefully (waiting up to 5 s for requests in flight). It returns nil
// after a shutdown caused by ctx, else the listener's error. An addr with
// an empty host ("" or ":8080") is rewritten to listen on 127.0.0.1 only:
// the viewer shows model output and run files and is not meant to be
// exposed; pass "0.0.0.0:8080" explicitly to listen on every interface.
// ready, if non-nil, is called with the bound address once listening.
func ListenAndServe(ctx context.Context, addr string, h http.Handler, ready func(addr string)) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if addr != "" {
			return fmt.Errorf("viewer: listen address %q: %w", addr, err)
		}
		port = "8080"
	}
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return fmt.Errorf("viewer: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("viewer: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("viewer: shutdown: %w", err)
		}
		return nil
	}
}
