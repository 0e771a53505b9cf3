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

// maxPage bounds how much of a page is read.
const maxPage = 2 << 20

// userAgent is a current desktop browser's: DuckDuckGo serves bots a challenge.
const userAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// Config configures a Searcher.
type Config struct {
	BaseURL    string
	LiteURL    string
	HTTPClient *http.Client
	// Timeout bounds one search (both endpoints together); default 5 s.
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
		cfg.Timeout = 5 * time.Second
	}
	return &Searcher{cfg: cfg}
}

// errChallenge marks DuckDuckGo's bot challenge (anomaly) page.
var errChallenge = errors.New("bot challenge page")

func unavailable(err error) error {
	return &domain.Error{Code: domain.CodeUnavailable, Message: "Web search temporarily unavailable", Err: err}
}

// Search implements ports.Searcher: the HTML endpoint first, the lite
// endpoint once when the first is unavailable.
func (s *Searcher) Search(ctx context.Context, query string, max int) ([]domain.SearchResult, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	res, err := s.fetch(ctx, s.cfg.BaseURL, query, ParseHTML)
	if err == nil {
		return limit(res, max), nil
	}
	if ctx.Err() != nil {
		return nil, unavailable(fmt.Errorf("html endpoint: %w", err))
	}
	lite, liteErr := s.fetch(ctx, s.cfg.LiteURL, query, ParseLite)
	if liteErr != nil {
		return nil, unavailable(fmt.Errorf("html endpoint: %w; lite endpoint: %w", err, liteErr))
	}
	return limit(lite, max), nil
}

func limit(rs []domain.SearchResult, max int) []domain.SearchResult {
	if max > 0 && len(rs) > max {
		return rs[:max]
	}
	return rs
}

func (s *Searcher) fetch(ctx context.Context, endpoint, query string, parse func(io.Reader) ([]domain.SearchResult, error)) ([]domain.SearchResult, error) {
	form := url.Values{"q": {query}, "kl": {"wt-wt"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	req.Header.Set("Accept-Language", "en-US,en;q=0.9")
	if u, err := url.Parse(endpoint); err == nil {
		req.Header.Set("Referer", u.Scheme+"://"+u.Host+"/")
		req.Header.Set("Origin", u.Scheme+"://"+u.Host)
	}
	res, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL would carry nothing secret, but the query is the user's
		}
		return nil, fmt.Errorf("request: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxPage))
	if err != nil {
		return nil, fmt.Errorf("read page: %w", err)
	}
	// DuckDuckGo answers its challenge with 202; anything but 200 is no page.
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", res.StatusCode)
	}
	return parse(bytes.NewReader(body))
}

// ParseHTML reads results from a page of the HTML endpoint. A page with no
// results gives an empty list; a challenge page an error.
func ParseHTML(r io.Reader) ([]domain.SearchResult, error) {
	doc, err := goquery.NewDocumentFromReader(r)
	if err != nil {
		return nil, fmt.Errorf("parse page: %w", err)
	}
	if isChallenge(doc) {
		return nil, errChallenge
	}
	var out []domain.SearchResult
	seen := map[string]bool{}
	doc.Find("div.result, div.web-result, div.results_links").Each(func(_ int, b *goquery.Selection) {
		if b.HasClass("result--ad") || b.HasClass("result--ad--small") || b.Find(".badge--ad, .result__badge--ad").Length() > 0 {
			return
		}
		if b.ParentsFiltered("div.result").Length() > 0 {
			return // a nested block of a result already read
		}
		a := b.Find("a.result__a").First()
		href, _ := a.Attr("href")
		add(&out, seen, text(a), href, text(b.Find(".result__snippet").First()))
	})
	return out, nil
}

// ParseLite reads results from a page of the lite endpoint: a table whose
// result rows hold a.result-link, followed by a row with td.result-snippet.
func ParseLite(r io.Reader) ([]domain.SearchResult, error) {
	doc, err := goquery.NewDocumentFromReader(r)
	if err != nil {
		return nil, fmt.Errorf("parse page: %w", err)
	}
	if isChallenge(doc) {
		return nil, errChallenge
	}
	var out []domain.SearchResult
	seen := map[string]bool{}
	doc.Find("a.result-link").Each(func(_ int, a *goquery.Selection) {
		row := a.ParentsFiltered("tr").First()
		if row.HasClass("result-sponsored") || a.ParentsFiltered("tr.result-sponsored").Length() > 0 {
			return
		}
		href, _ := a.Attr("href")
		snippet := text(row.NextAllFiltered("tr").First().Find("td.result-snippet"))
		add(&out, seen, text(a), href, snippet)
	})
	return out, nil
}

// isChallenge recognises the anomaly/bot-check page, which must never be
// read as results.
func isChallenge(doc *goquery.Document) bool {
	if doc.Find("form#challenge-form, .anomaly-modal, #anomaly-modal, form[action*='anomaly']").Length() > 0 {
		return true
	}
	body := strings.ToLower(doc.Find("body").Text())
	return strings.Contains(body, "bots use duckduckgo too") || strings.Contains(body, "unfortunately, bots use")
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

// text is the element's text with whitespace collapsed (entities are
// already decoded by the parser).
func text(s *goquery.Selection) string {
	return strings.Join(strings.Fields(s.Text()), " ")
}

// Unwrap returns the target of a result link: DuckDuckGo's redirect links
// (//duckduckgo.com/l/?uddg=<target>&rut=..., with or without scheme, or
// relative) are unwrapped; only http(s) targets are kept ("" otherwise).
func Unwrap(href string) string {
	href = strings.TrimSpace(href)
	if href == "" {
		return ""
	}
	if strings.HasPrefix(href, "//") {
		href = "https:" + href
	}
	u, err := url.Parse(href)
	if err != nil {
		return ""
	}
	if (u.Host == "" || strings.HasSuffix(u.Host, "duckduckgo.com")) && strings.HasPrefix(u.Path, "/l/") {
		target := u.Query().Get("uddg")
		if target == "" {
			return ""
		}
		return Unwrap(target)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return ""
	}
	if strings.HasSuffix(u.Host, "duckduckgo.com") && strings.HasPrefix(u.Path, "/y.js") {
		return "" // an ad click
	}
	return u.String()
}

// dedupKey ignores a fragment and a trailing slash.
func dedupKey(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return target
	}
	u.Fragment = ""
	u.Host = strings.ToLower(u.Host)
	return strings.TrimSuffix(u.String(), "/")
}
