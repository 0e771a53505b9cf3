// Package images is the image generation use case: it validates a prompt,
// takes one of the user's request slots (domain/admission, shared with
// chat), takes IMAGE_QUOTA_COST units of the user's daily quota, has the provider
// router generate the pictures (domain/routing, GenerateImages), refunds
// when no provider delivered, and records the request once.
package images

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/genzai/genzai/domain"
	"github.com/genzai/genzai/domain/admission"
	"github.com/genzai/genzai/domain/quota"
	"github.com/genzai/genzai/domain/routing"
	"github.com/genzai/genzai/ports"
)

// Defaults of Config.
const (
	DefaultCost           = 5
	DefaultMaxPromptChars = 4000
	DefaultMaxN           = 4
	DefaultSize           = "1024x1024"
	// MinSide and MaxSide bound each side of a requested size, in pixels.
	MinSide = 64
	MaxSide = 2048
)

// ErrDisabled refuses every request while image generation is off; the
// message says how to turn it on.
var ErrDisabled = &domain.Error{Code: domain.CodeNotFound,
	Message: "Image generation is off on this server: the operator turns it on with ENABLE_IMAGE_GENERATION=true"}

// Config configures the use case.
type Config struct {
	// Enabled turns image generation on (ENABLE_IMAGE_GENERATION).
	Enabled bool
	// Cost is how many quota units one request takes (IMAGE_QUOTA_COST).
	Cost int
	// MaxPromptChars bounds the prompt, in characters.
	MaxPromptChars int
	// MaxN bounds how many images one request may ask for.
	MaxN int
	// Admission bounds each user's requests in flight, images counted
	// with chats (MAX_CONCURRENT_REQUESTS_PER_USER); nil: no bound.
	Admission *admission.Gate
}

// Request is one request for images.
type Request struct {
	Prompt string
	// Size is "WIDTHxHEIGHT" ("" or "auto": DefaultSize).
	Size string
	// N is how many images (0: one).
	N int
	// API is domain.APINative or domain.APIOpenAI, for the request log.
	API string
	// RequestID is the id the client is answered under.
	RequestID string
}

// Result is the generated images and who made them.
type Result struct {
	Images   []domain.Image
	Provider domain.Provider
	Model    string
}

// Service generates images.
type Service struct {
	cfg      Config
	router   *routing.Router
	quota    *quota.Service
	requests ports.RequestLog
	clock    ports.Clock
}

// New builds a Service over the router, the quota and the request log
// (nil: nothing is recorded).
func New(cfg Config, router *routing.Router, q *quota.Service, requests ports.RequestLog, clock ports.Clock) *Service {
	if cfg.Cost <= 0 {
		cfg.Cost = DefaultCost
	}
	if cfg.MaxPromptChars <= 0 {
		cfg.MaxPromptChars = DefaultMaxPromptChars
	}
	if cfg.MaxN <= 0 {
		cfg.MaxN = DefaultMaxN
	}
	return &Service{cfg: cfg, router: router, quota: q, requests: requests, clock: clock}
}

// Enabled reports whether image generation is on and some provider can
// serve it.
func (s *Service) Enabled() bool { return s.cfg.Enabled && len(s.router.ImageChain()) > 0 }

// Providers is the image chain over the providers that can serve it now
// (configured with keys), in fallback order.
func (s *Service) Providers() []domain.Provider {
	var out []domain.Provider
	for _, r := range s.router.ImageChain() {
		out = append(out, r.Provider)
	}
	return out
}

// Models describes the image chain's models, in fallback order; none while
// image generation is off.
func (s *Service) Models() []routing.ImageModel {
	if !s.cfg.Enabled {
		return nil
	}
	return s.router.ImageModels()
}

// Cost is how many quota units one request takes.
func (s *Service) Cost() int { return s.cfg.Cost }

