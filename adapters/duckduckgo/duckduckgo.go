// Package duckduckgo searches the web by scraping DuckDuckGo's HTML
// endpoint (falling back once to its lite endpoint), parsing the pages with
// goquery.
package duckduckgo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/ports"
)

var _ ports.Searcher = (*Searcher)(nil)

// Default endpoints.
const (
	DefaultBaseURL = "https://html.duckduckgo.com/html/"
	DefaultLiteURL = "https://lite.duckduckgo.com/lite/"
)

// DefaultTimeout bounds one search when Config.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// maxPage bounds how much of a page is read.
const maxPage = 2 << 20

// userAgent is a current desktop browser's: DuckDuckGo serves bots a challenge.
const userAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// Selectors of the HTML endpoint's markup.
const (
	blockSelector = "div.result, div.results_links, div.web-result"
	adSelector    = ".result--ad, .result--ad--small, .badge--ad, .result__badge--ad"
)

// Config configures a Searcher; zero fields take the defaults.
type Config struct {
	// BaseURL is the HTML endpoint; default DefaultBaseURL.
	BaseURL string
	// LiteURL is the lite endpoint, tried once when the HTML one is
	// unavailable; default DefaultLiteURL.
	LiteURL string
	// HTTPClient sends the requests; default a new http.Client.
	HTTPClient *http.Client
	// Timeout bounds one search, both endpoints together; default 5 s.
	Timeout time.Duration
}

// Searcher is a DuckDuckGo scraper.
type Searcher struct {
	cfg Config
}

// New returns a Searcher.
func New(cfg Config) *Searcher {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.LiteURL == "" {
		cfg.LiteURL = DefaultLiteURL
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	return &Searcher{cfg: cfg}
}

var (
	// errChallenge marks DuckDuckGo's bot challenge (anomaly) page.
	errChallenge = errors.New("bot challenge page")
	// errUnrecognised marks a page with neither results nor DuckDuckGo's
	// "No results." notice: changed markup or an unknown block page, which
	// must not pass for an empty answer.
	errUnrecognised = errors.New("unrecognised page")
)

// failure is one endpoint's failure and why.
type failure struct {
	reason domain.SearchFailure
	err    error
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// severity orders the reasons when the two endpoints failed differently:
// the one that says most about what to do wins (a block lasts; a timeout
// may pass; a connection that failed once may work).
var severity = map[domain.SearchFailure]int{
	domain.SearchBlocked: 4, domain.SearchTimeout: 3, domain.SearchUnreachable: 2, domain.SearchBadResponse: 1,
}

// Search implements ports.Searcher: the HTML endpoint first, the lite
// endpoint once when the first is unavailable. Errors:
// *domain.SearchUnavailableError, with the reason and each endpoint's
// cause.
func (s *Searcher) Search(ctx context.Context, query string, max int) ([]domain.SearchResult, error) {
	if max <= 0 {
		return []domain.SearchResult{}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	res, html := s.fetch(ctx, s.cfg.BaseURL, query, ParseHTML)
	if html == nil {
		return limit(res, max), nil
	}
	// The budget is spent (or the caller left): a second request cannot answer.
	if ctx.Err() != nil {
		reason := html.reason
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			reason = domain.SearchTimeout
		}
		return nil, &domain.SearchUnavailableError{Reason: reason, Err: fmt.Errorf("html endpoint: %w", html)}
	}
	lite, liteErr := s.fetch(ctx, s.cfg.LiteURL, query, ParseLite)
	if liteErr != nil {
		reason := html.reason
		if severity[liteErr.reason] > severity[reason] {
			reason = liteErr.reason
		}
		return nil, &domain.SearchUnavailableError{Reason: reason, Err: fmt.Errorf("html endpoint: %w; lite endpoint: %w", html, liteErr)}
	}
	return limit(lite, max), nil
}

// transportFailure names why a request or the read of its page failed:
// a timeout, or no connection.
func transportFailure(err error) domain.SearchFailure {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return domain.SearchTimeout
	}
	return domain.SearchUnreachable
}

func limit(rs []domain.SearchResult, max int) []domain.SearchResult {
	if len(rs) > max {
		return rs[:max]
	}
	return rs
}

func (s *Searcher) fetch(ctx context.Context, endpoint, query string, parse func(io.Reader) ([]domain.SearchResult, error)) ([]domain.SearchResult, *failure) {
	form := url.Values{"q": {query}, "kl": {"wt-wt"}, "b": {""}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, &failure{domain.SearchUnreachable, errors.New("bad endpoint URL")}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	req.Header.Set("Accept-Language", "en-US,en;q=0.9")
	// A browser submitting the endpoint's own search form sends these.
	origin := req.URL.Scheme + "://" + req.URL.Host
	req.Header.Set("Referer", origin+"/")
	req.Header.Set("Origin", origin)
	res, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		// Drop the *url.Error wrapper: its URL is of no use in the logs.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &failure{transportFailure(err), fmt.Errorf("request: %w", err)}
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusAccepted:
		// DuckDuckGo answers suspected bots with 202 and its challenge page.
		return nil, &failure{domain.SearchBlocked, fmt.Errorf("status 202: %w", errChallenge)}
	case res.StatusCode == http.StatusForbidden || res.StatusCode == http.StatusTooManyRequests:
		return nil, &failure{domain.SearchBlocked, fmt.Errorf("status %d", res.StatusCode)}
	case res.StatusCode != http.StatusOK:
		return nil, &failure{domain.SearchBadResponse, fmt.Errorf("status %d", res.StatusCode)}
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxPage))
	if err != nil {
		return nil, &failure{transportFailure(err), fmt.Errorf("read page: %w", err)}
	}
	results, err := parse(bytes.NewReader(body))
	switch {
	case errors.Is(err, errChallenge):
		return nil, &failure{domain.SearchBlocked, err}
	case err != nil:
		return nil, &failure{domain.SearchBadResponse, err}
	}
	return results, nil
}

