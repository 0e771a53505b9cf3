package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/genzai/genzai/adapters/argon2id"
	"github.com/genzai/genzai/adapters/memory"
	"github.com/genzai/genzai/adapters/postgres/pgtest"
	"github.com/genzai/genzai/api"
	"github.com/genzai/genzai/app"
	"github.com/genzai/genzai/domain"
)

// spec is the contract every response is checked against.
type spec struct {
	doc    *openapi3.T
	router routers.Router
}

func loadSpec(t *testing.T) spec {
	t.Helper()
	doc, err := api.GetSpec()
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()), "the spec itself is valid OpenAPI")
	doc.Servers = nil // match requests on any host
	router, err := legacyrouter.NewRouter(doc)
	require.NoError(t, err)
	return spec{doc: doc, router: router}
}

// validatingTransport checks every response against the spec: its status
// must be documented for the operation and its body must match the schema.
// Responses for paths the spec does not have must still be the Error shape.
type validatingTransport struct {
	t    *testing.T
	spec spec
}

func (v validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		// Streams are read live by the test; their bytes are checked there.
		return res, nil
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))

	check := req.Clone(req.Context())
	check.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := v.spec.router.FindRoute(check)
	if err != nil {
		// Not an operation of the spec (404, 405, CORS preflights): an
		// error body is still an Error.
		if res.StatusCode >= 400 {
			v.checkErrorShape(req, res.StatusCode, body)
		}
		return res, nil
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	err = openapi3filter.ValidateResponse(req.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: check, PathParams: params, Route: route, Options: opts},
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                opts,
	})
	if err != nil {
		v.t.Errorf("%s %s -> %d does not match the spec: %v\nbody: %s", req.Method, req.URL.Path, res.StatusCode, err, body)
	}
	return res, nil
}

func (v validatingTransport) checkErrorShape(req *http.Request, status int, body []byte) {
	if req.Method == http.MethodHead {
		return
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		v.t.Errorf("%s %s -> %d: body is not JSON: %s", req.Method, req.URL.Path, status, body)
		return
	}
	schema := "Error"
	if strings.HasPrefix(req.URL.Path, "/v1/") {
		schema = "OpenAIErrorResponse" // the OpenAI-compatible routes
	}
	if err := v.spec.doc.Components.Schemas[schema].Value.VisitJSON(doc); err != nil {
		v.t.Errorf("%s %s -> %d: body is not an %s: %v", req.Method, req.URL.Path, status, schema, err)
	}
}

// env is one gateway on a fresh database.
type env struct {
	t      *testing.T
	cfg    app.Config
	app    *app.App
	srv    *httptest.Server
	http   *http.Client
	client *api.ClientWithResponses
	clock  *memory.Clock
	dbURL  string
	logs   *lockedBuffer
}

// cheapHash keeps the tests fast; production parameters are covered in
// the argon2id package.
var cheapHash = argon2id.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

func newEnv(t *testing.T, vars map[string]string) *env {
	t.Helper()
	return newEnvWith(t, vars, app.Options{})
}

// newEnvWith is newEnv with app options; unset PasswordParams and Clock
// get newEnv's cheap hash and fake clock.
func newEnvWith(t *testing.T, vars map[string]string, opts app.Options) *env {
	t.Helper()
	e := &env{t: t, clock: memory.NewClock(time.Now().UTC()), logs: &lockedBuffer{}}
	if url, ok := vars["DATABASE_URL"]; ok {
		e.dbURL = url // instances sharing one database
	} else {
		e.dbURL = testDatabaseURL(t)
	}
	base := map[string]string{
		"DATABASE_URL":               e.dbURL,
		"DATABASE_POOL_SIZE":         "1",
		"DATABASE_POOL_MAX_OVERFLOW": "4",
		"JWT_SECRET":                 "component-test-secret-0123456789abcdef",
		// Tests make many requests from one address; limits have their own tests.
		"RATE_LIMIT_PER_MINUTE":      "1000000",
		"AUTH_RATE_LIMIT_PER_MINUTE": "1000000",
	}
	for k, v := range vars {
		base[k] = v
	}
	explicitDefaults(base)
	cfg, err := app.LoadConfig(func(k string) string { return base[k] })
	require.NoError(t, err)
	cfg.Version = "v1.2.3-test"
	e.cfg = cfg
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if opts.PasswordParams == nil {
		opts.PasswordParams = &cheapHash
	}
	if opts.Clock == nil {
		opts.Clock = e.clock
	}
	e.app, err = app.New(context.Background(), cfg, logger, opts)
	require.NoError(t, err)
	t.Cleanup(e.app.Close)
	e.srv = httptest.NewServer(e.app.Handler)
	t.Cleanup(e.srv.Close)
	e.http = &http.Client{Transport: validatingTransport{t: t, spec: loadSpec(t)}, Timeout: 30 * time.Second}
	e.client, err = api.NewClientWithResponses(e.srv.URL, api.WithHTTPClient(e.http))
	require.NoError(t, err)
	return e
}