// Generate validates the request, takes a request slot (given back when it
// ends) and Cost units of the user's quota, and has the router generate
// the images; the units are refunded when no provider delivered
// (routing.Trace.Accepted). Errors: ErrDisabled (CodeNotFound),
// CodeInvalid, CodeRateLimited (every request slot taken),
// *domain.QuotaExceededError,
// *domain.ProviderRateLimitedError, *domain.ProvidersUnavailableError,
// *domain.UpstreamRejectedError, and ctx errors when the client leaves.
func (s *Service) Generate(ctx context.Context, u domain.User, req Request) (Result, error) {
	if !s.cfg.Enabled {
		return Result{}, ErrDisabled
	}
	start, began := s.clock.Now(), time.Now()
	var trace routing.Trace
	res, err := s.generate(ctx, u, req, began, &trace)
	s.record(req, u.ID, start, time.Since(began), trace, err)
	return res, err
}

func (s *Service) generate(ctx context.Context, u domain.User, req Request, began time.Time, trace *routing.Trace) (Result, error) {
	ireq, err := s.validate(req)
	if err != nil {
		return Result{}, err
	}
	release, err := s.cfg.Admission.Admit(ctx, u.ID)
	if err != nil {
		return Result{}, err
	}
	defer release()
	var images []domain.Image
	err = s.quota.Charge(ctx, u, s.cfg.Cost, func() (bool, error) {
		var err error
		images, *trace, err = s.router.GenerateImages(ctx, routing.ImageRequest{Image: ireq, Began: began})
		return trace.Accepted(), err
	})
	if err != nil {
		return Result{}, err
	}
	return Result{Images: images, Provider: trace.Provider, Model: trace.Model}, nil
}

// validate checks the request and turns it into the providers' request.
func (s *Service) validate(req Request) (domain.ImageRequest, error) {
	p := req.Prompt
	switch {
	case strings.TrimSpace(p) == "":
		return domain.ImageRequest{}, domain.Invalid("prompt", "must not be empty")
	case !utf8.ValidString(p):
		return domain.ImageRequest{}, domain.Invalid("prompt", "must be valid UTF-8")
	case utf8.RuneCountInString(p) > s.cfg.MaxPromptChars:
		return domain.ImageRequest{}, domain.Invalid("prompt", "must be at most %d characters", s.cfg.MaxPromptChars)
	}
	if err := domain.CheckControl("prompt", p); err != nil {
		return domain.ImageRequest{}, err
	}
	n := req.N
	if n == 0 {
		n = 1
	}
	if n < 1 || n > s.cfg.MaxN {
		return domain.ImageRequest{}, domain.Invalid("n", "must be between 1 and %d", s.cfg.MaxN)
	}
	w, h, err := ParseSize(req.Size)
	if err != nil {
		return domain.ImageRequest{}, err
	}
	return domain.ImageRequest{Prompt: p, Width: w, Height: h, N: n}, nil
}

// ParseSize reads "WIDTHxHEIGHT" ("" and "auto" are DefaultSize), each
// side between MinSide and MaxSide pixels and a multiple of 8.
func ParseSize(size string) (w, h int, err error) {
	if size == "" || size == "auto" {
		size = DefaultSize
	}
	bad := domain.Invalid("size", "must be WIDTHxHEIGHT in pixels, each side %d to %d and a multiple of 8, such as 1024x1024", MinSide, MaxSide)
	ws, hs, ok := strings.Cut(size, "x")
	if !ok {
		return 0, 0, bad
	}
	w, werr := strconv.Atoi(ws)
	h, herr := strconv.Atoi(hs)
	if werr != nil || herr != nil {
		return 0, 0, bad
	}
	for _, side := range []int{w, h} {
		if side < MinSide || side > MaxSide || side%8 != 0 {
			return 0, 0, bad
		}
	}
	return w, h, nil
}

// record hands the request's record to the request log.
func (s *Service) record(req Request, userID domain.UserID, start time.Time, latency time.Duration, trace routing.Trace, err error) {
	if s.requests == nil {
		return
	}
	rec := domain.RequestRecord{RequestID: req.RequestID, API: domain.APINative, Kind: domain.RequestKindImage,
		UserID: userID, CreatedAt: start, Latency: latency, Attempts: trace.Attempts,
		Provider: trace.Provider, UpstreamModel: trace.Model, KeyIndex: trace.KeyIndex}
	if req.API == domain.APIOpenAI {
		rec.API = domain.APIOpenAI
	}
	rec.Outcome, rec.ErrorCode = domain.OutcomeOf(err)
	s.requests.Record(rec)
}