// ParseHTML reads results from a page of the HTML endpoint, best first,
// without ads and duplicates. A "No results." page gives an empty list; a
// challenge page or a page it does not recognise gives an error.
func ParseHTML(r io.Reader) ([]domain.SearchResult, error) {
	doc, err := goquery.NewDocumentFromReader(r)
	if err != nil {
		return nil, fmt.Errorf("parse page: %w", err)
	}
	if isChallenge(doc, "a.result__a") {
		return nil, errChallenge
	}
	out := []domain.SearchResult{}
	seen := map[string]bool{}
	blocks := 0
	doc.Find(blockSelector).Each(func(_ int, b *goquery.Selection) {
		// The classes overlap and blocks nest: read only the outermost.
		if b.ParentsFiltered(blockSelector).Length() > 0 {
			return
		}
		a := b.Find("a.result__a").First()
		if a.Length() == 0 {
			return // e.g. the "result--no-result" block
		}
		blocks++
		if b.Is(adSelector) || b.Find(adSelector).Length() > 0 {
			return
		}
		href, _ := a.Attr("href")
		add(&out, seen, text(a), href, text(b.Find(".result__snippet").First()))
	})
	if blocks == 0 && !hasNoResults(doc) {
		return nil, errUnrecognised
	}
	return out, nil
}

// ParseLite reads results from a page of the lite endpoint: a table whose
// result rows hold a.result-link, each followed by a row with
// td.result-snippet; sponsored rows are tr.result-sponsored.
func ParseLite(r io.Reader) ([]domain.SearchResult, error) {
	doc, err := goquery.NewDocumentFromReader(r)
	if err != nil {
		return nil, fmt.Errorf("parse page: %w", err)
	}
	if isChallenge(doc, "a.result-link") {
		return nil, errChallenge
	}
	out := []domain.SearchResult{}
	seen := map[string]bool{}
	links := doc.Find("a.result-link")
	links.Each(func(_ int, a *goquery.Selection) {
		if a.ParentsFiltered(".result-sponsored").Length() > 0 {
			return
		}
		row := a.ParentsFiltered("tr").First()
		href, _ := a.Attr("href")
		snippet := text(row.NextAllFiltered("tr").First().Find("td.result-snippet").First())
		add(&out, seen, text(a), href, snippet)
	})
	if links.Length() == 0 && !hasNoResults(doc) {
		return nil, errUnrecognised
	}
	return out, nil
}

// isChallenge recognises the anomaly/bot-check page, which must never be
// read as results: by its form and modal, or by its wording on a page
// without result links (a result may well quote the wording).
func isChallenge(doc *goquery.Document, resultLink string) bool {
	if doc.Find("form#challenge-form, .anomaly-modal, .anomaly-modal__modal, #anomaly-modal, form[action*='anomaly']").Length() > 0 {
		return true
	}
	if doc.Find(resultLink).Length() > 0 {
		return false
	}
	return strings.Contains(strings.ToLower(doc.Find("body").Text()), "bots use duckduckgo too")
}

// hasNoResults recognises DuckDuckGo's notice that a query has no results.
func hasNoResults(doc *goquery.Document) bool {
	return doc.Find(".no-results, .result--no-result").Length() > 0 ||
		strings.Contains(doc.Find("body").Text(), "No results.")
}

func add(out *[]domain.SearchResult, seen map[string]bool, title, href, snippet string) {
	target := Unwrap(href)
	if title == "" || target == "" {
		return
	}
	key := dedupKey(target)
	if seen[key] {
		return
	}
	seen[key] = true
	*out = append(*out, domain.SearchResult{Title: title, URL: target, Snippet: snippet})
}

// text is the element's text with whitespace collapsed and trimmed
// (entities are already decoded by the parser).
func text(s *goquery.Selection) string {
	return strings.Join(strings.Fields(s.Text()), " ")
}

// maxUnwrap bounds how many redirect links nest inside one another.
const maxUnwrap = 3

// Unwrap returns the target of a result link: DuckDuckGo's redirect links
// (//duckduckgo.com/l/?uddg=<target>&rut=..., with or without scheme, or
// relative) are unwrapped; only http(s) targets are kept, and ad clicks
// (duckduckgo.com/y.js) and anything else give "".
func Unwrap(href string) string {
	for range maxUnwrap + 1 {
		href = strings.TrimSpace(href)
		if strings.HasPrefix(href, "//") {
			href = "https:" + href
		}
		u, err := url.Parse(href)
		if err != nil {
			return ""
		}
		isDDG := u.Host == "" || isDDGHost(u.Hostname())
		if isDDG && (u.Path == "/l/" || u.Path == "/l") {
			href = u.Query().Get("uddg")
			continue
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			return ""
		}
		if isDDG && strings.HasPrefix(u.Path, "/y.js") {
			return ""
		}
		return u.String()
	}
	return ""
}

func isDDGHost(host string) bool {
	host = strings.ToLower(host)
	return host == "duckduckgo.com" || strings.HasSuffix(host, ".duckduckgo.com")
}

// dedupKey identifies a target for duplicate removal: the fragment, a
// trailing slash and the host's case do not count.
func dedupKey(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return target
	}
	u.Fragment, u.RawFragment = "", ""
	u.Host = strings.ToLower(u.Host)
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = strings.TrimSuffix(u.RawPath, "/")
	return u.String()
}