// explicitDefaults adds to vars what start-up requires to be said out
// loud, unless the test says it itself (an empty value stands for unset):
// in development, AUTH_ALLOW_EMAIL_LOGIN (the gateways run on PostgreSQL
// and tests log in by email alone); in production, a METRICS_TOKEN.
func explicitDefaults(vars map[string]string) {
	if strings.EqualFold(strings.TrimSpace(vars["ENV"]), app.EnvProduction) {
		_, token := vars["METRICS_TOKEN"]
		_, addr := vars["METRICS_ADDR"]
		if !token && !addr {
			vars["METRICS_TOKEN"] = "component-metrics-token-0123456789"
		}
		return
	}
	if _, ok := vars["AUTH_ALLOW_EMAIL_LOGIN"]; !ok {
		vars["AUTH_ALLOW_EMAIL_LOGIN"] = "true"
	}
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

// do sends a request; body is sent as is when it is a string, else as JSON.
func (e *env) do(method, path string, body any, header map[string]string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(e.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v // the client ignores a Host header field
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := e.http.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

// register creates an account and returns its id.
func (e *env) register(email, password string) string {
	e.t.Helper()
	res, err := e.client.RegisterWithResponse(context.Background(), api.RegisterJSONRequestBody{Email: email, Password: password})
	require.NoError(e.t, err)
	require.Equal(e.t, http.StatusCreated, res.StatusCode(), "register: %s", res.Body)
	return res.JSON201.Id.String()
}

// registerAdmin creates an account and makes it an admin in the store, as
// the operator's CLI does (registering never makes an admin), and returns
// its id.
func (e *env) registerAdmin(email, password string) string {
	e.t.Helper()
	id := e.register(email, password)
	admin := true
	_, err := e.app.Database.UpdateUser(context.Background(), domain.UserID(id), domain.UserPatch{IsAdmin: &admin})
	require.NoError(e.t, err)
	return id
}

// login returns an access token.
func (e *env) login(email, password string) string {
	e.t.Helper()
	res, err := e.client.LoginWithResponse(context.Background(), api.LoginJSONRequestBody{Email: email, Password: &password})
	require.NoError(e.t, err)
	require.Equal(e.t, http.StatusOK, res.StatusCode(), "login: %s", res.Body)
	return res.JSON200.AccessToken
}

// testDatabaseURL is a fresh database for one gateway: PostgreSQL when
// TEST_DATABASE_URL names a server (CI, or make test with a local server) or
// a database is required, else an SQLite file, so that the component tests
// run on a machine with nothing installed.
func testDatabaseURL(t *testing.T) string {
	if os.Getenv("TEST_DATABASE_URL") != "" || pgtest.Required() {
		return pgtest.NewURL(t)
	}
	return "sqlite:///" + filepath.Join(t.TempDir(), "genzai.db")
}

// requirePostgres skips the rest of a test that arranges state with
// PostgreSQL SQL when the gateway runs on SQLite.
func (e *env) requirePostgres() {
	e.t.Helper()
	if strings.HasPrefix(e.dbURL, "sqlite:") {
		e.t.Skip("arranges state with PostgreSQL SQL: set TEST_DATABASE_URL to run it")
	}
}

// sql runs a statement on the gateway's database, for arranging state the
// API of this issue cannot (usage counts, disabled accounts). As an
// operator who changes accounts by hand does, it then says so (NOTIFY
// genzai_accounts, '*'), and waits until the gateway's account cache has
// heard it.
func (e *env) sql(stmt string, args ...any) {
	e.t.Helper()
	e.requirePostgres()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.dbURL)
	require.NoError(e.t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt, args...)
	require.NoError(e.t, err)
	_, err = conn.Exec(ctx, "NOTIFY genzai_accounts, '*'")
	require.NoError(e.t, err)
	e.syncAccounts()
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// queryRow reads one row from the gateway's database.
func (e *env) queryRow(stmt string, dest ...any) {
	e.t.Helper()
	e.requirePostgres()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.dbURL)
	require.NoError(e.t, err)
	defer conn.Close(ctx)
	require.NoError(e.t, conn.QueryRow(ctx, stmt).Scan(dest...))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
